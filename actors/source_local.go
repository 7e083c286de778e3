package actors

import (
	"fmt"

	"github.com/asynkron/protoactor-go/actor"
)

// localSource is one node's source (source.go): the ingest actor appends
// to the pebble journal, *journal.Journal (one synced write per group, one
// group in flight: group commit), and hands each durable group to the
// aggregator; the scheduler (scheduler.go) ticks on this node's clock.
type localSource struct{ s *System }

func (m localSource) appender(j Journal, maxGroup int) (Appender, groupShape) {
	return j, groupShape{maxGroup: maxGroup, maxInFlight: 1}
}

func (localSource) ingestHands() bool { return true }

// start spawns the scheduler.
func (m localSource) start(*recovered, uint64) error {
	s := m.s
	p := props(KindScheduler, func() actor.Actor {
		return &schedulerActor{sys: s, interval: s.cfg.Tick}
	})
	var err error
	if s.scheduler, err = s.root.SpawnNamed(p, "scheduler"); err != nil {
		return fmt.Errorf("spawn scheduler: %w", err)
	}
	return nil
}
