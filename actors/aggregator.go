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

// viewTimeout bounds how long a tick waits for the windows' views; a window
// that has not answered by then (stalled, restarting) is shown with its
// last view, and the snapshot goes out.
const viewTimeout = 500 * time.Millisecond

// captureTimeout bounds how long a checkpoint waits for the windows' states;
// past it that checkpoint is skipped (the next one is tried on a later tick).
const captureTimeout = 5 * viewTimeout

// aggregatorActor applies journaled records, in journal order, to the totals
// and hands each batch to its window actors. On each Tick it asks the
// windows for their views and, once all have answered (or viewTimeout has
// passed), builds one immutable Snapshot, encoded once, which it publishes
// to the topic. It also writes the periodic checkpoints.
//
// Nothing blocks in Receive: a tick and a checkpoint capture are
// conversations of messages (advanceWindow → windowView, tickDeadline;
// windowStateRequest → windowState, captureDeadline), and the aggregator
// goes on applying batches meanwhile. So that a snapshot's totals and
// windows cover the same records, batches that arrive while a tick waits
// for views are handed to the windows at once (after the view request, so
// the views do not include them) and applied to the totals only after the
// snapshot is built.
//
// Bounded: at most one Tick waits in the mailbox (System.sendTick); a tick
// that comes while one is being built is kept as the next one, replacing
// any older (ticks coalesce); each window has at most one advanceWindow
// and one windowStateRequest outstanding (a stalled window is not asked
// again until it answers or fails). Batches are bounded by the backlog.
// Guarded by TestTicksCoalesceWhileTheAggregatorStalls and
// TestStalledWindowIsAskedOnce.
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
	slots     map[string]int // window path → index in windows
	lastViews []snapshots.WindowView
	// asked marks the windows with an advanceWindow outstanding.
	asked []bool

	// The tick being built (building), the next one (next, coalesced), the
	// batches held back from the totals until the snapshot is out, and the
	// rebuild requests the next snapshots answer.
	tickSeq   uint64
	building  bool
	buildNow  time.Time
	waiting   int // views still expected for tickSeq
	deadline  *time.Timer
	next      *time.Time
	held      []*applyBatch
	rebuilds  []*rebuild // answered by the build after the current one
	answering []*rebuild // answered by the current build

	lastApplied event.ID
	// stream is the cluster-mode position (stream.go): nil on one node.
	stream          *aggStream
	sinceCheckpoint int
	lastCheckpoint  time.Time
	// capture is the checkpoint collecting window states; checkpointing is
	// set from its start until its write has finished.
	capture       *pendingCheckpoint
	captureSeq    uint64
	checkpointing bool
	finals        []*finalCheckpoint // waiting for the checkpoint in progress to end
	// retired is set by Restarting: this incarnation handles nothing more
	// (see retiredReceive).
	retired bool
	log     zerolog.Logger
}

// pendingCheckpoint is a checkpoint whose window states are being
// collected.
type pendingCheckpoint struct {
	seq      uint64
	cp       journal.Checkpoint
	st       checkpointState
	waiting  int
	deadline *time.Timer
	final    []*finalCheckpoint // answered when this one is written
	self     *actor.PID         // the aggregator, told when the write ends
}

func (a *aggregatorActor) Receive(ctx actor.Context) {
	if a.retired {
		a.retiredReceive(ctx)
		return
	}
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.started(ctx)
	case *actor.Restarting:
		a.abandonWaiters()
		a.retired = true
	case *actor.Stopping:
		a.abandonWaiters()
	case *applyBatch:
		a.applyBatch(ctx, m)
	case *Tick:
		if m.stream != nil {
			a.streamTick(ctx, m)
			break
		}
		a.sys.tickQueued.release()
		a.startTick(ctx, m.Now)
	case *windowView:
		a.windowView(ctx, m)
	case *tickDeadline:
		if a.building && m.seq == a.tickSeq {
			for i, asked := range a.asked {
				if asked {
					a.log.Warn().Str("window", a.specs[i].Name).Dur("waited", viewTimeout).Msg("window did not answer; using its last view")
				}
			}
			a.finishTick(ctx)
		}
	case *rebuild:
		a.rebuilds = append(a.rebuilds, m)
		a.startTick(ctx, a.sys.now())
	case *windowState:
		a.windowState(m)
	case *captureDeadline:
		if c := a.capture; c != nil && c.seq == m.seq {
			a.log.Error().Dur("waited", captureTimeout).Msg("checkpoint skipped: window state unavailable")
			a.endCapture(fmt.Errorf("checkpoint: window states not received within %s", captureTimeout))
		}
	case *finalCheckpoint:
		a.finals = append(a.finals, m)
		a.maybeCheckpoint(ctx, a.sys.now(), false)
	case *checkpointDone:
		a.checkpointing = false
		switch {
		case errors.Is(m.err, journal.ErrDiskFull):
			// Skipped while the disk is full (the journal logs that once);
			// the journal holds every event, so nothing is lost.
			a.log.Debug().Err(m.err).Msg("checkpoint skipped: disk full")
		case m.err != nil:
			a.log.Error().Err(m.err).Msg("checkpoint failed")
		}
		a.maybeCheckpoint(ctx, a.sys.now(), false)
	}
}

// retiredReceive handles what reaches an incarnation after its Restarting:
// protoactor waits for the stopped windows before it starts the next one,
// and when a second restart was ordered while the first was under way the
// mailbox is not suspended meanwhile, so messages still come here. None is
// kept: requests are answered as abandoned (their senders retry or give
// up), a tick frees its place, and batches are left to the next
// incarnation, whose recovery reads them from the journal.
func (a *aggregatorActor) retiredReceive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case abandoner:
		m.abandon(a.sys, ctx.Self())
	case *applyBatch:
		// Journaled before it was sent: the next incarnation recovers it.
	}
}

func (a *aggregatorActor) started(ctx actor.Context) {
	a.log = actorLog(a.sys.log, ctx)
	if a.totals == nil {
		sent := a.sys.backlog.sent.Load() // all journaled: the journal tail holds them
		rec, err := recoverState(a.sys.cfg.Journal, a.sys.cfg.Snapshots, a.specs, a.sys.now(), a.sys.cluster != nil, a.log)
		if err != nil {
			panic(fmt.Errorf("aggregator restart: %w", err))
		}
		a.totals, a.initial, a.lastApplied = rec.totals, rec.windows, rec.lastID
		if c := a.sys.cluster; c != nil {
			a.stream = &aggStream{seq: rec.seq, epoch: c.requestRewind(rec.seq)}
		}
		a.sys.backlog.doneAll(sent) // its windows start from this state too
	}
	a.windows = make([]*actor.PID, len(a.specs))
	a.slots = make(map[string]int, len(a.specs))
	a.lastViews = make([]snapshots.WindowView, len(a.specs))
	a.asked = make([]bool, len(a.specs))
	for i, spec := range a.specs {
		pid, err := ctx.SpawnNamed(windowProps(a.sys, 1+i, spec, a.initial[i], a.lastApplied, a.stream.clone()), "window-"+spec.Name)
		if err != nil {
			panic(err)
		}
		a.windows[i] = pid
		a.slots[pid.Id] = i
	}
	a.initial = nil
	// Tick numbers differ between incarnations, so a late answer to an
	// earlier one is never taken for an answer to this one.
	a.tickSeq = uint64(time.Now().UnixNano())
	if a.lastCheckpoint.IsZero() {
		a.lastCheckpoint = a.sys.now()
	}
}

// abandonWaiters answers every caller this incarnation holds, and stops
// its timers, before it is replaced or stopped.
func (a *aggregatorActor) abandonWaiters() {
	for _, r := range append(a.answering, a.rebuilds...) {
		r.answer()
	}
	a.answering, a.rebuilds = nil, nil
	if a.deadline != nil {
		a.deadline.Stop()
	}
	if c := a.capture; c != nil {
		a.endCapture(ErrRestarting)
	}
	a.stream.abandon()
	a.answerFinals(a.finals, ErrRestarting)
	a.finals = nil
}

func (a *aggregatorActor) applyBatch(ctx actor.Context, m *applyBatch) {
	if a.stream.stale(m) {
		a.sys.backlog.doneAll(m.seq) // read before a restart: read again after it
		return
	}
	// Windows get every batch, even one recovery already gave the totals:
	// they skip what they hold by ID themselves, and count it handled in
	// the backlog.
	for _, w := range a.windows {
		ctx.Send(w, m)
	}
	if a.building {
		a.held = append(a.held, m)
		return
	}
	a.applyTotals(m)
}

func (a *aggregatorActor) applyTotals(m *applyBatch) {
	recs := a.stream.fresh(m, a.lastApplied)
	for i := range recs {
		a.totals.ApplyRecord(&recs[i])
	}
	if len(recs) > 0 {
		a.lastApplied = recs[len(recs)-1].Event.ID
		a.sinceCheckpoint += len(recs)
	}
	a.sys.backlog.done(0, m.seq)
}

// startTick asks every window that has no request outstanding for its view
// as of now. While a tick is being built, a new one becomes the next one
// (replacing an older next: ticks coalesce).
func (a *aggregatorActor) startTick(ctx actor.Context, now time.Time) {
	if a.building {
		a.next = &now
		return
	}
	a.tickSeq++
	a.building, a.buildNow, a.waiting = true, now, 0
	a.answering, a.rebuilds = a.rebuilds, nil
	for i, w := range a.windows {
		if a.asked[i] {
			continue // still owes an answer: not asked twice
		}
		a.asked[i] = true
		a.waiting++
		ctx.Send(w, &advanceWindow{now: now, seq: a.tickSeq})
	}
	if a.waiting == 0 {
		a.finishTick(ctx)
		return
	}
	root, self, seq := a.sys.root, ctx.Self(), a.tickSeq
	a.deadline = time.AfterFunc(viewTimeout, func() { root.Send(self, &tickDeadline{seq: seq}) })
}

func (a *aggregatorActor) windowView(ctx actor.Context, m *windowView) {
	i, ok := a.slots[m.window]
	if !ok {
		return // a window of an earlier incarnation
	}
	a.asked[i] = false
	if !m.lost {
		a.lastViews[i] = m.view
	}
	if a.building && m.seq == a.tickSeq {
		if a.waiting--; a.waiting == 0 {
			a.finishTick(ctx)
		}
	}
}

// finishTick builds and publishes the snapshot of the tick being built,
// then applies the batches held back, and starts the next tick if one
// came meanwhile.
func (a *aggregatorActor) finishTick(ctx actor.Context) {
	if a.deadline != nil {
		a.deadline.Stop()
		a.deadline = nil
	}
	now := a.buildNow
	start := time.Now()
	snap := snapshots.Build(now, a.totals, a.lastViews)
	took := time.Since(start)
	a.sys.tickBuild.Store(int64(took))
	a.sys.metrics.TickBuilt(took)
	a.sys.latest.Store(snap)
	if a.sys.cluster == nil || a.stream.building() {
		// In cluster mode only the stream's ticks are pushed (and
		// evaluated by the rules): every node pushes those alike.
		a.sys.publish(snap)
		a.sys.offerRules(snap, a.lastViews)
	}
	for _, r := range a.answering {
		r.answer()
	}
	a.answering = nil
	a.building = false
	for i, b := range a.held {
		a.applyTotals(b)
		a.held[i] = nil
	}
	a.held = a.held[:0]
	a.stream.built(a.sys.cluster)
	due := a.sinceCheckpoint >= a.sys.cfg.CheckpointEvents ||
		(a.sinceCheckpoint > 0 && now.Sub(a.lastCheckpoint) >= a.sys.cfg.CheckpointInterval) ||
		a.stream.idleDue(now, a.lastCheckpoint, a.sys.cluster)
	a.maybeCheckpoint(ctx, now, due)
	if t := a.stream.takePending(); t != nil {
		a.streamTick(ctx, t)
		return
	}
	if a.next != nil || len(a.rebuilds) > 0 {
		next := a.sys.now()
		if a.next != nil {
			next = *a.next
		}
		a.next = nil
		a.startTick(ctx, next)
	}
}

// maybeCheckpoint starts a checkpoint when one is due or a final one is
// waiting, unless one is in progress or a tick holds batches back (the
// windows then have records the totals lack): it is called again when
// either ends.
func (a *aggregatorActor) maybeCheckpoint(ctx actor.Context, now time.Time, due bool) {
	if a.checkpointing || a.building || (!due && len(a.finals) == 0) {
		return
	}
	totals, err := a.totals.MarshalBinary()
	if err != nil {
		a.log.Error().Err(err).Msg("checkpoint: encode totals")
		a.answerFinals(a.finals, err)
		a.finals = nil
		return
	}
	a.captureSeq++
	c := &pendingCheckpoint{seq: a.captureSeq, final: a.finals,
		cp: journal.Checkpoint{UpTo: a.lastApplied, At: now, Seq: a.stream.position()},
		st: checkpointState{Totals: totals, Windows: make(map[string][]byte, len(a.windows))}}
	a.finals = nil
	c.self = ctx.Self()
	a.capture, a.checkpointing = c, true
	a.stream.checkpointAt(c.cp.Seq)
	a.sinceCheckpoint = 0
	a.lastCheckpoint = now
	for _, w := range a.windows {
		c.waiting++
		ctx.Send(w, &windowStateRequest{seq: c.seq})
	}
	root, self := a.sys.root, ctx.Self()
	c.deadline = time.AfterFunc(captureTimeout, func() { root.Send(self, &captureDeadline{seq: c.seq}) })
}

func (a *aggregatorActor) windowState(m *windowState) {
	c := a.capture
	i, ok := a.slots[m.window]
	if c == nil || m.seq != c.seq || !ok {
		return
	}
	if m.err != nil {
		a.log.Error().Err(m.err).Str("window", a.specs[i].Name).Msg("checkpoint skipped: window state unavailable")
		a.endCapture(m.err)
		return
	}
	c.st.Windows[a.specs[i].Name] = m.state
	if c.waiting--; c.waiting > 0 {
		return
	}
	c.deadline.Stop()
	a.capture = nil
	state, err := c.st.encode()
	if err != nil {
		a.log.Error().Err(err).Msg("checkpoint: encode state")
		a.checkpointing = false
		a.answerFinals(c.final, err)
		return
	}
	c.cp.State = state
	a.write(c.cp, c.final, c.self)
}

// endCapture gives up the checkpoint being collected.
func (a *aggregatorActor) endCapture(err error) {
	c := a.capture
	c.deadline.Stop()
	a.capture, a.checkpointing = nil, false
	a.answerFinals(c.final, err)
}

// write saves cp in the background, then prunes what the retention no
// longer keeps, and answers the final checkpoints that waited for it.
func (a *aggregatorActor) write(cp journal.Checkpoint, finals []*finalCheckpoint, self *actor.PID) {
	j, root, log, sys := a.sys.cfg.Journal, a.sys.root, a.log, a.sys
	retention, keyWindow := a.sys.cfg.Retention, a.sys.cfg.IdempotencyWindow
	go func() {
		err := sys.saveCheckpoint(cp)
		if err == nil && len(finals) == 0 {
			if n, perr := j.Prune(cp.At.Add(-retention)); perr != nil {
				log.Error().Err(perr).Msg("retention prune failed")
			} else if n > 0 {
				log.Info().Int("events", n).Msg("retention pruned events")
			}
			if n, perr := j.PruneIdempotency(cp.At.Add(-keyWindow)); perr != nil {
				log.Error().Err(perr).Msg("idempotency key prune failed")
			} else if n > 0 {
				log.Debug().Int("keys", n).Msg("idempotency keys pruned")
			}
		}
		for _, f := range finals {
			f.answer(err)
		}
		root.Send(self, &checkpointDone{err: err})
	}()
}

func (a *aggregatorActor) answerFinals(fs []*finalCheckpoint, err error) {
	for _, f := range fs {
		f.answer(fmt.Errorf("final checkpoint: %w", err))
	}
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
