package actors

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/eventara/eventara/snapshots"
)

// schedulerActor owns the one time.Ticker of the system and sends a Tick to
// the aggregator on each beat, through System.sendTick: while the last
// tick still waits in the aggregator's mailbox, a beat is skipped rather
// than queued. Ticks are aligned to whole seconds (for the default
// one-second interval) so snapshots line up with wall-clock seconds.
type schedulerActor struct {
	sys      *System
	interval time.Duration
	stop     chan struct{}
}

func (a *schedulerActor) Receive(ctx actor.Context) {
	switch ctx.Message().(type) {
	case *actor.Started:
		a.stop = make(chan struct{})
		go a.run(a.stop)
	case *actor.Stopping, *actor.Restarting:
		if a.stop != nil {
			close(a.stop)
			a.stop = nil
		}
	}
}

func (a *schedulerActor) run(stop chan struct{}) {
	// Align the first tick to the next interval boundary.
	now := a.sys.now()
	first := time.NewTimer(now.Truncate(a.interval).Add(a.interval).Sub(now))
	select {
	case <-stop:
		first.Stop()
		return
	case t := <-first.C:
		a.sys.sendTick(t)
	}
	ticker := time.NewTicker(a.interval)
	defer ticker.Stop()
	for {
		select {
		case <-stop:
			return
		case <-ticker.C:
			a.sys.sendTick(a.sys.now())
		}
	}
}

// sendTick sends the aggregator a Tick unless the last one is still in its
// mailbox (then the beat is counted as coalesced: the aggregator is behind
// by one tick at most, and its mailbox never fills with ticks).
func (s *System) sendTick(now time.Time) {
	if !s.tickQueued.reserve() {
		s.ticksCoalesced.Add(1)
		return
	}
	s.root.Send(s.aggregator, &Tick{Now: now})
}

// publish hands a snapshot to the topic unless the last one is still in
// its mailbox (a stalled topic then skips snapshots instead of queueing
// one per tick; it sends the newest once it resumes).
func (s *System) publish(snap *snapshots.Snapshot) {
	if s.topic == nil || !s.snapshotQueued.reserve() {
		return
	}
	s.root.Send(s.topic, &SnapshotReady{Snapshot: snap})
}
