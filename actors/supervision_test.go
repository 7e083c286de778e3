package actors

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"

	"github.com/eventara/eventara/internal/testutil"
	"github.com/eventara/eventara/journal"
	"github.com/eventara/eventara/protocol/event"
	"github.com/eventara/eventara/snapshots"
)

// startFaultSystem is startTestSystem with cfg adjusted by mutate.
func startFaultSystem(t *testing.T, mutate func(*Config)) *System {
	t.Helper()
	j, err := journal.Open(journal.Config{Dir: t.TempDir(), Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Log: zerolog.Nop(), Journal: j, Tick: 50 * time.Millisecond}
	if mutate != nil {
		mutate(&cfg)
	}
	sys, err := Start(cfg)
	if err != nil {
		j.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testutil.Patience)
		defer cancel()
		if err := sys.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
		_ = j.Close()
	})
	return sys
}

// waitDecision polls the supervision decisions until one satisfies ok.
func waitDecision(t *testing.T, sys *System, what string, ok func(SupervisionEvent) bool) SupervisionEvent {
	t.Helper()
	var found SupervisionEvent
	testutil.Eventually(t, what, func() bool {
		for _, e := range sys.SupervisionEvents() {
			if ok(e) {
				found = e
				return true
			}
		}
		return false
	})
	return found
}

func mustIngest(t *testing.T, sys *System, n int, typ string) []event.Event {
	t.Helper()
	evs, err := sys.Ingest(context.Background(), newEvents(n, typ))
	if err != nil {
		t.Fatalf("ingest %d %s: %v", n, typ, err)
	}
	return evs
}

// windowsAll reports whether every sliding window counts n events.
func windowsAll(s *snapshots.Snapshot, n uint64) bool {
	w := s.Metrics.TimeWindows
	return w.Last1Minute == n && w.Last5Minutes == n && w.Last15Minutes == n && w.Last1Hour == n && w.Last24Hours == n
}

func mustArm(t *testing.T, sys *System, f Fault) {
	t.Helper()
	if err := sys.Faults().Arm(f); err != nil {
		t.Fatal(err)
	}
}

// TestWindowPanicRecoversItsCounts: a window that panics on a batch is
// restarted, rebuilds itself from the checkpoint and the journal tail, and
// the snapshots after it count exactly what they would have.
func TestWindowPanicRecoversItsCounts(t *testing.T) {
	t.Parallel()
	sys := startFaultSystem(t, func(c *Config) { c.CheckpointInterval = time.Millisecond })
	var mu sync.Mutex
	var published []*actor.SupervisorEvent
	sub := sys.as.EventStream.Subscribe(func(evt any) {
		if e, ok := evt.(*actor.SupervisorEvent); ok {
			mu.Lock()
			published = append(published, e)
			mu.Unlock()
		}
	})
	defer sys.as.EventStream.Unsubscribe(sub)

	mustIngest(t, sys, 10, "before")
	// A checkpoint covers the first events; the rest is the journal tail.
	testutil.Eventually(t, "a checkpoint", func() bool { _, ok := sys.CheckpointAge(); return ok })
	mustIngest(t, sys, 2, "tail")
	// Every consumer has applied "tail", so the fault hits "crash".
	testutil.Eventually(t, "the backlog to drain", func() bool { return sys.backlog.size() == 0 })
	mustArm(t, sys, Fault{Actor: "aggregator/window-last1Minute", Fault: FaultPanic, Message: "applyBatch"})
	mustIngest(t, sys, 5, "crash")
	ev := waitDecision(t, sys, "the window's restart", func(e SupervisionEvent) bool {
		return e.Actor == "aggregator/window-last1Minute" && e.Directive == "restart"
	})
	if ev.Parent != "aggregator" || ev.Kind != KindWindow || ev.Restarts != 1 || ev.MsgType != "applyBatch" {
		t.Fatalf("decision = %+v", ev)
	}
	// The batch it failed on is gone from its mailbox, but its rebuild
	// from the journal covers it: nothing stays counted in the backlog.
	testutil.Eventually(t, "the backlog to drain without another batch", func() bool { return sys.backlog.size() == 0 })
	mustIngest(t, sys, 3, "after")
	s := waitSnapshot(t, sys, "20 events in every window", func(s *snapshots.Snapshot) bool {
		return total(s) == 20 && windowsAll(s, 20)
	})
	if s.Metrics.EventsByType["crash"].Count != 5 {
		t.Fatalf("eventsByType = %+v", s.Metrics.EventsByType)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(published) != 1 || published[0].Child.Id != "aggregator/window-last1Minute" || published[0].Directive != actor.RestartDirective {
		t.Fatalf("SupervisorEvents on the event stream = %v", published)
	}
	for _, e := range sys.SupervisionEvents() {
		if e.Actor != ev.Actor {
			t.Fatalf("unexpected decision for another actor: %+v", e)
		}
	}
}

// TestAggregatorPanicKeepsEveryAcceptedEvent: the aggregator panics while
// batches arrive; it is restarted from checkpoint + journal, and the totals
// equal exactly the events that were accepted.
func TestAggregatorPanicKeepsEveryAcceptedEvent(t *testing.T) {
	t.Parallel()
	sys := startFaultSystem(t, nil)
	mustIngest(t, sys, 4, "warm")
	mustArm(t, sys, Fault{Actor: string(KindAggregator), Fault: FaultPanic, Message: "applyBatch", After: 3})
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted := 4
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				evs, err := sys.Ingest(context.Background(), newEvents(5, "load"))
				if err != nil {
					t.Errorf("ingest: %v", err)
					return
				}
				mu.Lock()
				accepted += len(evs)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	ev := waitDecision(t, sys, "the aggregator's restart", func(e SupervisionEvent) bool {
		return e.Actor == "aggregator" && e.Directive == "restart"
	})
	if ev.Parent != string(KindRoot) || ev.MsgType != "applyBatch" {
		t.Fatalf("decision = %+v", ev)
	}
	waitSnapshot(t, sys, "every accepted event", func(s *snapshots.Snapshot) bool {
		return total(s) == int64(accepted) && windowsAll(s, uint64(accepted))
	})
	testutil.Eventually(t, "the backlog to drain", func() bool { return sys.backlog.size() == 0 })
	// The restarted aggregator keeps applying new batches once.
	mustIngest(t, sys, 3, "later")
	waitSnapshot(t, sys, "three more", func(s *snapshots.Snapshot) bool {
		return total(s) == int64(accepted+3) && windowsAll(s, uint64(accepted+3))
	})
}

// TestIngestPanicAnswersEveryRequest: the ingest actor fails on a request
// (answered ErrRestarting: nothing journaled), then on a commit (the group
// is durable and still answered 202 after the restart); every accepted
// event is counted once and IDs keep increasing.
func TestIngestPanicAnswersEveryRequest(t *testing.T) {
	t.Parallel()
	sys := startFaultSystem(t, nil)
	first := mustIngest(t, sys, 2, "a")
	mustArm(t, sys, Fault{Actor: string(KindIngest), Fault: FaultPanic, Message: "ingestRequest"})
	if _, err := sys.Ingest(context.Background(), newEvents(3, "refused")); !errors.Is(err, ErrRestarting) {
		t.Fatalf("ingest on a failing actor: err = %v, want ErrRestarting", err)
	}
	mustArm(t, sys, Fault{Actor: string(KindIngest), Fault: FaultPanic, Message: "commitDone"})
	durable := mustIngest(t, sys, 4, "b")
	later := mustIngest(t, sys, 1, "c")
	ids := append(append(first, durable...), later...)
	for i := 1; i < len(ids); i++ {
		if ids[i].ID.String() <= ids[i-1].ID.String() {
			t.Fatalf("ids not increasing at %d", i)
		}
	}
	waitDecision(t, sys, "two ingest restarts", func(e SupervisionEvent) bool {
		return e.Actor == string(KindIngest) && e.MsgType == "commitDone"
	})
	s := waitSnapshot(t, sys, "7 events", func(s *snapshots.Snapshot) bool { return total(s) == 7 })
	if _, ok := s.Metrics.EventsByType["refused"]; ok {
		t.Fatalf("a refused request was counted: %v", s.Metrics.EventsByType)
	}
}

// TestJournalPauseHoldsThenAnswers: a paused journal holds ingestion (no
// answer, nothing counted); when it resumes the request is answered and
// counted.
func TestJournalPauseHoldsThenAnswers(t *testing.T) {
	t.Parallel()
	sys := startFaultSystem(t, nil)
	mustArm(t, sys, Fault{Actor: TargetJournal, Fault: FaultPause})
	done := make(chan error, 1)
	go func() {
		_, err := sys.Ingest(context.Background(), newEvents(2, "held"))
		done <- err
	}()
	// Not a window of time in which no answer comes: wait until the
	// append is held in the paused journal. From then on no answer can
	// come before Clear, however slow the machine.
	waitGoroutineIn(t, "the append held by the paused journal", "(*Faults).waitJournal")
	select {
	case err := <-done:
		t.Fatalf("ingest answered while the journal is paused: %v", err)
	default:
	}
	if s := sys.Latest(); s != nil && total(s) != 0 {
		t.Fatalf("total = %d while the journal is paused, want 0", total(s))
	}
	sys.Faults().Clear()
	if err := testutil.Recv(t, done, testutil.Patience, "the ingest answer after the journal resumed"); err != nil {
		t.Fatal(err)
	}
	waitSnapshot(t, sys, "2 events", func(s *snapshots.Snapshot) bool { return total(s) == 2 })

	mustArm(t, sys, Fault{Actor: TargetJournal, Fault: FaultFail})
	if _, err := sys.Ingest(context.Background(), newEvents(1, "x")); !errors.Is(err, ErrJournal) {
		t.Fatalf("err = %v, want ErrJournal", err)
	}
	if h := sys.Health(); h.Up {
		t.Fatalf("health with a failing journal = %+v", h)
	}
	sys.Faults().Clear()
	mustIngest(t, sys, 1, "y")
	// Up again (polled: health is also DOWN while no snapshot was built
	// for a second, which a stalled machine can cause by itself).
	testutil.Eventually(t, "health up after recovery", func() bool { return sys.Health().Up })
}

// waitGoroutineIn waits until some goroutine's stack holds fn (a
// function name as runtime stacks print it, such as
// "(*Faults).waitJournal"): a positive sign that work reached a point
// where it blocks.
func waitGoroutineIn(t *testing.T, what, fn string) {
	t.Helper()
	buf := make([]byte, 1<<20)
	testutil.Eventually(t, what, func() bool {
		n := runtime.Stack(buf, true)
		return strings.Contains(string(buf[:n]), fn+"(")
	})
}

// TestRestartStormCapsAndEscalates: every window message panics. Window
// restarts back off (capped), a window past its budget escalates, the
// aggregator is restarted again and again at its capped backoff, and the
// system stays up: once the fault is cleared it serves correct totals.
func TestRestartStormCapsAndEscalates(t *testing.T) {
	t.Parallel()
	windowCap, aggCap := 40*time.Millisecond, 60*time.Millisecond
	sys := startFaultSystem(t, func(c *Config) {
		c.Supervision = map[Kind]RestartPolicy{
			KindWindow:     {MaxRestarts: 3, Within: 10 * time.Second, InitialBackoff: 5 * time.Millisecond, MaxBackoff: windowCap},
			KindAggregator: {InitialBackoff: 5 * time.Millisecond, MaxBackoff: aggCap},
		}
	})
	mustIngest(t, sys, 6, "before")
	waitSnapshot(t, sys, "6 events", func(s *snapshots.Snapshot) bool { return total(s) == 6 })
	mustArm(t, sys, Fault{Actor: string(KindWindow), Fault: FaultPanic, Count: -1})

	waitDecision(t, sys, "a window escalating", func(e SupervisionEvent) bool {
		return e.Kind == KindWindow && e.Directive == "escalate" && e.Restarts == 4
	})
	waitDecision(t, sys, "the aggregator at its capped backoff", func(e SupervisionEvent) bool {
		return e.Actor == string(KindAggregator) && e.Restarts >= 5
	})
	for _, e := range sys.SupervisionEvents() {
		switch {
		case e.Kind == KindWindow && e.Backoff > windowCap, e.Kind == KindAggregator && e.Backoff > aggCap:
			t.Fatalf("backoff above the cap: %+v", e)
		case e.Kind == KindAggregator && !strings.HasPrefix(e.Reason, "escalated from aggregator/window-"):
			t.Fatalf("aggregator failed for another reason: %+v", e)
		case e.Kind == KindAggregator && e.Restarts >= 5 && e.Backoff < aggCap*9/10:
			t.Fatalf("aggregator backoff not at its cap after %d failures: %+v", e.Restarts, e)
		case e.Kind == KindWindow && e.Directive == "restart" && e.Restarts > 3:
			t.Fatalf("window restarted past its budget: %+v", e)
		}
	}

	sys.Faults().Clear()
	mustIngest(t, sys, 4, "after")
	waitSnapshot(t, sys, "10 events in every window", func(s *snapshots.Snapshot) bool {
		return total(s) == 10 && windowsAll(s, 10)
	})
	testutil.Eventually(t, "the aggregator with its windows in the tree", func() bool {
		for _, n := range sys.ActorTree().Children {
			if n.Path == string(KindAggregator) {
				return len(n.Children) == len(snapshots.StandardWindows()) && n.Restarts >= 5
			}
		}
		return false
	})
}

// TestHealthDownWhileSnapshotsStall: when the aggregator builds no snapshot
// (stalled, or failing on every restart) health says DOWN with the reason,
// and UP again once snapshots flow.
func TestHealthDownWhileSnapshotsStall(t *testing.T) {
	sys := startFaultSystem(t, nil)
	testutil.Eventually(t, "a first snapshot", func() bool { return sys.Latest() != nil })
	mustArm(t, sys, Fault{Actor: "aggregator", Fault: "drop", Message: "Tick", Count: -1})
	testutil.Eventually(t, "health down", func() bool {
		h := sys.Health()
		return !h.Up && strings.Contains(h.Reason, "no snapshot")
	})
	sys.Faults().Clear()
	testutil.Eventually(t, "health up again", func() bool { return sys.Health().Up })
}

// TestStalledWindowBoundsTheBacklog: batches a stalled window has not
// applied count against MaxPendingEvents, so ingestion answers
// ErrOverloaded instead of piling journaled batches into its mailbox; once
// the window catches up, ingestion is admitted again and every accepted
// event is counted.
func TestStalledWindowBoundsTheBacklog(t *testing.T) {
	sys := startFaultSystem(t, func(c *Config) { c.MaxPendingEvents = 100 })
	mustArm(t, sys, Fault{Actor: "aggregator/window-last1Hour", Fault: FaultStall, Message: "applyBatch", Count: -1})
	accepted := 0
	var err error
	for range 10 {
		if _, err = sys.Ingest(context.Background(), newEvents(30, "stalled")); err != nil {
			break
		}
		accepted += 30
	}
	if !errors.Is(err, ErrOverloaded) || accepted != 90 {
		t.Fatalf("after %d accepted events: err = %v, want ErrOverloaded after 90", accepted, err)
	}
	if got := sys.backlog.size(); got != 90 {
		t.Fatalf("backlog = %d, want 90", got)
	}
	sys.Faults().Clear()
	testutil.Eventually(t, "the backlog to drain", func() bool { return sys.backlog.size() == 0 })
	mustIngest(t, sys, 30, "after")
	accepted += 30
	waitSnapshot(t, sys, "every accepted event in every window", func(s *snapshots.Snapshot) bool {
		return total(s) == int64(accepted) && windowsAll(s, uint64(accepted))
	})
}

// TestBacklogSurvivesLostBatches: batches a window never handles (dropped
// here, as a stopped window's mailbox is) do not stay counted once it
// handles a later one.
func TestBacklogSurvivesLostBatches(t *testing.T) {
	sys := startFaultSystem(t, func(c *Config) { c.MaxPendingEvents = 100 })
	mustArm(t, sys, Fault{Actor: "aggregator/window-last5Minutes", Fault: FaultDrop, Message: "applyBatch", Count: 2})
	mustIngest(t, sys, 40, "dropped")
	mustIngest(t, sys, 40, "dropped")
	mustIngest(t, sys, 10, "next")
	testutil.Eventually(t, "the backlog to drain", func() bool { return sys.backlog.size() == 0 })
	// The drops were real: that window lacks the first two batches.
	waitSnapshot(t, sys, "the window without the dropped batches", func(s *snapshots.Snapshot) bool {
		w := s.Metrics.TimeWindows
		return w.Last5Minutes == 10 && w.Last1Minute == 90
	})
	mustIngest(t, sys, 95, "fits") // nothing left counted against the bound
}

// TestAggregatorRestartClearsTheBacklog: the batch the aggregator failed on
// is gone with it (and its windows' mailboxes with them), but its rebuild
// from the journal covers every batch sent before: nothing stays counted.
func TestAggregatorRestartClearsTheBacklog(t *testing.T) {
	t.Parallel()
	sys := startFaultSystem(t, nil)
	mustIngest(t, sys, 4, "warm")
	testutil.Eventually(t, "the backlog to drain", func() bool { return sys.backlog.size() == 0 })
	mustArm(t, sys, Fault{Actor: string(KindAggregator), Fault: FaultPanic, Message: "applyBatch"})
	mustIngest(t, sys, 5, "crash")
	waitDecision(t, sys, "the aggregator's restart", func(e SupervisionEvent) bool {
		return e.Actor == "aggregator" && e.Directive == "restart"
	})
	testutil.Eventually(t, "the backlog to drain without another batch", func() bool { return sys.backlog.size() == 0 })
	waitSnapshot(t, sys, "all nine events", func(s *snapshots.Snapshot) bool { return total(s) == 9 && windowsAll(s, 9) })
}
