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
	"github.com/eventara/eventara/snapshots"
)

// futureTimeout bounds how long the aggregator waits for a window's answer;
// a window that does not answer in time (crashed, restarting) is shown with
// its last view and the tick goes on.
const futureTimeout = 500 * time.Millisecond

// aggregatorActor applies journaled records, in journal order, to the totals
// and hands each batch to its window actors. On each Tick it collects the
// windows' views and builds one immutable Snapshot, encoded once, which it
// publishes to the topic. It also writes the periodic checkpoints.
//
// Restarts: each incarnation is a new value. The first gets the state
// Start recovered; a restarted one recovers totals and windows from the
// newest checkpoint plus the journal tail before it handles anything else
// (its windows were stopped with it and are spawned again from that
// state). Batches already in its mailbox that recovery read from the
// journal are skipped by ID: records are applied exactly once, in journal
// order. Guarded by TestAggregatorPanicKeepsEveryAcceptedEvent.
type aggregatorActor struct {
	sys    *System
	totals *snapshots.Totals
	specs  []snapshots.WindowSpec
	// initial holds the recovered window states, handed to the window actors
	// when they are spawned.
	initial []*snapshots.Window

	windows   []*actor.PID
	lastViews []snapshots.WindowView

	lastApplied     event.ID
	sinceCheckpoint int
	lastCheckpoint  time.Time
	checkpointing   bool
	// cpWriting is closed when the checkpoint being written is done.
	cpWriting chan struct{}
	log       zerolog.Logger
}

func (a *aggregatorActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.log = actorLog(a.sys.log, ctx)
		if a.totals == nil {
			sent := a.sys.backlog.sent.Load() // all journaled: the journal tail holds them
			rec, err := recoverState(a.sys.cfg.Journal, a.sys.cfg.Snapshots, a.specs, a.sys.now(), a.log)
			if err != nil {
				panic(fmt.Errorf("aggregator restart: %w", err))
			}
			a.totals, a.initial, a.lastApplied = rec.totals, rec.windows, rec.lastID
			a.sys.backlog.doneAll(sent) // its windows start from this state too
		}
		a.windows = make([]*actor.PID, len(a.specs))
		a.lastViews = make([]snapshots.WindowView, len(a.specs))
		for i, spec := range a.specs {
			pid, err := ctx.SpawnNamed(windowProps(a.sys, 1+i, spec, a.initial[i], a.lastApplied), "window-"+spec.Name)
			if err != nil {
				panic(err)
			}
			a.windows[i] = pid
		}
		a.initial = nil
		if a.lastCheckpoint.IsZero() {
			a.lastCheckpoint = a.sys.now()
		}
	case *applyBatch:
		// Windows get every batch, even one recovery already gave the
		// totals: they skip what they hold by ID themselves, and count it
		// handled in the backlog.
		for _, w := range a.windows {
			ctx.Send(w, m)
		}
		recs := skipApplied(m.recs, a.lastApplied)
		for i := range recs {
			a.totals.ApplyRecord(&recs[i])
		}
		if len(recs) > 0 {
			a.lastApplied = recs[len(recs)-1].Event.ID
			a.sinceCheckpoint += len(recs)
		}
		a.sys.backlog.done(0, m.seq)
	case *Tick:
		a.tick(ctx, m.Now)
	case *rebuild:
		a.tick(ctx, a.sys.now())
		close(m.done)
	case *finalCheckpoint:
		m.done <- a.finalCheckpointNow(ctx)
	case *checkpointDone:
		a.checkpointing = false
		if m.err != nil {
			a.log.Error().Err(m.err).Msg("checkpoint failed")
		}
	}
}

func (a *aggregatorActor) tick(ctx actor.Context, now time.Time) {
	futures := make([]*actor.Future, len(a.windows))
	for i, w := range a.windows {
		futures[i] = ctx.RequestFuture(w, &advanceWindow{now: now}, futureTimeout)
	}
	for i, f := range futures {
		res, err := f.Result()
		if r, ok := res.(*windowViewReply); ok && err == nil {
			a.lastViews[i] = r.view
		} else {
			a.log.Warn().Err(err).Str("window", a.specs[i].Name).Msg("window did not answer; using its last view")
		}
	}
	start := time.Now()
	snap := snapshots.Build(now, a.totals, a.lastViews)
	took := time.Since(start)
	a.sys.tickBuild.Store(int64(took))
	a.sys.metrics.TickBuilt(took)
	a.sys.latest.Store(snap)
	if a.sys.topic != nil {
		ctx.Send(a.sys.topic, &SnapshotReady{Snapshot: snap})
	}
	if !a.checkpointing && (a.sinceCheckpoint >= a.sys.cfg.CheckpointEvents ||
		(a.sinceCheckpoint > 0 && now.Sub(a.lastCheckpoint) >= a.sys.cfg.CheckpointInterval)) {
		a.checkpoint(ctx, now)
	}
}

// checkpoint captures the totals and every window's state as of the last
// applied record and writes them in the background, then prunes what the
// retention no longer keeps.
func (a *aggregatorActor) checkpoint(ctx actor.Context, now time.Time) {
	cp, ok := a.capture(ctx, now)
	if !ok {
		return
	}
	a.checkpointing = true
	a.sinceCheckpoint = 0
	a.lastCheckpoint = now
	done := make(chan struct{})
	a.cpWriting = done
	j, root, self, log := a.sys.cfg.Journal, a.sys.root, ctx.Self(), a.log
	retention := a.sys.cfg.Retention
	go func() {
		defer close(done)
		err := a.sys.saveCheckpoint(cp)
		if err == nil {
			if n, perr := j.Prune(now.Add(-retention)); perr != nil {
				log.Error().Err(perr).Msg("retention prune failed")
			} else if n > 0 {
				log.Info().Int("events", n).Msg("retention pruned events")
			}
		}
		root.Send(self, &checkpointDone{err: err})
	}()
}

// finalCheckpointNow writes a checkpoint of everything applied, at once,
// after any checkpoint still being written (used by Stop).
func (a *aggregatorActor) finalCheckpointNow(ctx actor.Context) error {
	if a.cpWriting != nil {
		<-a.cpWriting
	}
	cp, ok := a.capture(ctx, a.sys.now())
	if !ok {
		return errors.New("final checkpoint: state capture failed")
	}
	return a.sys.saveCheckpoint(cp)
}

// capture encodes the totals and asks every window for its state.
func (a *aggregatorActor) capture(ctx actor.Context, now time.Time) (journal.Checkpoint, bool) {
	st := checkpointState{Windows: make(map[string][]byte, len(a.windows))}
	var err error
	if st.Totals, err = a.totals.MarshalBinary(); err != nil {
		a.log.Error().Err(err).Msg("checkpoint: encode totals")
		return journal.Checkpoint{}, false
	}
	futures := make([]*actor.Future, len(a.windows))
	for i, w := range a.windows {
		futures[i] = ctx.RequestFuture(w, &windowStateRequest{}, 5*futureTimeout)
	}
	for i, f := range futures {
		res, ferr := f.Result()
		r, ok := res.(*windowStateReply)
		if ferr != nil || !ok || r.err != nil {
			a.log.Error().Err(ferr).Str("window", a.specs[i].Name).Msg("checkpoint skipped: window state unavailable")
			return journal.Checkpoint{}, false
		}
		st.Windows[a.specs[i].Name] = r.state
	}
	state, err := st.encode()
	if err != nil {
		a.log.Error().Err(err).Msg("checkpoint: encode state")
		return journal.Checkpoint{}, false
	}
	return journal.Checkpoint{UpTo: a.lastApplied, At: now, State: state}, true
}

// skipApplied returns the records of recs after the one with ID last (IDs
// increase through the journal): those a recovery already applied are
// dropped, so a batch reaching a restarted actor is applied only once.
func skipApplied(recs []event.Record, last event.ID) []event.Record {
	for i := range recs {
		if id := recs[i].Event.ID; bytes.Compare(id[:], last[:]) > 0 {
			return recs[i:]
		}
	}
	return nil
}
