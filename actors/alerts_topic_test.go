package actors

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/eventara/eventara/internal/testutil"
	"github.com/eventara/eventara/rules"
)

func testRecord(i int) rules.Record {
	at := ruleT0.Add(time.Duration(i) * time.Second)
	return rules.Record{Kind: rules.RecordFiring, At: at, Notify: true,
		Alert: rules.Alert{ID: "r-" + time.Duration(i).String(), RuleID: "r", Status: rules.AlertFiring, StartsAt: at, TriggeredAt: &at}}
}

// blockingNotifier holds every Notify until release is closed.
type blockingNotifier struct {
	started chan struct{}
	release chan struct{}
	once    sync.Once
}

func (n *blockingNotifier) Notify(Notification) {
	n.once.Do(func() { close(n.started) })
	<-n.release
}

// TestNotifyQueueDropsPastItsBound: a Notifier that blocks holds
// notifyQueueLength notifications at most; the next is refused at once.
func TestNotifyQueueDropsPastItsBound(t *testing.T) {
	t.Parallel()
	n := &blockingNotifier{started: make(chan struct{}), release: make(chan struct{})}
	q := newNotifyQueue(n, zerolog.Nop(), 2)
	if !q.offer(Notification{Seq: 1}) {
		t.Fatal("first offer refused")
	}
	testutil.Recv(t, n.started, testutil.Patience, "the notifier to take the first")
	for seq := uint64(2); seq <= 3; seq++ {
		if !q.offer(Notification{Seq: seq}) {
			t.Fatalf("offer %d refused within the bound", seq)
		}
	}
	if q.offer(Notification{Seq: 4}) {
		t.Fatal("offer past the bound accepted")
	}
	close(n.release)
	q.close()
}

// TestAlertPushBounded: a stalled alerts topic holds maxAlertsQueued
// transitions at most; the rest are skipped, and pushes resume after.
func TestAlertPushBounded(t *testing.T) {
	t.Parallel()
	sys := startFaultSystem(t, nil)
	mustArm(t, sys, Fault{Actor: "topic-alerts", Fault: FaultStall, Message: "alertPublished"})
	for i := range maxAlertsQueued + 10 {
		sys.publishAlert(testRecord(i))
	}
	if n := mailboxOf(sys, "topic-alerts"); n > maxAlertsQueued {
		t.Fatalf("stalled alerts topic's mailbox holds %d, bound %d", n, maxAlertsQueued)
	}
	sys.Faults().Clear()
	testutil.Eventually(t, "the queue to drain", func() bool { return sys.alerting.published.Load() == 0 })
	c, sess := openStomp(t, sys)
	sess.Receive([]byte("SUBSCRIBE\nid:a\ndestination:/topic/alerts\nreceipt:r\n\n\x00"))
	waitFrames(t, c, 2)
	registered(t, sys, c, "a")
}

// registered publishes alerts until subscription sub of c gets one: the
// subscription registers with the topic after the SUBSCRIBE's receipt.
func registered(t *testing.T, sys *System, c *stompTestConn, sub string) {
	t.Helper()
	testutil.Eventually(t, "the subscription registered with the alerts topic", func() bool {
		sys.publishAlert(testRecord(0))
		return len(alertTransitions(t, c, sub)) > 0
	})
}

// TestAlertSubscriberBacklogBounded: a subscription of /topic/alerts that
// does not take its messages is closed as a slow consumer once
// maxAlertBacklog wait; another subscriber gets every one.
func TestAlertSubscriberBacklogBounded(t *testing.T) {
	t.Parallel()
	sys := startFaultSystem(t, nil)
	slow, s1 := openStomp(t, sys) // sessions/conn-1
	fast, s2 := openStomp(t, sys)
	s1.Receive([]byte("SUBSCRIBE\nid:a\ndestination:/topic/alerts\nreceipt:r\n\n\x00"))
	s2.Receive([]byte("SUBSCRIBE\nid:b\ndestination:/topic/alerts\nreceipt:r\n\n\x00"))
	waitFrames(t, slow, 2)
	waitFrames(t, fast, 2)
	registered(t, sys, slow, "a")
	base := len(alertTransitions(t, fast, "b"))
	mustArm(t, sys, Fault{Actor: "sessions/conn-1/sub-1", Fault: FaultStall, Message: "alertSlot"})
	// In chunks the other subscriber keeps up with: only the stalled one
	// falls behind.
	sent := 0
	for sent < maxAlertBacklog+2 {
		for range min(32, maxAlertBacklog+2-sent) {
			sys.publishAlert(testRecord(sent))
			sent++
		}
		testutil.WaitFor(t, testutil.Patience, "the alerts at the other subscriber", func() error {
			if n := len(alertTransitions(t, fast, "b")) - base; n < sent {
				closed, code, reason := fast.closeState()
				return fmt.Errorf("%d of %d alerts (closed %v %d %q)", n, sent, closed, code, reason)
			}
			return nil
		})
	}
	sys.Faults().Clear()
	if code, reason := waitClosed(t, slow); code != closePolicy || reason != reasonSlowConsumer {
		t.Fatalf("slow subscriber closed with %d %q", code, reason)
	}
}
