package actors

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eventara/eventara/internal/testutil"
	"github.com/eventara/eventara/notify"
)

// errKilled fails an outbox note as if its node were killed before the
// stream stored it.
var errKilled = errors.New("test: node killed before the stream stored this note")

// isOutcome says n is an attempt's outcome.
func isOutcome(n *outboxNote) bool {
	for _, r := range n.Records {
		if r.Kind == notify.RecordAttempted {
			return true
		}
	}
	return false
}

// logStatuses is a node's delivery log as "<entry id> <status>", newest
// first.
func logStatuses(sys *System) []string {
	var out []string
	for _, e := range sys.NotificationLogs(notify.LogFilter{}) {
		out = append(out, e.ID+" "+string(e.Status))
	}
	return out
}

// TestClusterDelivererKilledBeforeItsOutcomeIsStored: the deliverer a
// gets the receiver's answer and dies (stopped, its outcome note lost)
// before the stream stores the outcome. b, the deliverer next, takes the
// attempt over and sends it again: RETRYING, then SENT. a, restarted on
// its data, ends with the same outbox and delivery log as b, because
// every node, the deliverer included, writes the deliverer's records in
// its log only as they come back from the stream.
func TestClusterDelivererKilledBeforeItsOutcomeIsStored(t *testing.T) {
	hook := newHookReceiver(t, func(int) int { return 200 })
	cc := startStream(t)
	d := newDeliverer("a")
	lost := make(chan struct{})
	var once sync.Once
	aDir := t.TempDir()
	a := startNode(t, cc, "a", d, aDir, func(cfg *Config) {
		cfg.Notifications.beforeNote = func(_ string, n *outboxNote) error {
			if isOutcome(n) {
				once.Do(func() { close(lost) })
				return errKilled
			}
			return nil
		}
	})
	b := startNode(t, cc, "b", d, t.TempDir(), func(cfg *Config) {
		cfg.Notifications.SendTimeout = 500 * time.Millisecond // takes over 6 s after a's attempt began
	})

	createHook(t, a.sys, "hook", hook.URL)
	rule := createActive(t, a.sys, `{"name":"sources","ruleType":"THRESHOLD","severity":"WARNING","notificationChannels":["hook"],
		"ruleConfig":{"metricType":"UNIQUE_SOURCES","condition":"GREATER_THAN","thresholdValue":0}}`)
	ingestN(t, b.sys, 1, "x")
	testutil.Recv(t, lost, testutil.Patience, "a's outcome, answered by the receiver")
	a.stop()
	d.set("b")

	id := rule.ID + "-1:FIRING:"
	testutil.WaitFor(t, testutil.Patience, "taken over and delivered by b", func() error {
		logs := b.sys.NotificationLogs(notify.LogFilter{})
		if len(logs) != 2 || logs[0].Status != notify.LogSent || logs[1].Status != notify.LogRetrying {
			return fmt.Errorf("b's log %v", logStatuses(b.sys))
		}
		return nil
	})
	if n, keys := hook.counts(); n != 2 || keys != rule.ID+"-1:firing" {
		t.Fatalf("%d requests, keys %q: want a's and b's, one key", n, keys)
	}

	a = startNode(t, cc, "a", d, aDir)
	testutil.WaitFor(t, testutil.Patience, "a restarted has b's outbox and log", func() error {
		if da, db := deliveries(t, a.sys), deliveries(t, b.sys); da != db {
			return fmt.Errorf("logs differ:\na %v\nb %v", logStatuses(a.sys), logStatuses(b.sys))
		}
		return nil
	})
	if got := logStatuses(a.sys); len(got) != 2 || got[0][:len(id)] != id {
		t.Fatalf("a's log %v", got)
	}
	if n, _ := hook.counts(); n != 2 {
		t.Fatalf("%d requests after a's restart: a sent again", n)
	}
}

// TestClusterLateOutcomeOfAnOldDeliverer: the deliverer a's outcome note
// stalls (publishing hangs) past b's take-over of the attempt; it reaches
// the stream while b's retry is in flight. Every node ignores it: b's
// retry stays in flight and its own outcome ends it; the logs hold the
// interrupted attempt and b's delivery, once each, on both nodes.
func TestClusterLateOutcomeOfAnOldDeliverer(t *testing.T) {
	hook := newHookReceiver(t, func(int) int { return 200 })
	cc := startStream(t)
	d := newDeliverer("a")
	stalled, release := make(chan struct{}), make(chan struct{})
	var lateSeq atomic.Uint64
	var once sync.Once
	a := startNode(t, cc, "a", d, t.TempDir(), func(cfg *Config) {
		cfg.Notifications.beforeNote = func(id string, n *outboxNote) error {
			if !isOutcome(n) {
				return nil
			}
			once.Do(func() { close(stalled) })
			<-release
			// Published here to learn its sequence; the publisher's own
			// publish of it is then a duplicate, stored once.
			data, err := encodeNote(noteOutbox, n)
			if err == nil {
				var seq uint64
				seq, err = cc.Publisher.Note(context.Background(), id, data)
				lateSeq.Store(seq)
			}
			return err
		}
	})
	b := startNode(t, cc, "b", d, t.TempDir(), func(cfg *Config) {
		cfg.Notifications.SendTimeout = 500 * time.Millisecond // takes over 6 s after a's attempt began
	})
	var releaseOnce sync.Once
	unstall := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(unstall)

	createHook(t, a.sys, "hook", hook.URL)
	rule := createActive(t, a.sys, `{"name":"sources","ruleType":"THRESHOLD","severity":"WARNING","notificationChannels":["hook"],
		"ruleConfig":{"metricType":"UNIQUE_SOURCES","condition":"GREATER_THAN","thresholdValue":0}}`)
	ingestN(t, b.sys, 1, "x")
	testutil.Recv(t, stalled, testutil.Patience, "a's outcome, answered by the receiver")
	hook.mu.Lock()
	hold := make(chan struct{})
	hook.hold = hold // b's retry waits at the receiver
	hook.mu.Unlock()
	d.set("b")

	inFlight := func(sys *System) []notify.InFlightAttempt {
		nt := sys.notifying
		nt.mu.RLock()
		defer nt.mu.RUnlock()
		return nt.outbox.InFlight()
	}
	testutil.WaitFor(t, testutil.Patience, "b's retry at the receiver", func() error {
		if n, _ := hook.counts(); n != 2 {
			return fmt.Errorf("%d requests", n)
		}
		if f := inFlight(b.sys); len(f) != 1 || f[0].Attempt.N != 2 {
			return fmt.Errorf("in flight on b: %+v", f)
		}
		return nil
	})
	unstall() // a's outcome of attempt 1 reaches the stream now
	testutil.WaitFor(t, testutil.Patience, "a's late outcome applied on b", func() error {
		seq := lateSeq.Load()
		if seq == 0 {
			return errors.New("not published yet")
		}
		for _, n := range []*clusterSystem{b} {
			nt := n.sys.notifying
			nt.mu.RLock()
			applied := nt.streamSeq
			nt.mu.RUnlock()
			if applied < seq {
				return fmt.Errorf("applied up to %d, the late outcome is %d", applied, seq)
			}
		}
		return nil
	})
	if f := inFlight(b.sys); len(f) != 1 || f[0].Attempt.N != 2 {
		t.Fatalf("b's retry is no longer in flight after a's late outcome: %+v", f)
	}
	close(hold)

	testutil.WaitFor(t, testutil.Patience, "delivered by b, the same log on both nodes", func() error {
		want := []string{rule.ID + "-1:FIRING:"}
		for _, n := range []*clusterSystem{a, b} {
			logs := n.sys.NotificationLogs(notify.LogFilter{})
			if len(logs) != 2 || logs[0].Status != notify.LogSent || logs[0].RetryCount != 1 || logs[1].Status != notify.LogRetrying {
				return fmt.Errorf("log %v (want %v…)", logStatuses(n.sys), want)
			}
		}
		if da, db := deliveries(t, a.sys), deliveries(t, b.sys); da != db {
			return fmt.Errorf("logs differ:\na %v\nb %v", logStatuses(a.sys), logStatuses(b.sys))
		}
		return nil
	})
	if n, _ := hook.counts(); n != 2 {
		t.Fatalf("%d requests: want a's and b's", n)
	}
	if !reflect.DeepEqual(logStatuses(a.sys), logStatuses(b.sys)) {
		t.Fatal("logs differ")
	}
}

// TestClusterDelivererSendsOnceWhileItsStartIsOnItsWay: the deliverer's
// start note is slow to reach the stream; meanwhile its outbox (which
// applies the start only when the stream hands it back) still has the
// notification pending, and the notifier is pumped again. It does not
// start it a second time: one POST, one log entry on both nodes.
func TestClusterDelivererSendsOnceWhileItsStartIsOnItsWay(t *testing.T) {
	hook := newHookReceiver(t, func(int) int { return 200 })
	cc := startStream(t)
	d := newDeliverer("a")
	stalled, release := make(chan struct{}), make(chan struct{})
	var once, releaseOnce sync.Once
	unstall := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(unstall)
	a := startNode(t, cc, "a", d, t.TempDir(), func(cfg *Config) {
		cfg.Notifications.beforeNote = func(_ string, n *outboxNote) error {
			if n.Records[len(n.Records)-1].Kind == notify.RecordSending {
				once.Do(func() { close(stalled) })
				<-release
			}
			return nil
		}
	})
	b := startNode(t, cc, "b", d, t.TempDir())

	createHook(t, a.sys, "hook", hook.URL)
	createActive(t, a.sys, `{"name":"sources","ruleType":"THRESHOLD","severity":"WARNING","notificationChannels":["hook"],
		"ruleConfig":{"metricType":"UNIQUE_SOURCES","condition":"GREATER_THAN","thresholdValue":0}}`)
	ingestN(t, b.sys, 1, "x")
	testutil.Recv(t, stalled, testutil.Patience, "a's start note")
	createHook(t, a.sys, "other", hook.URL) // applied by a's notifier, which pumps again
	if logs := a.sys.NotificationLogs(notify.LogFilter{}); len(logs) != 1 || logs[0].Status != notify.LogPending {
		t.Fatalf("a's log while its start is on its way: %v", logStatuses(a.sys))
	}
	unstall()

	testutil.WaitFor(t, testutil.Patience, "delivered, the same log on both nodes", func() error {
		for _, n := range []*clusterSystem{a, b} {
			if logs := n.sys.NotificationLogs(notify.LogFilter{}); len(logs) != 1 || logs[0].Status != notify.LogSent {
				return fmt.Errorf("log %v", logStatuses(n.sys))
			}
		}
		if da, db := deliveries(t, a.sys), deliveries(t, b.sys); da != db {
			return fmt.Errorf("logs differ:\na %v\nb %v", logStatuses(a.sys), logStatuses(b.sys))
		}
		return nil
	})
	if n := testutil.Settled(t, testutil.Patience, "the requests", 50*time.Millisecond, 6, func() (int, error) {
		n, _ := hook.counts()
		return n, nil
	}); n != 1 {
		t.Fatalf("%d requests for one notification", n)
	}
}

// TestClusterDelivererNotifierRestartsBeforeItsOutcomeComesBack: the
// deliverer's notifier fails and restarts after deciding an attempt's
// outcome and before that outcome comes back from the stream. The new
// incarnation, which rebuilt its outbox from its log (the attempt in
// flight there), applies the outcome when it comes, like every node:
// one POST, the same log on both nodes.
func TestClusterDelivererNotifierRestartsBeforeItsOutcomeComesBack(t *testing.T) {
	hook := newHookReceiver(t, func(int) int { return 200 })
	cc := startStream(t)
	d := newDeliverer("a")
	stalled, release := make(chan struct{}), make(chan struct{})
	var once, releaseOnce sync.Once
	unstall := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(unstall)
	a := startNode(t, cc, "a", d, t.TempDir(), func(cfg *Config) {
		cfg.Notifications.beforeNote = func(_ string, n *outboxNote) error {
			if isOutcome(n) {
				once.Do(func() { close(stalled) })
				<-release
			}
			return nil
		}
	})
	b := startNode(t, cc, "b", d, t.TempDir())

	createHook(t, a.sys, "hook", hook.URL)
	createActive(t, a.sys, `{"name":"sources","ruleType":"THRESHOLD","severity":"WARNING","notificationChannels":["hook"],
		"ruleConfig":{"metricType":"UNIQUE_SOURCES","condition":"GREATER_THAN","thresholdValue":0}}`)
	ingestN(t, b.sys, 1, "x")
	testutil.Recv(t, stalled, testutil.Patience, "a's outcome")
	nt := a.sys.notifying
	outbox := func() *notify.Outbox {
		nt.mu.RLock()
		defer nt.mu.RUnlock()
		return nt.outbox
	}
	first := outbox()
	mustArm(t, a.sys, Fault{Actor: string(KindNotifier), Fault: FaultPanic, Message: "notifierWake"})
	a.sys.root.Send(a.sys.notifier, &notifierWake{}) // any incarnation's: the fault comes first
	testutil.WaitFor(t, testutil.Patience, "a's notifier restarted", func() error {
		if outbox() == first {
			return errors.New("not rebuilt yet")
		}
		return nil
	})
	nt.mu.RLock()
	inFlight := nt.outbox.InFlight()
	nt.mu.RUnlock()
	if len(inFlight) != 1 || inFlight[0].Attempt.By != "a" {
		t.Fatalf("a's rebuilt outbox has in flight %+v, want its own attempt", inFlight)
	}
	unstall()

	testutil.WaitFor(t, testutil.Patience, "delivered, the same log on both nodes", func() error {
		for _, n := range []*clusterSystem{a, b} {
			if logs := n.sys.NotificationLogs(notify.LogFilter{}); len(logs) != 1 || logs[0].Status != notify.LogSent {
				return fmt.Errorf("log %v", logStatuses(n.sys))
			}
		}
		if da, db := deliveries(t, a.sys), deliveries(t, b.sys); da != db {
			return fmt.Errorf("logs differ:\na %v\nb %v", logStatuses(a.sys), logStatuses(b.sys))
		}
		return nil
	})
	if n := testutil.Settled(t, testutil.Patience, "the requests", 50*time.Millisecond, 6, func() (int, error) {
		n, _ := hook.counts()
		return n, nil
	}); n != 1 {
		t.Fatalf("%d requests for one notification", n)
	}
}

// TestClusterDelivererLosesItsOutcomeNote: the deliverer's outcome note
// is not published (publishing failed) and the deliverer lives on. Its
// log, like b's, still has the attempt in flight; it takes that attempt
// over like one a killed node left (takeOverAfter after its start) and
// sends it again: the same log on both nodes, RETRYING then SENT.
func TestClusterDelivererLosesItsOutcomeNote(t *testing.T) {
	hook := newHookReceiver(t, func(int) int { return 200 })
	cc := startStream(t)
	d := newDeliverer("a")
	var lost atomic.Int32
	a := startNode(t, cc, "a", d, t.TempDir(), func(cfg *Config) {
		cfg.Notifications.SendTimeout = 500 * time.Millisecond // takes over 6 s after its attempt began
		cfg.Notifications.beforeNote = func(_ string, n *outboxNote) error {
			if isOutcome(n) && lost.Add(1) == 1 {
				return errKilled
			}
			return nil
		}
	})
	b := startNode(t, cc, "b", d, t.TempDir())

	createHook(t, a.sys, "hook", hook.URL)
	createActive(t, a.sys, `{"name":"sources","ruleType":"THRESHOLD","severity":"WARNING","notificationChannels":["hook"],
		"ruleConfig":{"metricType":"UNIQUE_SOURCES","condition":"GREATER_THAN","thresholdValue":0}}`)
	ingestN(t, b.sys, 1, "x")
	testutil.WaitFor(t, testutil.Patience, "a's first outcome lost", func() error {
		if lost.Load() == 0 {
			return errors.New("not yet")
		}
		return nil
	})
	if logs := a.sys.NotificationLogs(notify.LogFilter{}); len(logs) != 1 || logs[0].Status != notify.LogPending {
		t.Fatalf("a's log shows its lost outcome: %v", logStatuses(a.sys))
	}

	testutil.WaitFor(t, 2*testutil.Patience, "taken over and delivered by a, the same log on both nodes", func() error {
		for _, n := range []*clusterSystem{a, b} {
			logs := n.sys.NotificationLogs(notify.LogFilter{})
			if len(logs) != 2 || logs[0].Status != notify.LogSent || logs[1].Status != notify.LogRetrying {
				return fmt.Errorf("log %v", logStatuses(n.sys))
			}
		}
		if da, db := deliveries(t, a.sys), deliveries(t, b.sys); da != db {
			return fmt.Errorf("logs differ:\na %v\nb %v", logStatuses(a.sys), logStatuses(b.sys))
		}
		return nil
	})
	if n, _ := hook.counts(); n != 2 {
		t.Fatalf("%d requests: want the first and the retry", n)
	}
}
