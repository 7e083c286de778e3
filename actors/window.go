package actors

import (
	"fmt"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"

	"github.com/eventara/eventara/protocol/event"
	"github.com/eventara/eventara/snapshots"
)

// windowActor owns one sliding window (1 m, 5 m, 15 m, 1 h or 24 h). It is a
// child of the aggregator, which sends it every journaled batch in order and,
// on each tick, asks it to slide and send back its view (to its parent:
// the aggregator never waits on it).
//
// Restarts: each incarnation is a new value. The first gets the state its
// aggregator recovered or held; a restarted one rebuilds its window from
// the newest checkpoint plus the journal tail before anything else, and
// skips the batches in its mailbox that the journal already gave it.
// Guarded by TestWindowPanicRecoversItsCounts.
type windowActor struct {
	sys         *System
	slot        int // its consumer index in sys.backlog
	spec        snapshots.WindowSpec
	w           *snapshots.Window
	lastApplied event.ID
	stream      *aggStream // cluster mode: position and epoch (stream.go)
	log         zerolog.Logger
}

// windowProps spawns a window actor whose first incarnation starts from w
// (as of record last) and whose later ones recover from the journal.
func windowProps(sys *System, slot int, spec snapshots.WindowSpec, w *snapshots.Window, last event.ID, stream *aggStream) *actor.Props {
	var first atomic.Pointer[snapshots.Window]
	first.Store(w)
	return props(KindWindow, func() actor.Actor {
		a := &windowActor{sys: sys, slot: slot, spec: spec}
		if w := first.Swap(nil); w != nil {
			a.w, a.lastApplied, a.stream = w, last, stream
		}
		return a
	})
}

func (a *windowActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.log = actorLog(a.sys.log, ctx)
		if a.w == nil {
			sent := a.sys.backlog.sent.Load() // all journaled: the journal tail holds them
			w, last, seq, err := recoverWindow(a.sys.cfg.Journal, a.spec, a.sys.now(), a.sys.cluster != nil, a.log)
			if err != nil {
				panic(fmt.Errorf("window %s restart: %w", a.spec.Name, err))
			}
			a.w, a.lastApplied = w, last
			if c := a.sys.cluster; c != nil {
				a.stream = &aggStream{seq: seq, epoch: c.requestRewind(seq)}
			}
			a.sys.backlog.done(a.slot, sent)
		}
	case *applyBatch:
		// A reset clears the totals only: windows slide with the clock
		// (spec/metrics.md, "Scopes").
		if a.stream.stale(m) {
			a.sys.backlog.done(a.slot, m.seq)
			break
		}
		recs := a.stream.fresh(m, a.lastApplied)
		for i := range recs {
			if r := &recs[i]; r.Kind == event.KindEvent {
				a.w.Apply(&r.Event)
			}
		}
		if len(recs) > 0 {
			a.lastApplied = recs[len(recs)-1].Event.ID
		}
		a.sys.backlog.done(a.slot, m.seq)
	case *advanceWindow:
		// View slides the window to now first.
		ctx.Send(ctx.Parent(), &windowView{window: ctx.Self().Id, seq: m.seq, view: a.w.View(m.now)})
	case *windowStateRequest:
		b, err := a.w.MarshalBinary()
		ctx.Send(ctx.Parent(), &windowState{window: ctx.Self().Id, seq: m.seq, state: b, err: err})
	}
}
