package actors

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/eventara/eventara/internal/testutil"
	"github.com/eventara/eventara/protocol/stomp"
	"github.com/eventara/eventara/snapshots"
)

// mailboxOf is the number of messages waiting in the mailbox of the actor
// at path (-1 when it is not running).
func mailboxOf(sys *System, path string) int {
	sys.reg.mu.Lock()
	defer sys.reg.mu.Unlock()
	if e, ok := sys.reg.actors[path]; ok && e.mailbox != nil {
		return e.mailbox.UserMessageCount()
	}
	return -1
}

// TestIngestAdmittedBeforeTheMailbox: while the ingest actor is stalled,
// requests are admitted up to MaxPendingEvents and the next one is refused
// at once with ErrOverloaded, without reaching the mailbox; once it
// resumes every admitted request is answered and admission is free again.
func TestIngestAdmittedBeforeTheMailbox(t *testing.T) {
	sys := startFaultSystem(t, func(c *Config) { c.MaxPendingEvents = 10 })
	mustArm(t, sys, Fault{Actor: string(KindIngest), Fault: FaultStall, Message: "ingestRequest"})

	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := sys.Ingest(context.Background(), newEvents(1, "held"))
			errs <- err
		}()
	}
	// One request is being handled (stalled), nine wait in the mailbox.
	testutil.Eventually(t, "ten admitted requests", func() bool { return sys.admission.pending.Load() == 10 })
	testutil.Eventually(t, "nine requests in the mailbox", func() bool { return mailboxOf(sys, "ingest") == 9 })
	for range 50 {
		if _, err := sys.Ingest(context.Background(), newEvents(1, "refused")); !errors.Is(err, ErrOverloaded) {
			t.Fatalf("ingest past the bound: err = %v, want ErrOverloaded", err)
		}
	}
	if n := mailboxOf(sys, "ingest"); n != 9 {
		t.Fatalf("ingest mailbox = %d after refusals, want 9", n)
	}

	sys.Faults().Clear()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("admitted request: %v", err)
		}
	}
	if n := sys.admission.pending.Load(); n != 0 {
		t.Fatalf("admission holds %d events after every answer", n)
	}
	testutil.Eventually(t, "the backlog to drain", func() bool { return sys.backlog.size() == 0 })
	mustIngest(t, sys, 10, "fits")
}

// TestIngestRestartReleasesAdmission: requests abandoned by an ingest
// actor that failed are answered ErrRestarting and no longer count.
func TestIngestRestartReleasesAdmission(t *testing.T) {
	sys := startFaultSystem(t, func(c *Config) { c.MaxPendingEvents = 10 })
	mustArm(t, sys, Fault{Actor: string(KindIngest), Fault: FaultPanic, Message: "ingestRequest"})
	if _, err := sys.Ingest(context.Background(), newEvents(4, "crash")); !errors.Is(err, ErrRestarting) {
		t.Fatalf("err = %v, want ErrRestarting", err)
	}
	testutil.Eventually(t, "admission released", func() bool { return sys.admission.pending.Load() == 0 })
	mustIngest(t, sys, 10, "after")
}

// TestTicksCoalesceWhileTheAggregatorStalls: while the aggregator is
// stalled, the scheduler's beats are skipped instead of queued (at most
// one Tick waits); once it resumes, snapshots flow again.
func TestTicksCoalesceWhileTheAggregatorStalls(t *testing.T) {
	sys := startFaultSystem(t, nil) // a tick every 50 ms
	testutil.Eventually(t, "a first snapshot", func() bool { return sys.Latest() != nil })
	mustArm(t, sys, Fault{Actor: string(KindAggregator), Fault: FaultStall, Message: "Tick"})
	base := sys.ticksCoalesced.Load()
	testutil.Eventually(t, "ten coalesced beats", func() bool { return sys.ticksCoalesced.Load() >= base+10 })
	if n := mailboxOf(sys, "aggregator"); n > 1 {
		t.Fatalf("aggregator mailbox holds %d messages while stalled, want at most one Tick", n)
	}
	stalledAt := sys.Latest().BuiltAt
	sys.Faults().Clear()
	waitSnapshot(t, sys, "a snapshot after the stall", func(s *snapshots.Snapshot) bool { return s.BuiltAt.After(stalledAt) })
}

// TestStalledWindowIsAskedOnce: a stalled window is asked for its view once
// and not again until it answers; the ticks go on without it (its last
// view is shown) and its mailbox does not grow; a window that fails on the
// request is asked again on the next tick.
func TestStalledWindowIsAskedOnce(t *testing.T) {
	sys := startFaultSystem(t, nil)
	mustIngest(t, sys, 3, "before")
	waitSnapshot(t, sys, "three events in every window", func(s *snapshots.Snapshot) bool { return windowsAll(s, 3) })
	const path = "aggregator/window-last1Hour"
	mustArm(t, sys, Fault{Actor: path, Fault: FaultStall, Message: "advanceWindow"})
	mustIngest(t, sys, 2, "during")
	// Snapshots go on and count the new events everywhere but in the
	// stalled window.
	s := waitSnapshot(t, sys, "totals with the new events", func(s *snapshots.Snapshot) bool {
		return total(s) == 5 && s.Metrics.TimeWindows.Last1Minute == 5
	})
	if got := s.Metrics.TimeWindows.Last1Hour; got != 3 {
		t.Fatalf("stalled window shows %d, want its last view (3)", got)
	}
	later := s.BuiltAt.Add(500 * time.Millisecond)
	waitSnapshot(t, sys, "ten more ticks", func(s *snapshots.Snapshot) bool { return !s.BuiltAt.Before(later) })
	// The batch waits behind the stalled request; nothing else does.
	if n := mailboxOf(sys, path); n > 1 {
		t.Fatalf("stalled window's mailbox holds %d messages, want at most its one batch", n)
	}
	sys.Faults().Clear()
	waitSnapshot(t, sys, "the window caught up", func(s *snapshots.Snapshot) bool { return windowsAll(s, 5) })

	mustArm(t, sys, Fault{Actor: path, Fault: FaultPanic, Message: "advanceWindow"})
	waitDecision(t, sys, "the window's restart", func(e SupervisionEvent) bool { return e.Actor == path })
	mustIngest(t, sys, 1, "after")
	waitSnapshot(t, sys, "the restarted window answering again", func(s *snapshots.Snapshot) bool { return windowsAll(s, 6) })
}

// TestStalledSubscriptionHoldsOnePush: a subscription stalled on the
// topic's push holds one push in its mailbox however many ticks pass;
// when it resumes it sends the newest snapshot, and no snapshot twice.
func TestStalledSubscriptionHoldsOnePush(t *testing.T) {
	sys := startFaultSystem(t, nil) // a tick every 50 ms
	c, sess := openStomp(t, sys)
	sess.Receive(subscribeFrame("x"))
	waitMore(t, c, "x", 2)

	const sub = "sessions/conn-1/sub-1"
	mustArm(t, sys, Fault{Actor: sub, Fault: FaultStall, Message: "deliver"})
	stallTenTicks(t, sys, c, sub, "push")
	built := map[string]bool{}
	for _, f := range c.frames(t) {
		if f.frame.Command != stomp.CmdMessage {
			continue
		}
		ts := f.frame.Header("timestamp")
		if built[ts] {
			t.Fatalf("the snapshot built at %s was sent twice", ts)
		}
		built[ts] = true
	}
}

// TestSessionsBeyondTheBoundAreRefused: past MaxSessions live sessions a
// new client is closed with 1013 and no connection actor is spawned; when
// a session ends its place is free again.
func TestSessionsBeyondTheBoundAreRefused(t *testing.T) {
	t.Parallel()
	s := newStompTestSystem(t, SessionConfig{MaxSessions: 2})
	m := s.sessions.(*sessionManager)
	_, first := openStomp(t, s)
	openStomp(t, s)
	refused := &stompTestConn{}
	s.sessions.Open(refused)
	if closed, code, reason := refused.closeState(); !closed || code != closeTryAgainLater ||
		reason != "Too many sessions: the server holds at most 2" {
		t.Fatalf("third session: closed %v, %d %q; want 1013 and the bound", closed, code, reason)
	}
	if n := m.live.Load(); n != 2 {
		t.Fatalf("live = %d, want 2", n)
	}
	first.Closed()
	testutil.Eventually(t, "the first session's place back", func() bool { return m.live.Load() == 1 })
	openStomp(t, s)
}

// TestStalledTopicHoldsOneSnapshot: while the topic is stalled, the
// aggregator's snapshots are skipped rather than queued (at most one
// SnapshotReady waits); once it resumes, subscribers get the newest.
func TestStalledTopicHoldsOneSnapshot(t *testing.T) {
	sys := startFaultSystem(t, nil) // a tick every 50 ms
	c, sess := openStomp(t, sys)
	sess.Receive(subscribeFrame("x"))
	waitMore(t, c, "x", 1)
	mustArm(t, sys, Fault{Actor: string(KindTopic), Fault: FaultStall, Message: "SnapshotReady"})
	stallTenTicks(t, sys, c, "topic", "SnapshotReady")
}

// stallTenTicks lets ten ticks pass while the armed stall holds the actor
// at path, checks that its mailbox holds at most one message (what), then
// clears the stall and waits for c to get a snapshot built after it.
func stallTenTicks(t *testing.T, sys *System, c *stompTestConn, path, what string) {
	t.Helper()
	stalled := sys.Latest().BuiltAt
	waitSnapshot(t, sys, "ten more ticks", func(s *snapshots.Snapshot) bool {
		return !s.BuiltAt.Before(stalled.Add(500 * time.Millisecond))
	})
	if n := mailboxOf(sys, path); n > 1 {
		t.Fatalf("stalled %s's mailbox holds %d messages, want at most one %s", path, n, what)
	}
	sys.Faults().Clear()
	resumed := sys.Latest().BuiltAt
	testutil.Eventually(t, "a snapshot built after the stall at the client", func() bool {
		fs := c.frames(t)
		last := fs[len(fs)-1].frame
		ms, _ := strconv.ParseInt(last.Header("timestamp"), 10, 64)
		return last.Command == stomp.CmdMessage && ms >= resumed.UnixMilli()
	})
}
