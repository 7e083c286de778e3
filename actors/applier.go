package actors

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"

	"github.com/eventara/eventara/cluster"
	"github.com/eventara/eventara/journal"
	"github.com/eventara/eventara/protocol/event"
)

// applierActor feeds the aggregator from the cluster's stream (cluster
// mode only; see stream.go). Its goroutine reads the stream in order from
// the position the aggregator has (the checkpoint's sequence + 1 at
// start) and, for each run of records, writes them into the local journal
// (idempotent by ID, unsynced: the stream is the durable copy) and hands
// them to the aggregator as one applyBatch (the Idempotency-Keys of the
// notes among them stored in the same write, handed to nobody); for each
// tick it sends a Tick whose Now is the tick's stream time and waits
// until that snapshot is built before it reads on. So every node's snapshot for a tick covers
// exactly the records before it in the stream: the same bytes everywhere.
//
// Nothing blocks in Receive: the actor only starts and stops the
// goroutine. The goroutine blocks (waiting for a tick to be built, for
// room in the backlog, for the stream), which an actor may not.
//
// Bounded: it hands records only while the backlog (events handed but not
// applied by the aggregator and every window) plus the batch stays within
// MaxPendingEvents; past it, it waits, and the stream keeps them (the
// consumer's Buffer bounds what is read ahead). Ticks: one at a time.
//
// Restarts: a new incarnation waits for the previous goroutine to end and
// reads on after the last message handed (clusterState.handed). A rewind
// asked by a restarted aggregator or window makes it read again from the
// checkpoint's sequence; the messages it read before carry the older
// epoch and are dropped by the restarted actors. Guarded by
// TestApplierSameSnapshotsOnEveryNode and TestApplierRecoversFromCheckpoint.
type applierActor struct {
	sys   *System
	carry *applierCarry
	stop  chan struct{}
}

// applierCarry is what the applier's incarnations share: the end of the
// last goroutine, so two never read at once.
type applierCarry struct {
	done chan struct{}
}

func (a *applierActor) Receive(ctx actor.Context) {
	switch ctx.Message().(type) {
	case *actor.Started:
		a.stop = make(chan struct{})
		prev := a.carry.done
		done := make(chan struct{})
		a.carry.done = done
		r := &applierRun{sys: a.sys, c: a.sys.cluster, stop: a.stop, log: actorLog(a.sys.log, ctx)}
		go r.run(prev, done)
	case *actor.Stopping, *actor.Restarting:
		if a.stop != nil {
			close(a.stop)
			a.stop = nil
		}
	}
}

// applierRun is one incarnation's goroutine.
type applierRun struct {
	sys  *System
	c    *clusterState
	stop chan struct{}
	log  zerolog.Logger

	epoch uint64
	cons  *cluster.Consumer
	// next is the stream sequence expected next: where the consumer
	// started, then the last message's + 1 (the retention check).
	next uint64

	recs []event.Record
	pos  []uint64
	// keys are the Idempotency-Keys of the notes read since the last
	// flush (streamAppender), keySeq the last note's sequence (of a key,
	// or a state note: cluster_state.go): stored with recs, so a retry
	// through this node finds the key.
	keys   []journal.Idempotency
	keySeq uint64
}

func (r *applierRun) run(prev <-chan struct{}, done chan struct{}) {
	defer close(done)
	defer r.c.consuming.Store(false)
	if prev != nil {
		select {
		case <-prev:
		case <-r.stop:
			return
		}
	}
	epoch, after, rewound := r.c.takeRewind()
	if !rewound {
		after = r.c.handed.Load()
	}
	if !r.consume(epoch, after) {
		return
	}
	defer func() { r.cons.Stop() }()
	for {
		var m cluster.Msg
		var ok bool
		select {
		case <-r.stop:
			return
		case m, ok = <-r.cons.Messages():
		}
		if !ok {
			r.log.Error().Err(r.cons.Err()).Msg("cluster stream closed: this node no longer applies it")
			return
		}
		if r.c.epoch.Load() != r.epoch {
			r.recs, r.pos, r.keys, r.keySeq = r.recs[:0], r.pos[:0], nil, 0
			r.cons.Stop()
			epoch, after, _ := r.c.takeRewind()
			r.log.Info().Uint64("seq", after+1).Msg("cluster: reading the stream again after a restart")
			if !r.consume(epoch, after) {
				return
			}
			continue
		}
		r.c.lastMsg.Store(time.Now().UnixNano())
		r.checkRetention(m.Seq)
		if m.Tick {
			if !r.flush() || !r.tick(m) {
				return
			}
			continue
		}
		if m.Note && isStateNote(m.Data) {
			if !r.stateNote(m) { // cluster_state.go
				return
			}
			if len(r.cons.Messages()) == 0 && !r.flush() {
				return
			}
			continue
		}
		if m.Note {
			r.note(m)
			if len(r.recs)+len(r.keys) >= r.c.cfg.MaxBatch || len(r.cons.Messages()) == 0 {
				if !r.flush() {
					return
				}
			}
			continue
		}
		rec, err := m.Record()
		if err != nil {
			// Every node gets the same bytes and skips them alike.
			r.log.Error().Err(err).Uint64("seq", m.Seq).Msg("cluster: undecodable record skipped")
			continue
		}
		r.recs = append(r.recs, rec)
		r.pos = append(r.pos, m.Seq)
		if len(r.recs) >= r.c.cfg.MaxBatch || len(r.cons.Messages()) == 0 {
			if !r.flush() {
				return
			}
		}
	}
}

// note keeps the Idempotency-Key a note carries (streamAppender), to be
// stored at the next flush. An undecodable one is skipped alike on every
// node: a retry of its request through another node then stores the
// events again, as without a key.
func (r *applierRun) note(m cluster.Msg) {
	if len(m.Data) > 0 && m.Data[0] == noteClaim {
		return // read from the stream by the claim's loser (streamAppender.claim)
	}
	var k journal.Idempotency
	err := errors.New("not a key note")
	if len(m.Data) > 0 && m.Data[0] == noteKey {
		err = k.UnmarshalBinary(m.Data[1:])
	}
	if err != nil {
		r.log.Error().Err(err).Uint64("seq", m.Seq).Msg("cluster: undecodable Idempotency-Key note skipped")
		return
	}
	r.keys = append(r.keys, k)
	r.keySeq = m.Seq
}

// consume starts reading after sequence after, in epoch.
func (r *applierRun) consume(epoch, after uint64) bool {
	for {
		cons, err := r.c.cfg.Stream.Consume(after+1, r.c.cfg.Consumer)
		if err == nil {
			r.cons, r.epoch, r.next = cons, epoch, after+1
			r.c.consuming.Store(true)
			return true
		}
		r.c.consuming.Store(false)
		r.log.Error().Err(err).Msg("cluster: cannot read the stream; retrying")
		select {
		case <-r.stop:
			return false
		case <-time.After(time.Second):
		}
	}
}

// checkRetention notes a message past the one expected, at start or
// while running (a node cut off from the stream for longer than its
// retention: the consumer resumes at the first message left): the
// stream's retention removed what lay between, when the stream no longer
// holds the expected one. The tick's schedule message, never delivered,
// accounts for one sequence. Removed records the state already covers (a
// node started from a shared checkpoint, floor, reads from the stream's
// first retained sequence below it) are missed by the local journal
// only, not by the totals: no gap. A running node does not recover from
// a gap by itself: replacing the state of its running aggregator, windows,
// rules and notifier is a restart's work, and a restart starts from the
// newest shared checkpoint (gapReason says so). Guarded by
// TestJoinWithoutSharedCheckpointIsRefused and TestRunningNodePastRetention.
func (r *applierRun) checkRetention(seq uint64) {
	want := r.next
	r.next = seq + 1
	if seq <= want+1 || seq <= r.c.floor.Load()+1 || r.c.gapped() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	first, err := r.c.cfg.Stream.FirstRetained(ctx)
	cancel()
	if err == nil && first <= want {
		r.log.Debug().Uint64("want", want).Uint64("seq", seq).Msg("cluster: sequences skipped that the stream's retention did not remove")
		return
	}
	r.c.shared.refresh() // the newest shared checkpoint, for the reason
	r.c.gap.Store(&gapRange{from: want, first: seq})
	r.log.Error().Uint64("from", want).Uint64("first", seq).Msg(r.c.gapReason(want, seq))
}

// flush writes the records read since the last flush to the local
// journal and hands them to the aggregator, waiting for room in the
// backlog first.
func (r *applierRun) flush() bool {
	if len(r.recs) == 0 && len(r.keys) == 0 {
		if r.keySeq > 0 { // only state notes, applied already
			r.c.handed.Store(r.keySeq)
			r.keySeq = 0
		}
		return true
	}
	for pause := 10 * time.Millisecond; ; pause = min(2*pause, time.Second) {
		err := r.c.local.AppendUnsynced(r.recs, r.keys...)
		if err == nil {
			r.c.applyErr.Store("")
			break
		}
		r.c.applyErr.Store(err.Error())
		r.log.Error().Err(err).Int("records", len(r.recs)).Msg("cluster: local journal refused the stream's records; retrying")
		if !r.sleep(pause) {
			return false
		}
	}
	last := r.keySeq // the last message read: a note's, or a record's
	if n := len(r.pos); n > 0 {
		last = max(last, r.pos[n-1])
	}
	r.keys, r.keySeq = nil, 0
	n := len(r.recs)
	if n == 0 {
		r.c.handed.Store(last) // only notes: nothing for the aggregator
		return true
	}
	for r.sys.backlog.size()+n > r.sys.cfg.MaxPendingEvents && r.sys.backlog.size() > 0 {
		if !r.sleep(time.Millisecond) {
			return false
		}
	}
	b := &applyBatch{recs: r.recs, pos: r.pos, epoch: r.epoch, seq: r.sys.backlog.hand(n)}
	r.sys.root.Send(r.sys.aggregator, b)
	r.c.handed.Store(last)
	r.recs, r.pos = nil, nil // handed over: the batch is immutable now
	return true
}

// tick sends the aggregator the tick and waits until its snapshot is
// built (or the tick was dropped), so no later record reaches the
// windows before the snapshot is cut.
func (r *applierRun) tick(m cluster.Msg) bool {
	t := &Tick{Now: m.Time, stream: &streamTick{seq: m.Seq, epoch: r.epoch, done: make(chan struct{})}}
	r.sys.root.Send(r.sys.aggregator, t)
	for {
		select {
		case <-t.stream.done:
			r.c.handed.Store(m.Seq)
			return true
		case <-r.stop:
			return false
		case <-time.After(100 * time.Millisecond):
			if r.c.epoch.Load() != r.epoch {
				return true // the tick is dropped by the restarted aggregator; run rewinds
			}
		}
	}
}

func (r *applierRun) sleep(d time.Duration) bool {
	select {
	case <-r.stop:
		return false
	case <-time.After(d):
		return true
	}
}

// startApplier spawns the applier, reading the stream after seq (the
// recovered checkpoint's).
func (s *System) startApplier(seq uint64) error {
	s.cluster.handed.Store(seq)
	carry := &applierCarry{}
	p := props(KindApplier, func() actor.Actor { return &applierActor{sys: s, carry: carry} })
	var err error
	if s.applier, err = s.root.SpawnNamed(p, "applier"); err != nil {
		return fmt.Errorf("spawn applier: %w", err)
	}
	return nil
}
