package actors

import (
	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"

	"github.com/eventara/eventara/protocol/event"
	"github.com/eventara/eventara/snapshots"
)

// windowActor owns one sliding window (1 m, 5 m, 15 m, 1 h or 24 h). It is a
// child of the aggregator, which sends it every journaled batch in order and,
// on each tick, asks it to slide and answer its view.
type windowActor struct {
	sys *System
	w   *snapshots.Window
	log zerolog.Logger
}

func (a *windowActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.log = actorLog(a.sys.log, ctx)
	case *applyBatch:
		// A reset clears the totals only: windows slide with the clock
		// (spec/metrics.md, "Scopes").
		for i := range m.recs {
			if r := &m.recs[i]; r.Kind == event.KindEvent {
				a.w.Apply(&r.Event)
			}
		}
	case *advanceWindow:
		a.w.Advance(m.now)
		ctx.Respond(&windowViewReply{view: a.w.View(m.now)})
	case *windowStateRequest:
		b, err := a.w.MarshalBinary()
		ctx.Respond(&windowStateReply{state: b, err: err})
	}
}
