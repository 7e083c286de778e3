package actors

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/eventara/eventara/internal/testutil"
	"github.com/eventara/eventara/journal"
	"github.com/eventara/eventara/notify"
	"github.com/eventara/eventara/rules"
	"github.com/eventara/eventara/rulestore"
)

// deliverer names the node that delivers in these tests (the stream's
// leader would be every node here: they share one NATS server).
type deliverer struct{ name atomic.Value }

func newDeliverer(name string) *deliverer {
	d := &deliverer{}
	d.name.Store(name)
	return d
}

func (d *deliverer) set(name string) { d.name.Store(name) }

// startNode starts a cluster-mode System named name on dir, its webhooks
// allowed to reach loopback receivers and retried fast; opts change that
// configuration.
func startNode(t *testing.T, cc *ClusterConfig, name string, d *deliverer, dir string, opts ...func(*Config)) *clusterSystem {
	t.Helper()
	c := *cc
	c.name = name
	c.owner = func() bool { return d.name.Load() == name }
	return startClusterSystem(t, &c, dir, append([]func(*Config){notifierConfig}, opts...)...)
}

// rulesState is the node's whole alerting state as bytes (equal stores
// encode to equal bytes).
func rulesState(t *testing.T, sys *System) []byte {
	t.Helper()
	var b []byte
	var err error
	sys.read(func(st *rulestore.Store) { b, err = st.MarshalSnapshot() })
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// deliveries is the node's delivery log and channels as JSON.
func deliveries(t *testing.T, sys *System) string {
	t.Helper()
	b, err := json.Marshal(struct {
		Log      []notify.LogEntry
		Channels []*notify.Channel
	}{sys.NotificationLogs(notify.LogFilter{}), sys.Channels(nil)})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// waitSameState waits until every node has the same rules and alerts as
// the first, and what check asks of it.
func waitSameState(t *testing.T, what string, check func(st []byte) error, nodes ...*clusterSystem) {
	t.Helper()
	testutil.WaitFor(t, testutil.Patience, what, func() error {
		first := rulesState(t, nodes[0].sys)
		for i, n := range nodes[1:] {
			if other := rulesState(t, n.sys); !bytes.Equal(first, other) {
				return fmt.Errorf("node %d differs:\n%s\n%s", i+1, first, other)
			}
		}
		if check != nil {
			return check(first)
		}
		return nil
	})
}

func mustCreate(t *testing.T, body string) *rules.CreateRuleRequest {
	t.Helper()
	req, err := rules.DecodeCreate([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// TestClusterRulesSameOnEveryNode: a rule made, changed, enabled and
// deleted through either node is the same on both (same ID, times,
// version: the same store, byte for byte); each change is answered once
// the node that took it applied it; of two rules with the same name made
// through both nodes at once, one is made everywhere and the other
// refused; a node restarted on its data, and a new node reading the
// stream from its start, reach the same store.
func TestClusterRulesSameOnEveryNode(t *testing.T) {
	cc := startStream(t)
	d := newDeliverer("a")
	aDir, bDir := t.TempDir(), t.TempDir()
	a := startNode(t, cc, "a", d, aDir)
	b := startNode(t, cc, "b", d, bDir)
	ctx := context.Background()

	r, err := a.sys.CreateRule(ctx, mustCreate(t, errorRateRule("CPU high")))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := a.sys.Rule(r.ID); err != nil || got.Name != "CPU high" {
		t.Fatalf("the node that took the create does not list it at once: %v %v", got, err)
	}
	has := func(id string) func([]byte) error {
		return func(st []byte) error {
			if !bytes.Contains(st, []byte(id)) {
				return errors.New("rule not there yet")
			}
			return nil
		}
	}
	waitSameState(t, "the rule on both nodes", has(r.ID), a, b)

	upd, err := rules.DecodeUpdate([]byte(`{"description":"through b","severity":"WARNING"}`))
	if err != nil {
		t.Fatal(err)
	}
	r2, err := b.sys.UpdateRule(ctx, r.ID, upd)
	if err != nil || r2.Description != "through b" || r2.Version != 2 || r2.ID != r.ID {
		t.Fatalf("update through b: %+v %v", r2, err)
	}
	if _, err := a.sys.SetRuleStatus(ctx, r.ID, rules.StatusActive); err != nil {
		t.Fatal(err)
	}
	r3, err := b.sys.SetRuleStatus(ctx, r.ID, rules.StatusInactive)
	if err != nil || r3.Status != rules.StatusInactive || r3.Description != "through b" {
		t.Fatalf("disable through b after an enable through a: %+v %v", r3, err)
	}
	waitSameState(t, "the changes on both nodes", nil, a, b)

	// The same name through both nodes at once: one wins everywhere.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, n := range []*clusterSystem{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = n.sys.CreateRule(ctx, mustCreate(t, errorRateRule("Twin")))
		}()
	}
	wg.Wait()
	var taken *NameTakenError
	if (errs[0] == nil) == (errs[1] == nil) || !(errors.As(errs[0], &taken) || errors.As(errs[1], &taken)) {
		t.Fatalf("two creates of one name through two nodes: %v, %v; want one made and one refused", errs[0], errs[1])
	}
	waitSameState(t, "one Twin on both nodes", nil, a, b)
	if n := len(b.sys.Rules(func(r *rules.Rule) bool { return r.Name == "Twin" })); n != 1 {
		t.Fatalf("%d rules named Twin", n)
	}

	if err := b.sys.DeleteRule(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := b.sys.Rule(r.ID); !errors.Is(err, ErrRuleNotFound) {
		t.Fatalf("deleted through b, b still has it: %v", err)
	}
	if _, err := a.sys.UpdateRule(ctx, "no-such-rule", upd); !errors.Is(err, ErrRuleNotFound) {
		t.Fatalf("update of an unknown rule: %v", err)
	}
	waitSameState(t, "the delete on both nodes", func(st []byte) error {
		if bytes.Contains(st, []byte(`"id":"`+r.ID+`"`)) {
			return errors.New("deleted rule still there")
		}
		return nil
	}, a, b)

	b.stop()
	b = startNode(t, cc, "b", d, bDir)
	c := startNode(t, cc, "c", d, t.TempDir())
	waitSameState(t, "a restarted node and a new one reach the same rules", nil, a, b, c)
	if _, err := c.sys.SetRuleStatus(ctx, r.ID, rules.StatusActive); !errors.Is(err, ErrRuleNotFound) {
		t.Fatalf("the new node knows the deleted rule: %v", err)
	}
}

// TestClusterAlertsSameOnEveryNode: a rule made through the node that
// does not deliver fires, is acknowledged through it and resolves: the
// same alerts (IDs, times, states) on both nodes, and a new node reading
// the stream from its start has them too. Its webhook gets each
// transition once, exactly one POST each, though both nodes evaluate the
// rule; both nodes' delivery logs agree; after the deliverer changes, the
// next alert is decided and delivered by the new one, once.
func TestClusterAlertsSameOnEveryNode(t *testing.T) {
	hook := newHookReceiver(t, func(int) int { return 200 })
	cc := startStream(t)
	d := newDeliverer("a")
	a := startNode(t, cc, "a", d, t.TempDir())
	b := startNode(t, cc, "b", d, t.TempDir())
	ctx := context.Background()

	createHook(t, b.sys, "hook", hook.URL)
	r := createActive(t, b.sys, `{"name":"sources","ruleType":"THRESHOLD","severity":"WARNING","notificationChannels":["hook"],
		"suppressionWindowMinutes":0,"ruleConfig":{"metricType":"UNIQUE_SOURCES","condition":"GREATER_THAN","thresholdValue":0,"cooldownMinutes":0}}`)
	ingestN(t, b.sys, 3, "x")

	alertIs := func(id string, st rules.AlertStatus, acked bool) func([]byte) error {
		return func([]byte) error {
			al, err := b.sys.Alert(id)
			if err != nil || al.Status != st || (al.AcknowledgedAt != nil) != acked {
				return fmt.Errorf("alert %s: %+v %v", id, al, err)
			}
			return nil
		}
	}
	first := r.ID + "-1"
	waitSameState(t, "the alert firing on both nodes", alertIs(first, rules.AlertFiring, false), a, b)

	if _, err := b.sys.AcknowledgeAlert(ctx, first, "bob", "looking"); err != nil {
		t.Fatal(err)
	}
	waitSameState(t, "acknowledged on both nodes", alertIs(first, rules.AlertFiring, true), a, b)
	if _, err := a.sys.AcknowledgeAlert(ctx, first, "ann", ""); !errors.Is(err, rules.ErrAlreadyAcknowledged) {
		t.Fatalf("acknowledged twice: %v", err)
	}

	if err := a.sys.Reset(ctx); err != nil { // no sources any more: the rule clears
		t.Fatal(err)
	}
	waitSameState(t, "resolved on both nodes", alertIs(first, rules.AlertResolved, true), a, b)

	d.set("b")
	ingestN(t, a.sys, 2, "y")
	second := r.ID + "-2"
	waitSameState(t, "the second alert firing on both nodes", alertIs(second, rules.AlertFiring, false), a, b)

	want := first + ":firing " + first + ":resolved " + second + ":firing"
	testutil.WaitFor(t, testutil.Patience, "each transition delivered", func() error {
		if _, keys := hook.counts(); keys != want {
			return fmt.Errorf("delivered %q", keys)
		}
		return nil
	})
	testutil.WaitFor(t, testutil.Patience, "the same delivery log on both nodes", func() error {
		da, db := deliveries(t, a.sys), deliveries(t, b.sys)
		if da != db {
			return fmt.Errorf("logs differ:\n%s\n%s", da, db)
		}
		if sent := len(a.sys.NotificationLogs(notify.LogFilter{Status: notify.LogSent})); sent != 3 {
			return fmt.Errorf("%d SENT entries", sent)
		}
		return nil
	})
	if n, _ := hook.counts(); n != 3 {
		t.Fatalf("%d POSTs for 3 transitions", n)
	}

	c := startNode(t, cc, "c", d, t.TempDir())
	waitSameState(t, "a new node has the same alerts", nil, a, b, c)
	testutil.WaitFor(t, testutil.Patience, "a new node has the same delivery log", func() error {
		if da, dc := deliveries(t, a.sys), deliveries(t, c.sys); da != dc {
			return fmt.Errorf("logs differ:\n%s\n%s", da, dc)
		}
		return nil
	})
	if n, _ := hook.counts(); n != 3 {
		t.Fatalf("%d POSTs for 3 transitions after a third node joined", n)
	}

	// A node starting from another's alerting state (a shared checkpoint)
	// has it at once, and skips the notes it covers.
	st, err := a.sys.AlertingState()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	j, err := journal.Open(journal.Config{Dir: dir, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	if err := InstallAlertingState(j, st); err != nil {
		t.Fatal(err)
	}
	if err := InstallAlertingState(j, st); err == nil {
		t.Fatal("installed twice")
	}
	j.Close()
	e := startNode(t, cc, "e", d, dir)
	if _, err := e.sys.Alert(second); err != nil {
		t.Fatalf("the installed state has not the alert at start: %v", err)
	}
	waitSameState(t, "the node started from a shared state", nil, a, e)
	testutil.WaitFor(t, testutil.Patience, "its delivery log", func() error {
		if da, de := deliveries(t, a.sys), deliveries(t, e.sys); da != de {
			return fmt.Errorf("logs differ:\n%s\n%s", da, de)
		}
		return nil
	})
}

// TestClusterDeliveryMovesWithTheDeliverer: a notification whose first
// attempt failed on the deliverer is retried by the node that delivers
// next, not by the first one: one success at the receiver, and both
// nodes' logs show the attempt of each.
func TestClusterDeliveryMovesWithTheDeliverer(t *testing.T) {
	hook := newHookReceiver(t, func(n int) int {
		if n == 1 {
			return 503
		}
		return 200
	})
	hook.hold = make(chan struct{})
	cc := startStream(t)
	d := newDeliverer("a")
	a := startNode(t, cc, "a", d, t.TempDir())
	b := startNode(t, cc, "b", d, t.TempDir())

	createHook(t, a.sys, "hook", hook.URL)
	createActive(t, a.sys, `{"name":"sources","ruleType":"THRESHOLD","severity":"WARNING","notificationChannels":["hook"],
		"ruleConfig":{"metricType":"UNIQUE_SOURCES","condition":"GREATER_THAN","thresholdValue":0}}`)
	ingestN(t, b.sys, 1, "x")

	testutil.WaitFor(t, testutil.Patience, "the first attempt at the receiver", func() error {
		if n, _ := hook.counts(); n != 1 {
			return fmt.Errorf("%d requests", n)
		}
		return nil
	})
	d.set("b")       // the deliverer changes while the first attempt is under way
	close(hook.hold) // the first attempt fails (503): a retry is due

	testutil.WaitFor(t, testutil.Patience, "delivered by b", func() error {
		_, keys := hook.counts()
		if keys == "" {
			return errors.New("not delivered yet")
		}
		for _, n := range []*clusterSystem{a, b} {
			logs := n.sys.NotificationLogs(notify.LogFilter{})
			if len(logs) != 2 || logs[0].Status != notify.LogSent || logs[1].Status != notify.LogRetrying {
				return fmt.Errorf("log %+v", logs)
			}
		}
		return nil
	})
	if n, _ := hook.counts(); n != 2 {
		t.Fatalf("%d requests: want the failed one and one retry", n)
	}
	if da, db := deliveries(t, a.sys), deliveries(t, b.sys); da != db {
		t.Fatalf("logs differ:\n%s\n%s", da, db)
	}
}

// TestClusterTakesOverAnAttemptLeftInFlight: the deliverer a begins an
// attempt whose request never ends and reports nothing (a stands for a
// node killed during it: its send timeout is longer than the test). b,
// made the deliverer, ends that attempt as interrupted once it is
// takeOverAfter old and sends the notification again, with the same
// Idempotency-Key, though nothing else happens meanwhile to wake its
// notifier. Both nodes' logs show the interrupted attempt and the
// delivery. On real processes: TestClusterDelivererKilled (test/).
func TestClusterTakesOverAnAttemptLeftInFlight(t *testing.T) {
	hook := newHookReceiver(t, func(int) int { return 200 })
	hook.hold = make(chan struct{}) // never closed: a's request ends when a stops
	cc := startStream(t)
	d := newDeliverer("a")
	a := startNode(t, cc, "a", d, t.TempDir(), func(cfg *Config) { cfg.Notifications.SendTimeout = time.Hour })
	b := startNode(t, cc, "b", d, t.TempDir(), func(cfg *Config) {
		cfg.Notifications.SendTimeout = 500 * time.Millisecond // takes over 6 s after a's attempt began
	})

	createHook(t, a.sys, "hook", hook.URL)
	rule := createActive(t, a.sys, `{"name":"sources","ruleType":"THRESHOLD","severity":"WARNING","notificationChannels":["hook"],
		"ruleConfig":{"metricType":"UNIQUE_SOURCES","condition":"GREATER_THAN","thresholdValue":0}}`)
	ingestN(t, b.sys, 1, "x")
	testutil.WaitFor(t, testutil.Patience, "a's attempt at the receiver, known to b", func() error {
		if n, _ := hook.counts(); n != 1 {
			return fmt.Errorf("%d requests", n)
		}
		if logs := b.sys.NotificationLogs(notify.LogFilter{}); len(logs) != 1 || logs[0].Status != notify.LogPending {
			return fmt.Errorf("b's log %+v", logs)
		}
		nt := b.sys.notifying
		nt.mu.RLock()
		inFlight := len(nt.outbox.InFlight())
		nt.mu.RUnlock()
		if inFlight != 1 {
			return errors.New("b does not know the attempt began")
		}
		return nil
	})
	hook.mu.Lock()
	hook.hold = nil // the next requests are answered; a's stays held
	hook.mu.Unlock()
	d.set("b")

	key := rule.ID + "-1:firing"
	testutil.WaitFor(t, testutil.Patience, "delivered by b", func() error {
		if _, keys := hook.counts(); keys != key {
			return fmt.Errorf("delivered: %q", keys)
		}
		for _, n := range []*clusterSystem{a, b} {
			logs := n.sys.NotificationLogs(notify.LogFilter{})
			if len(logs) != 2 || logs[0].Status != notify.LogSent || logs[1].Status != notify.LogRetrying ||
				!strings.Contains(logs[1].ErrorMessage, "interrupted") {
				return fmt.Errorf("log %+v", logs)
			}
		}
		return nil
	})
	if n, _ := hook.counts(); n != 2 {
		t.Fatalf("%d requests: want a's, held, and b's", n)
	}
	if da, db := deliveries(t, a.sys), deliveries(t, b.sys); da != db {
		t.Fatalf("logs differ:\n%s\n%s", da, db)
	}
}
