package actors

import (
	"testing"

	"github.com/eventara/eventara/internal/testutil"
	"github.com/eventara/eventara/protocol/stomp"
)

// messagesFor counts the MESSAGE frames c got for one subscription id.
func messagesFor(t *testing.T, c *stompTestConn, sub string) int {
	n := 0
	for _, f := range c.frames(t) {
		if f.frame.Command == stomp.CmdMessage && f.frame.Header(stomp.HdrSubscription) == sub {
			n++
		}
	}
	return n
}

func subscribeFrame(id string) []byte {
	return []byte("SUBSCRIBE\nid:" + id + "\ndestination:/topic/metrics\n\n\x00")
}

// waitMore waits until c got at least n more MESSAGEs for sub than now.
func waitMore(t *testing.T, c *stompTestConn, sub string, n int) {
	t.Helper()
	base := messagesFor(t, c, sub)
	testutil.Eventually(t, "more messages for "+sub, func() bool { return messagesFor(t, c, sub) >= base+n })
}

// TestConnectionPanicClosesOnlyThatClient: a connection actor that panics
// is stopped and its client closed with 1011; another client keeps getting
// its per-tick messages.
func TestConnectionPanicClosesOnlyThatClient(t *testing.T) {
	t.Parallel()
	sys := startFaultSystem(t, nil)
	c1, s1 := openStomp(t, sys) // sessions/conn-1
	c2, s2 := openStomp(t, sys) // sessions/conn-2
	s1.Receive(subscribeFrame("a"))
	s2.Receive(subscribeFrame("b"))
	waitMore(t, c1, "a", 1)
	waitMore(t, c2, "b", 1)

	mustArm(t, sys, Fault{Actor: "sessions/conn-1", Fault: FaultPanic, Message: "inbound"})
	s1.Receive([]byte("SEND\ndestination:/app/subscribe\n\n\x00"))
	if code, _ := waitClosed(t, c1); code != closeInternal {
		t.Fatalf("failed client closed with %d, want %d", code, closeInternal)
	}
	ev := waitDecision(t, sys, "the connection's stop", func(e SupervisionEvent) bool {
		return e.Actor == "sessions/conn-1" && e.Directive == "stop"
	})
	if ev.Parent != string(KindSessions) || ev.Kind != KindConnection {
		t.Fatalf("decision = %+v", ev)
	}
	waitMore(t, c2, "b", 3)
	if closed, _, _ := c2.closeState(); closed {
		t.Fatal("the other client was closed")
	}
	if len(sys.SupervisionEvents()) != 1 {
		t.Fatalf("decisions = %+v", sys.SupervisionEvents())
	}
}

// TestSubscriptionPanicAffectsOnlyIt: a subscription actor that panics is
// restarted; its sibling, its connection and other clients are untouched,
// and it delivers again.
func TestSubscriptionPanicAffectsOnlyIt(t *testing.T) {
	t.Parallel()
	sys := startFaultSystem(t, nil)
	c1, s1 := openStomp(t, sys)
	c2, s2 := openStomp(t, sys)
	s1.Receive(subscribeFrame("x")) // sessions/conn-1/sub-1
	s1.Receive(subscribeFrame("y")) // sessions/conn-1/sub-2
	s2.Receive(subscribeFrame("z"))
	waitMore(t, c1, "x", 1)
	waitMore(t, c1, "y", 1)

	mustArm(t, sys, Fault{Actor: "sessions/conn-1/sub-1", Fault: FaultPanic, Message: "deliver"})
	ev := waitDecision(t, sys, "the subscription's restart", func(e SupervisionEvent) bool {
		return e.Actor == "sessions/conn-1/sub-1" && e.Directive == "restart"
	})
	if ev.Parent != "sessions/conn-1" || ev.Kind != KindSubscription {
		t.Fatalf("decision = %+v", ev)
	}
	waitMore(t, c1, "x", 2)
	waitMore(t, c1, "y", 2)
	waitMore(t, c2, "z", 2)
	for _, c := range []*stompTestConn{c1, c2} {
		if closed, code, reason := c.closeState(); closed {
			t.Fatalf("a client was closed: %d %s", code, reason)
		}
	}
	if len(sys.SupervisionEvents()) != 1 {
		t.Fatalf("decisions = %+v", sys.SupervisionEvents())
	}
	// The restarted subscription numbers its messages again from zero, but
	// under a new prefix: no message-id repeats.
	seen := map[string]bool{}
	for _, f := range c1.frames(t) {
		if f.frame.Command != stomp.CmdMessage {
			continue
		}
		id := f.frame.Header("message-id")
		if seen[id] {
			t.Fatalf("message-id %q sent twice", id)
		}
		seen[id] = true
	}
}

// TestTopicRestartKeepsSubscribers: a restarted topic gets its subscribers
// back from the live tree.
func TestTopicRestartKeepsSubscribers(t *testing.T) {
	t.Parallel()
	sys := startFaultSystem(t, nil)
	c1, s1 := openStomp(t, sys)
	s1.Receive(subscribeFrame("t"))
	waitMore(t, c1, "t", 1)
	mustArm(t, sys, Fault{Actor: string(KindTopic), Fault: FaultPanic, Message: "SnapshotReady"})
	waitDecision(t, sys, "the topic's restart", func(e SupervisionEvent) bool { return e.Actor == string(KindTopic) })
	waitMore(t, c1, "t", 2)
}
