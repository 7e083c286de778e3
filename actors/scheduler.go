package actors

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// schedulerActor owns the one time.Ticker of the system and sends a Tick to
// the aggregator on each beat. Ticks are aligned to whole seconds (for the
// default one-second interval) so snapshots line up with wall-clock seconds.
type schedulerActor struct {
	sys      *System
	target   *actor.PID
	interval time.Duration
	stop     chan struct{}
}

func (a *schedulerActor) Receive(ctx actor.Context) {
	switch ctx.Message().(type) {
	case *actor.Started:
		a.stop = make(chan struct{})
		go a.run(a.sys.root, a.target, a.stop)
	case *actor.Stopping, *actor.Restarting:
		if a.stop != nil {
			close(a.stop)
			a.stop = nil
		}
	}
}

func (a *schedulerActor) run(root *actor.RootContext, target *actor.PID, stop chan struct{}) {
	// Align the first tick to the next interval boundary.
	now := a.sys.now()
	first := time.NewTimer(now.Truncate(a.interval).Add(a.interval).Sub(now))
	select {
	case <-stop:
		first.Stop()
		return
	case t := <-first.C:
		root.Send(target, &Tick{Now: t})
	}
	ticker := time.NewTicker(a.interval)
	defer ticker.Stop()
	for {
		select {
		case <-stop:
			return
		case <-ticker.C:
			root.Send(target, &Tick{Now: a.sys.now()})
		}
	}
}
