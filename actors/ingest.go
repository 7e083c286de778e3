package actors

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"

	"github.com/eventara/eventara/journal"
	"github.com/eventara/eventara/protocol/event"
)

// Appender is what the ingest actor needs of the journal.
type Appender interface {
	// Append journals recs, and keys (the Idempotency records of keyed
	// requests among them) in the same synced write.
	Append(recs []event.Record, keys ...journal.Idempotency) error
	// LookupIdempotency returns what the keyed request sent before with
	// key stored.
	LookupIdempotency(key string) (journal.Idempotency, bool, error)
}

// keyClaimer is what an Appender shared by several nodes (cluster mode's
// streamAppender) adds so that a key holds across them while a retry
// races the first request through another node: see ClaimKey and
// CompleteKey there.
type keyClaimer interface {
	ClaimKey(k journal.Idempotency) (prior journal.Idempotency, at time.Time, taken bool, err error)
	CompleteKey(prior journal.Idempotency, at time.Time, evs []event.Event) error
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
				if !m.answered[r] {
					r.answer(ingestResult{err: fmt.Errorf("%w: %w", ErrJournal, m.err)})
				}
			}
		} else {
			a.sys.journalErr.Store(errString(nil))
			a.sys.probeAt.Store(0)    // the journal took a write: the next health check probes afresh
			if a.sys.cluster == nil { // in cluster mode the applier hands the stream's records over
				ctx.Send(a.aggregator, &applyBatch{recs: m.recs, seq: a.sys.backlog.hand(len(m.recs))})
			}
			i := 0
			for _, r := range m.group {
				if m.answered[r] {
					continue // no record of it in recs
				}
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
	var keys map[string]bool // the group's idempotency keys
	n, taken := 0, 0
	for _, r := range a.pending {
		size := r.size()
		if n > 0 && n+size > a.maxGroup {
			break
		}
		if r.key != nil {
			// A retry of a request in this group waits for the next one,
			// where the journal answers it with the first one's result.
			if keys[r.key.Key] {
				break
			}
			if keys == nil {
				keys = map[string]bool{}
			}
			keys[r.key.Key] = true
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
		recs, idem, answered := settleKeys(j, group, recs)
		start := time.Now()
		err := j.Append(recs, idem...)
		if err == nil {
			m.JournalSynced(time.Since(start))
		}
		root.Send(self, &commitDone{group: group, recs: recs, answered: answered, err: err})
	}()
}

// settleKeys looks up the idempotency keys of group's keyed requests, on
// the journal writer's goroutine just before the append (groups are
// written one at a time, so every earlier request with the key is either
// in the journal or in this group, where startCommit allows one). A key
// already stored answers its request from the stored result and drops its
// records; a new one becomes an Idempotency record of the append, once
// claimed when the journal is shared by several nodes (claimKey; the
// group's claims go out at once: its keys differ). recs holds group's
// records in order. It returns the records to append, their Idempotency
// records and the requests it answered.
func settleKeys(j Appender, group []*ingestRequest, recs []event.Record) ([]event.Record, []journal.Idempotency, map[*ingestRequest]bool) {
	type settled struct {
		k        journal.Idempotency // a new key's record
		res      ingestResult
		answered bool
	}
	if !slices.ContainsFunc(group, func(r *ingestRequest) bool { return r.key != nil }) {
		return recs, nil, nil // the common group: nothing to settle
	}
	out := make([]settled, len(group))
	var claims []int // indexes of the requests with a new key
	i := 0
	for n, r := range group {
		mine := recs[i : i+r.size()]
		i += r.size()
		if r.key == nil {
			continue
		}
		prior, found, err := j.LookupIdempotency(r.key.Key)
		switch {
		case err != nil:
			out[n] = settled{res: ingestResult{err: fmt.Errorf("%w: %w", ErrJournal, err)}, answered: true}
		case found:
			out[n] = settled{res: replay(r, prior), answered: true}
		default:
			ids := make([]event.ID, len(mine))
			for k := range mine {
				ids[k] = mine[k].Event.ID
			}
			out[n].k = journal.Idempotency{Key: r.key.Key, Fingerprint: r.key.Fingerprint, At: mine[0].Event.ReceivedAt, IDs: ids}
			claims = append(claims, n)
		}
	}
	if c := claimerOf(j); c != nil && len(claims) > 0 {
		var wg sync.WaitGroup
		for _, n := range claims {
			wg.Go(func() { out[n].res, out[n].answered = claimKey(c, group[n], out[n].k) })
		}
		wg.Wait()
	}

	var idem []journal.Idempotency
	var answered map[*ingestRequest]bool
	for n, r := range group {
		switch {
		case out[n].answered:
			r.answer(out[n].res)
			if answered == nil {
				answered = map[*ingestRequest]bool{}
			}
			answered[r] = true
		case r.key != nil:
			idem = append(idem, out[n].k)
		}
	}
	if answered == nil {
		return recs, idem, nil // every record stays: no copy
	}
	kept := make([]event.Record, 0, len(recs))
	i = 0
	for _, r := range group {
		if !answered[r] {
			kept = append(kept, recs[i:i+r.size()]...)
		}
		i += r.size()
	}
	return kept, idem, answered
}

// claimerOf returns the keyClaimer behind j, or nil on one node.
func claimerOf(j Appender) keyClaimer {
	if w, ok := j.(interface{ unwrap() Appender }); ok {
		j = w.unwrap()
	}
	c, _ := j.(keyClaimer)
	return c
}

// claimKey claims k's key, r's, in the whole cluster. It returns false
// when r may go on and store its events: r won the claim. Otherwise it
// returns r's answer: an earlier request took the key, through any node,
// so r is answered from it (after making sure that request's events and
// key are all stored), or refused when it is another request; or the
// claim failed.
func claimKey(c keyClaimer, r *ingestRequest, k journal.Idempotency) (ingestResult, bool) {
	prior, at, taken, err := c.ClaimKey(k)
	switch {
	case err != nil:
		return ingestResult{err: err}, true
	case !taken:
		return ingestResult{}, false
	}
	res := replay(r, prior)
	if res.err == nil {
		if err := c.CompleteKey(prior, at, res.events); err != nil {
			return ingestResult{err: err}, true
		}
	}
	return res, true
}

// replay answers r, a retry, from what the first request with its key
// stored: its events with the stored IDs and receive time.
func replay(r *ingestRequest, prior journal.Idempotency) ingestResult {
	if prior.Fingerprint != r.key.Fingerprint || len(prior.IDs) != len(r.events) {
		return ingestResult{err: &KeyReusedError{Key: r.key.Key, At: prior.At}}
	}
	evs := make([]event.Event, len(r.events))
	for i := range evs {
		evs[i] = r.events[i]
		evs[i].ID, evs[i].ReceivedAt = prior.IDs[i], prior.At
		if evs[i].Timestamp.IsZero() {
			evs[i].Timestamp = prior.At
		}
	}
	return ingestResult{events: evs, replayed: true}
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
