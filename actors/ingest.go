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

// ingestActor owns journal appends. It stamps each event with its ID and
// receive time in arrival order, and does group commit: while a group is
// being synced, requests that arrive wait in pending; when the sync ends,
// the next group (everything pending, up to maxGroup events) goes in one
// synced batch. Only after a group is durable are its records handed to the
// aggregator and its requests answered: persist before publish.
//
// Groups in flight: one on a single node (the journal syncs one group at
// a time; the next one collects what arrives meanwhile: group commit). In
// cluster mode up to maxInFlight (ClusterConfig.GroupsInFlight) groups
// await the quorum's acks at once, each on its own goroutine, and are
// answered in whatever order their acks come (the applier, not ingest,
// hands the stream's records to the aggregator, in stream order). A group
// beyond the first starts only once minExtra events are pending (or a
// full group): fewer wait for a group in flight to end, as on one node,
// since each group is a burst of proposals to the stream's raft log and
// many small bursts cost every node more than a few large ones. The
// invariants that hold however many are in flight, each with the test
// that guards it:
//
//   - at most maxInFlight groups are in flight, a group beyond the first
//     only with minExtra events; a request is answered once, after every
//     record of its group is acknowledged (or with the group's error),
//     whichever group ends first (TestClusterIngestGroupsInFlight; one
//     group on a single node: TestIngestOneGroupInFlightOnOneNode);
//   - a request whose Idempotency-Key is in a group in flight (or earlier
//     in the group being built) waits, with everything behind it, until
//     that group ends: settleKeys then finds the key stored, so a key is
//     claimed and its note published by one group only, after all its
//     events were acknowledged (streamAppender.Append;
//     TestClusterIngestKeyWaitsForItsGroup);
//   - a reset is a barrier: it goes out alone, only when no group is in
//     flight, and no group starts while it is in flight, so the stream
//     holds it where it arrived among the events, as a single node's
//     journal does: every event taken before it is acknowledged before it
//     is published, every event behind it waits for its ack
//     (TestClusterIngestResetWaitsForGroupsInFlight).
//
// Bounded: System.Ingest admits a request before it reaches this actor's
// mailbox, only while admitted events plus the backlog (events journaled
// but not yet applied by the aggregator or a window) stay within
// MaxPendingEvents (see admission in backlog.go); every request is
// answered once, through ingestRequest.answer, which releases it. Groups
// in flight are at most maxInFlight.
//
// Restarts: a new instance starts with nothing pending (the failed one
// answered its pending requests with ErrRestarting when it got Restarting;
// the request it failed on is answered by the supervisor, see abandoner).
// Only carry survives: the ID floor, so IDs keep increasing, and the
// groups in flight, whose commitDone the new instance receives (their
// goroutines send to the actor's PID, which a restart keeps), so it never
// starts more than maxInFlight, nor a reset beside another group, and a
// single node's records reach the aggregator in journal order. Guarded by
// TestIngestPanicAnswersEveryRequest and, with several groups in flight,
// TestClusterIngestRestartKeepsGroupsInFlight.
type ingestActor struct {
	sys         *System
	journal     Appender
	aggregator  *actor.PID
	ids         *event.Generator
	carry       *ingestCarry
	maxGroup    int
	maxInFlight int
	minExtra    int // events pending for a group beyond the first (cluster mode)

	pending []*ingestRequest
	queued  int // events (a reset: one) of pending
	drained chan struct{}
	log     zerolog.Logger
}

// ingestCarry is what the ingest actor's incarnations share: facts about
// the world, not derived state.
type ingestCarry struct {
	lastID event.ID
	// flights are the groups handed to the journal whose commitDone has
	// not been handled, by number (commitDone.flight); next is the next
	// group's number.
	flights map[uint64]flight
	next    uint64
}

// flight is what startCommit needs to know of a group in flight.
type flight struct {
	keys  []string // the Idempotency-Keys of its requests
	reset bool     // it holds a reset
}

func (a *ingestActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.log = actorLog(a.sys.log, ctx)
	case *actor.Restarting:
		for _, r := range a.pending {
			r.abandon(a.sys, nil) // non-blocking: the supervisor may have answered it
		}
		a.pending, a.queued = nil, 0
	case *drainIngest:
		a.drained = m.done
		a.checkDrained()
	case *ingestRequest:
		a.pending = append(a.pending, m)
		a.queued += m.size()
		a.startCommit(ctx)
	case *commitDone:
		delete(a.carry.flights, m.flight) // a redelivered one was deleted already
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
			a.sys.probeAt.Store(0)          // the journal took a write: the next health check probes afresh
			if a.sys.source.ingestHands() { // in cluster mode the applier hands the stream's records over
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
	if a.drained != nil && len(a.carry.flights) == 0 && len(a.pending) == 0 {
		close(a.drained)
		a.drained = nil
	}
}

// startCommit hands groups to journal writer goroutines while requests
// are pending and fewer than maxInFlight groups are in flight.
func (a *ingestActor) startCommit(ctx actor.Context) {
	for a.startGroup(ctx) {
	}
}

// startGroup hands the next group to a journal writer goroutine unless
// maxInFlight are in flight, a reset is in flight, too few events wait for
// a group beside those in flight, or the first pending request must wait
// for the groups in flight (see ingestActor). It reports whether it
// started one.
func (a *ingestActor) startGroup(ctx actor.Context) bool {
	if len(a.carry.flights) >= a.maxInFlight || len(a.pending) == 0 {
		return false
	}
	if len(a.carry.flights) > 0 && a.queued < a.minExtra {
		return false // group commit: they go together once a group ends
	}
	var inFlight map[string]bool // keys of the groups in flight
	for _, f := range a.carry.flights {
		if f.reset {
			return false
		}
		for _, k := range f.keys {
			if inFlight == nil {
				inFlight = map[string]bool{}
			}
			inFlight[k] = true
		}
	}
	// The group is taken off pending only once its records are built, so a
	// failure in between leaves every request pending (and answered).
	var recs []event.Record
	var keys map[string]bool // the group's idempotency keys
	var fl flight
	n, taken := 0, 0
	for _, r := range a.pending {
		size := r.size()
		if n > 0 && n+size > a.maxGroup {
			break
		}
		if r.reset && (len(a.carry.flights) > 0 || (a.maxInFlight > 1 && taken > 0)) {
			// Cluster mode: a reset waits for the groups in flight, and
			// goes alone (in a group, a record published before it whose
			// ack is lost is published again after it).
			break
		}
		if r.key != nil {
			// A retry of a request in this group, or in one in flight,
			// waits for a later one, where the journal answers it with the
			// first one's result.
			if keys[r.key.Key] || inFlight[r.key.Key] {
				break
			}
			if keys == nil {
				keys = map[string]bool{}
			}
			keys[r.key.Key] = true
			fl.keys = append(fl.keys, r.key.Key)
		}
		n += size
		taken++
		now := a.sys.now()
		if r.reset {
			fl.reset = true
			recs = append(recs, event.Record{Kind: event.KindReset, Event: event.Event{ID: a.nextID(now), ReceivedAt: now}})
			if a.maxInFlight > 1 {
				break
			}
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
	if taken == 0 {
		return false
	}
	group := append([]*ingestRequest(nil), a.pending[:taken]...)
	a.queued -= n
	clear(a.pending[:taken])
	a.pending = a.pending[taken:]
	if len(a.pending) == 0 {
		a.pending = nil // let the backing array go
	}
	if a.carry.flights == nil {
		a.carry.flights = map[uint64]flight{}
	}
	a.carry.next++
	num := a.carry.next
	a.carry.flights[num] = fl
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
		root.Send(self, &commitDone{flight: num, group: group, recs: recs, answered: answered, err: err})
	}()
	return true
}

// settleKeys looks up the idempotency keys of group's keyed requests, on
// the journal writer's goroutine just before the append (a request whose
// key is in a group in flight waits in pending, so every earlier request
// with the key is in the journal; startGroup allows one per group). A key
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
