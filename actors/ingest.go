package actors

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"

	"github.com/eventara/eventara/journal"
	"github.com/eventara/eventara/protocol/event"
)

// Appender is what the ingest actor needs of the journal.
type Appender interface {
	Append(recs []event.Record) error
}

// ingestActor owns journal appends. It stamps each event with its ID and
// receive time in arrival order, and does group commit: while one group is
// being synced, requests that arrive wait in pending; when the sync ends,
// the next group (everything pending, up to maxGroup events) goes in one
// synced batch. Only after a group is durable are its records handed to the
// aggregator and its requests answered: persist before publish.
//
// Bounded: System.Ingest admits a request before it reaches this actor's
// mailbox, only while admitted events plus the backlog (events journaled
// but not yet applied by the aggregator or a window) stay within
// MaxPendingEvents (see admission in backlog.go); every request is
// answered once, through ingestRequest.answer, which releases it.
//
// Restarts: a new instance starts with nothing pending (the failed one
// answered its pending requests with ErrRestarting when it got Restarting;
// the request it failed on is answered by the supervisor, see abandoner).
// Only carry survives: the ID floor, so IDs keep increasing, and whether a
// journal write is in flight, so two groups never overlap and records
// reach the aggregator in journal order. Guarded by
// TestIngestPanicAnswersEveryRequest.
type ingestActor struct {
	sys        *System
	journal    Appender
	aggregator *actor.PID
	ids        *event.Generator
	carry      *ingestCarry

	pending  []*ingestRequest
	maxGroup int
	drained  chan struct{}
	log      zerolog.Logger
}

// ingestCarry is what the ingest actor's incarnations share: facts about
// the world, not derived state.
type ingestCarry struct {
	lastID   event.ID
	inFlight bool
}

func (a *ingestActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.log = actorLog(a.sys.log, ctx)
	case *actor.Restarting:
		for _, r := range a.pending {
			r.abandon(a.sys, nil) // non-blocking: the supervisor may have answered it
		}
		a.pending = nil
	case *drainIngest:
		a.drained = m.done
		a.checkDrained()
	case *ingestRequest:
		a.pending = append(a.pending, m)
		a.startCommit(ctx)
	case *commitDone:
		a.carry.inFlight = false
		if m.err != nil {
			if errors.Is(m.err, journal.ErrDiskFull) {
				// Refused, not failed: the journal logs the disk's
				// transitions once, not once per group.
				a.log.Debug().Err(m.err).Int("records", len(m.recs)).Msg("journal append refused")
			} else {
				a.log.Error().Err(m.err).Int("records", len(m.recs)).Msg("journal append failed")
				a.sys.journalErr.Store(errString(m.err))
			}
			for _, r := range m.group {
				r.answer(ingestResult{err: fmt.Errorf("%w: %w", ErrJournal, m.err)})
			}
		} else {
			a.sys.journalErr.Store(errString(nil))
			a.sys.probeAt.Store(0) // the journal took a write: the next health check probes afresh
			ctx.Send(a.aggregator, &applyBatch{recs: m.recs, seq: a.sys.backlog.hand(len(m.recs))})
			i := 0
			for _, r := range m.group {
				if r.reset {
					r.answer(ingestResult{})
					i++
					continue
				}
				evs := make([]event.Event, len(r.events))
				for j := range evs {
					evs[j] = m.recs[i].Event
					i++
				}
				r.answer(ingestResult{events: evs})
			}
		}
		a.startCommit(ctx)
		a.checkDrained()
	}
}

func (a *ingestActor) checkDrained() {
	if a.drained != nil && !a.carry.inFlight && len(a.pending) == 0 {
		close(a.drained)
		a.drained = nil
	}
}

// startCommit hands the next group to a journal writer goroutine unless one
// is already in flight.
func (a *ingestActor) startCommit(ctx actor.Context) {
	if a.carry.inFlight || len(a.pending) == 0 {
		return
	}
	// The group is taken off pending only once its records are built, so a
	// failure in between leaves every request pending (and answered).
	var recs []event.Record
	n, taken := 0, 0
	for _, r := range a.pending {
		size := r.size()
		if n > 0 && n+size > a.maxGroup {
			break
		}
		n += size
		taken++
		now := a.sys.now()
		if r.reset {
			recs = append(recs, event.Record{Kind: event.KindReset, Event: event.Event{ID: a.nextID(now), ReceivedAt: now}})
			continue
		}
		for _, e := range r.events {
			e.ID = a.nextID(now)
			e.ReceivedAt = now
			if e.Timestamp.IsZero() {
				e.Timestamp = now
			}
			recs = append(recs, event.Record{Kind: event.KindEvent, Event: e})
		}
	}
	group := append([]*ingestRequest(nil), a.pending[:taken]...)
	clear(a.pending[:taken])
	a.pending = a.pending[taken:]
	if len(a.pending) == 0 {
		a.pending = nil // let the backing array go
	}
	a.carry.inFlight = true
	self := ctx.Self()
	root := a.sys.root
	j := a.journal
	m := a.sys.metrics
	go func() {
		start := time.Now()
		err := j.Append(recs)
		if err == nil {
			m.JournalSynced(time.Since(start))
		}
		root.Send(self, &commitDone{group: group, recs: recs, err: err})
	}()
}

// nextID returns an ID greater than every ID journaled before, even when the
// wall clock has stepped back since the last one (or since a restart).
func (a *ingestActor) nextID(now time.Time) event.ID {
	id := a.ids.New(now)
	if bytes.Compare(id[:], a.carry.lastID[:]) <= 0 {
		id = a.carry.lastID
		for i := len(id) - 1; i >= 0; i-- {
			id[i]++
			if id[i] != 0 {
				break
			}
		}
	}
	a.carry.lastID = id
	return id
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
