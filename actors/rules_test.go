package actors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/eventara/eventara/internal/testutil"
	"github.com/eventara/eventara/journal"
	"github.com/eventara/eventara/protocol/event"
	"github.com/eventara/eventara/protocol/stomp"
	"github.com/eventara/eventara/rules"
	"github.com/eventara/eventara/rulestore"
	"github.com/eventara/eventara/snapshots"
)

// fakeClock is the System's clock in these tests: time moves only when
// the test says, so every tick time is known.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

var ruleT0 = time.Date(2031, 3, 1, 9, 0, 0, 0, time.UTC)

// recordingNotifier keeps what it is given.
type recordingNotifier struct {
	mu    sync.Mutex
	notes []Notification
}

func (n *recordingNotifier) Notify(note Notification) {
	n.mu.Lock()
	n.notes = append(n.notes, note)
	n.mu.Unlock()
}

func (n *recordingNotifier) kinds() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var ks []string
	for _, x := range n.notes {
		ks = append(ks, string(x.Record.Kind))
	}
	return strings.Join(ks, " ")
}

// clockSystem starts a System on dir whose clock is clock and whose
// scheduler never beats within a test: the test sends every tick.
func clockSystem(t *testing.T, dir string, clock *fakeClock, mutate func(*Config)) (*System, func()) {
	t.Helper()
	j, err := journal.Open(journal.Config{Dir: dir, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Log: zerolog.Nop(), Journal: j, Tick: 24 * time.Hour, Now: clock.Now}
	if mutate != nil {
		mutate(&cfg)
	}
	sys, err := Start(cfg)
	if err != nil {
		j.Close()
		t.Fatal(err)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), testutil.Patience)
			defer cancel()
			if err := sys.Stop(ctx); err != nil {
				t.Errorf("stop: %v", err)
			}
			_ = j.Close()
		})
	}
	t.Cleanup(stop)
	return sys, stop
}

// tickAt moves the clock to at, sends the tick and waits for its snapshot.
func tickAt(t *testing.T, sys *System, clock *fakeClock, at time.Time) {
	t.Helper()
	clock.set(at)
	sys.sendTick(at)
	waitSnapshot(t, sys, "the tick of "+at.Format(time.TimeOnly), func(s *snapshots.Snapshot) bool { return !s.BuiltAt.Before(at) })
}

func errorEvents(errs, infos int) []event.Event {
	var evs []event.Event
	for i := range errs + infos {
		sev := event.SeverityInfo
		if i < errs {
			sev = event.SeverityError
		}
		evs = append(evs, event.Event{Type: "req", Source: "api", Severity: sev})
	}
	return evs
}

// createActive creates a rule from its JSON and enables it.
func createActive(t *testing.T, sys *System, body string) *rules.Rule {
	t.Helper()
	req, err := rules.DecodeCreate([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r, err := sys.CreateRule(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if r, err = sys.SetRuleStatus(ctx, r.ID, rules.StatusActive); err != nil {
		t.Fatal(err)
	}
	return r
}

func errorRateRule(name string) string {
	return `{"name":"` + name + `","ruleType":"THRESHOLD","severity":"CRITICAL",
		"ruleConfig":{"metricType":"ERROR_RATE","condition":"GREATER_THAN","thresholdValue":5,"timeWindowMinutes":1,"for":"10s","cooldownMinutes":0}}`
}

// ruleAlerts lists the alerts of one rule, oldest first.
func ruleAlerts(sys *System, ruleID string) []rules.Alert {
	return sys.Alerts(rulestore.AlertFilter{RuleID: ruleID, Size: 100}).Alerts
}

// untilAlert ticks every 5 s of clock time (ingesting what feed returns
// before each) until the rule's newest alert satisfies ok.
func untilAlert(t *testing.T, sys *System, clock *fakeClock, ruleID, what string, feed func() []event.Event, ok func(rules.Alert) bool) rules.Alert {
	t.Helper()
	for range 60 {
		if evs := feed(); len(evs) > 0 {
			mustIngestEvents(t, sys, evs)
		}
		tickAt(t, sys, clock, clock.Now().Add(5*time.Second))
		now := clock.Now().UnixNano()
		testutil.WaitFor(t, testutil.Patience, "the rule to settle the tick", func() error {
			sys.alerting.mu.RLock()
			c := sys.alerting.cells[ruleID]
			sys.alerting.mu.RUnlock()
			if c == nil {
				return errors.New("no rule actor")
			}
			if ev := c.evaluated.Load(); ev < now {
				return fmt.Errorf("evaluated %s, the tick %s, records waiting %v, ticks waiting %v",
					time.Unix(0, ev).UTC().Format(time.TimeOnly), clock.Now().Format(time.TimeOnly), c.busy.busy.Load(), sys.alerting.tick.queued.busy.Load())
			}
			return nil
		})
		var found *rules.Alert
		if as := ruleAlerts(sys, ruleID); len(as) > 0 {
			if a := as[len(as)-1]; ok(a) {
				found = &a
			}
		}
		if found != nil {
			return *found
		}
	}
	t.Fatalf("no alert of rule %s %s after 5 min of ticks: %+v", ruleID, what, ruleAlerts(sys, ruleID))
	return rules.Alert{}
}

func mustIngestEvents(t *testing.T, sys *System, evs []event.Event) {
	t.Helper()
	if _, err := sys.Ingest(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
}

// alertTransitions lists the transition headers of the MESSAGEs c got for
// subscription sub.
func alertTransitions(t *testing.T, c *stompTestConn, sub string) []string {
	var out []string
	for _, f := range c.frames(t) {
		if f.frame.Command == stomp.CmdMessage && f.frame.Header(stomp.HdrSubscription) == sub {
			out = append(out, f.frame.Header(hdrTransition))
		}
	}
	return out
}

// TestAlertLifecycleOnTickTime: an error-rate rule goes pending, firing,
// acknowledged and resolved, every time a tick's time (the clock never
// moves between ticks); each transition is journaled, pushed on
// /topic/alerts and the notified ones reach the Notifier; a restart
// rebuilds the same rules and alerts.
func TestAlertLifecycleOnTickTime(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	clock := &fakeClock{now: ruleT0}
	notes := &recordingNotifier{}
	sys, stop := clockSystem(t, dir, clock, func(c *Config) { c.Notifier = notes })
	c, sess := openStomp(t, sys)
	sess.Receive([]byte("SUBSCRIBE\nid:al\ndestination:/topic/alerts\nreceipt:r1\n\n\x00"))
	waitFrames(t, c, 2) // CONNECTED, RECEIPT
	r := createActive(t, sys, errorRateRule("errors"))

	errorsFlow := func() []event.Event { return errorEvents(1, 1) } // 50 %
	pending := untilAlert(t, sys, clock, r.ID, "pending", errorsFlow, func(a rules.Alert) bool { return a.Status == rules.AlertPending })
	// History must reach back the whole minute before the rate is known.
	if pending.StartsAt.Before(ruleT0.Add(time.Minute)) || pending.StartsAt.Sub(ruleT0)%(5*time.Second) != 0 {
		t.Fatalf("pending alert starts at %s: not a tick time a minute after the first", pending.StartsAt)
	}
	firing := untilAlert(t, sys, clock, r.ID, "firing", errorsFlow, func(a rules.Alert) bool { return a.Status == rules.AlertFiring })
	if firing.ID != pending.ID || firing.TriggeredAt == nil || firing.TriggeredAt.Sub(firing.StartsAt) < 10*time.Second ||
		!firing.TriggeredAt.Equal(clock.Now()) || !firing.Notified {
		t.Fatalf("firing alert = %+v (clock %s)", firing, clock.Now())
	}
	acked, err := sys.AcknowledgeAlert(context.Background(), firing.ID, "ann", "looking")
	if err != nil {
		t.Fatal(err)
	}
	if acked.AcknowledgedBy != "ann" || acked.AcknowledgedAt == nil || !acked.AcknowledgedAt.Equal(clock.Now()) {
		t.Fatalf("acknowledged = %+v", acked)
	}
	if _, err := sys.AcknowledgeAlert(context.Background(), firing.ID, "bob", ""); !errors.Is(err, rules.ErrAlreadyAcknowledged) {
		t.Fatalf("second acknowledgement: %v", err)
	}
	// Dilute the errors below 5 %: the alert resolves by itself.
	dilute := func() []event.Event { return errorEvents(0, 500) }
	resolved := untilAlert(t, sys, clock, r.ID, "resolved", dilute, func(a rules.Alert) bool { return a.Status == rules.AlertResolved })
	if resolved.ResolutionType != rules.ResolvedAuto || !resolved.ResolvedAt.Equal(clock.Now()) || resolved.AcknowledgedBy != "ann" {
		t.Fatalf("resolved = %+v", resolved)
	}
	if _, err := sys.ResolveAlert(context.Background(), firing.ID, "bob", ""); !errors.Is(err, ErrAlertResolved) {
		t.Fatalf("resolving a resolved alert: %v", err)
	}
	want := "ALERT_PENDING ALERT_FIRING ALERT_ACKNOWLEDGED ALERT_RESOLVED"
	testutil.Eventually(t, "the transitions on /topic/alerts", func() bool {
		return strings.Join(alertTransitions(t, c, "al"), " ") == want
	})
	testutil.Eventually(t, "the notifications", func() bool { return notes.kinds() == "ALERT_FIRING ALERT_RESOLVED" })
	if got, _ := sys.Rule(r.ID); got.TriggerCount != 1 || !got.LastTriggeredAt.Equal(*firing.TriggeredAt) {
		t.Fatalf("rule after firing: triggerCount %d, lastTriggeredAt %v", got.TriggerCount, got.LastTriggeredAt)
	}

	// A second alert, resolved by hand.
	second := untilAlert(t, sys, clock, r.ID, "firing again", func() []event.Event { return errorEvents(400, 0) },
		func(a rules.Alert) bool { return a.ID != firing.ID && a.Status == rules.AlertFiring })
	if _, err := sys.ResolveAlert(context.Background(), second.ID, "bob", "fixed"); err != nil {
		t.Fatal(err)
	}
	before := snapshotJSON(t, sys)
	stop()
	sys2, _ := clockSystem(t, dir, clock, nil)
	if after := snapshotJSON(t, sys2); after != before {
		t.Fatalf("after a restart:\n got %s\nwant %s", after, before)
	}
	if a, _ := sys2.Alert(second.ID); a.ResolutionType != rules.ResolvedManual || a.ResolvedBy != "bob" {
		t.Fatalf("manually resolved alert after restart = %+v", a)
	}
}

// snapshotJSON is the rules and alerts the API shows.
func snapshotJSON(t *testing.T, sys *System) string {
	t.Helper()
	b, err := json.Marshal(struct {
		Rules  []*rules.Rule
		Alerts rulestore.AlertPage
	}{sys.Rules(nil), sys.Alerts(rulestore.AlertFilter{Size: 100})})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestRulePanicRestartsItAlone: a rule actor that panics on its tick is
// restarted alone from its journaled state; snapshots go on meanwhile, the
// other rule's alert fires, and the failed rule evaluates again.
func TestRulePanicRestartsItAlone(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: ruleT0}
	sys, _ := clockSystem(t, t.TempDir(), clock, nil)
	bad := createActive(t, sys, errorRateRule("bad"))
	good := createActive(t, sys, errorRateRule("good"))
	path := "rules/rule-" + bad.ID
	mustArm(t, sys, Fault{Actor: path, Fault: FaultPanic, Message: "ruleSlot", After: 3})
	untilAlert(t, sys, clock, good.ID, "firing", func() []event.Event { return errorEvents(1, 1) },
		func(a rules.Alert) bool { return a.Status == rules.AlertFiring })
	ev := waitDecision(t, sys, "the rule actor's restart", func(e SupervisionEvent) bool { return e.Actor == path })
	if ev.Kind != KindRule || ev.Parent != "rules" || ev.Directive != "restart" || ev.MsgType != "ruleSlot" {
		t.Fatalf("decision = %+v", ev)
	}
	for _, e := range sys.SupervisionEvents() {
		if e.Actor != path {
			t.Fatalf("another actor failed: %+v", e)
		}
	}
	// Restarted with an empty history, the bad rule fires a minute later.
	untilAlert(t, sys, clock, bad.ID, "firing after its restart", func() []event.Event { return errorEvents(1, 1) },
		func(a rules.Alert) bool { return a.Status == rules.AlertFiring })
}

// TestRulesSkipToTheNewestTick: while the rules actor is stalled, ticks
// and snapshots go on, its mailbox holds one rulesTick at most, and once
// it resumes it evaluates the newest tick.
func TestRulesSkipToTheNewestTick(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: ruleT0}
	sys, _ := clockSystem(t, t.TempDir(), clock, nil)
	r := createActive(t, sys, errorRateRule("r"))
	mustArm(t, sys, Fault{Actor: "rules", Fault: FaultStall, Message: "rulesTick"})
	for i := 1; i <= 20; i++ {
		mustIngestEvents(t, sys, errorEvents(1, 1))
		tickAt(t, sys, clock, ruleT0.Add(time.Duration(i)*5*time.Second))
	}
	if n := mailboxOf(sys, "rules"); n > 1 {
		t.Fatalf("stalled rules actor's mailbox holds %d messages, want at most one rulesTick", n)
	}
	sys.Faults().Clear()
	a := untilAlert(t, sys, clock, r.ID, "pending", func() []event.Event { return errorEvents(1, 1) },
		func(a rules.Alert) bool { return a.Status != "" })
	if a.StartsAt.Before(ruleT0.Add(time.Minute)) {
		t.Fatalf("alert starts at %s", a.StartsAt)
	}
}

// TestRuleCommandsBounded: changes wait for a stalled rules actor up to
// maxRuleCommands; the next is refused at once; all are answered after.
func TestRuleCommandsBounded(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: ruleT0}
	sys, _ := clockSystem(t, t.TempDir(), clock, nil)
	mustArm(t, sys, Fault{Actor: "rules", Fault: FaultStall, Message: "ruleCommand"})
	errs := make(chan error, maxRuleCommands)
	for i := range maxRuleCommands {
		req, _ := rules.DecodeCreate([]byte(fmt.Sprintf(`{"name":"r%d","ruleType":"THRESHOLD","severity":"INFO","ruleConfig":{"metricType":"TOTAL_EVENTS","condition":"GREATER_THAN","thresholdValue":1}}`, i)))
		go func() { _, err := sys.CreateRule(context.Background(), req); errs <- err }()
	}
	testutil.Eventually(t, "every command admitted", func() bool { return sys.alerting.commands.Load() == maxRuleCommands })
	if _, err := sys.CreateRule(context.Background(), &rules.CreateRuleRequest{}); !errors.Is(err, ErrRulesBusy) {
		t.Fatalf("command past the bound: %v", err)
	}
	if n := mailboxOf(sys, "rules"); n > maxRuleCommands {
		t.Fatalf("mailbox holds %d", n)
	}
	sys.Faults().Clear()
	for range maxRuleCommands {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n := len(sys.Rules(nil)); n != maxRuleCommands {
		t.Fatalf("%d rules", n)
	}
}

// TestRuleAPIErrors: not found, duplicate names, and changes that end an
// open alert.
func TestRuleAPIErrors(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: ruleT0}
	sys, _ := clockSystem(t, t.TempDir(), clock, nil)
	ctx := context.Background()
	r := createActive(t, sys, errorRateRule("Errors"))
	req, _ := rules.DecodeCreate([]byte(errorRateRule(" errors ")))
	var taken *NameTakenError
	if _, err := sys.CreateRule(ctx, req); !errors.As(err, &taken) || taken.ID != r.ID {
		t.Fatalf("duplicate name: %v", err)
	}
	if _, err := sys.SetRuleStatus(ctx, "nope", rules.StatusActive); !errors.Is(err, ErrRuleNotFound) {
		t.Fatalf("unknown rule: %v", err)
	}
	if _, err := sys.AcknowledgeAlert(ctx, "nope", "a", ""); !errors.Is(err, ErrAlertNotFound) {
		t.Fatalf("unknown alert: %v", err)
	}
	a := untilAlert(t, sys, clock, r.ID, "pending", func() []event.Event { return errorEvents(1, 1) },
		func(a rules.Alert) bool { return a.Status == rules.AlertPending })
	if _, err := sys.AcknowledgeAlert(ctx, a.ID, "a", ""); !errors.Is(err, rules.ErrNotFiring) {
		t.Fatalf("acknowledging a pending alert: %v", err)
	}
	firing := untilAlert(t, sys, clock, r.ID, "firing", func() []event.Event { return errorEvents(1, 1) },
		func(a rules.Alert) bool { return a.Status == rules.AlertFiring })
	if _, err := sys.SetRuleStatus(ctx, r.ID, rules.StatusInactive); err != nil {
		t.Fatal(err)
	}
	got, _ := sys.Alert(firing.ID)
	if got.Status != rules.AlertResolved || got.ResolutionNotes != "rule disabled" {
		t.Fatalf("alert after disabling its rule = %+v", got)
	}
	if err := sys.DeleteRule(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := sys.Rule(r.ID); !errors.Is(err, ErrRuleNotFound) {
		t.Fatalf("deleted rule: %v", err)
	}
	if _, err := sys.Alert(firing.ID); err != nil {
		t.Fatalf("the alert of a deleted rule is kept: %v", err)
	}
}

// TestRulesActorRestartRebuildsFromTheJournal: the rules actor panics; its
// next incarnation rebuilds the same rules and alerts from the state log
// and evaluates again.
func TestRulesActorRestartRebuildsFromTheJournal(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: ruleT0}
	sys, _ := clockSystem(t, t.TempDir(), clock, nil)
	r := createActive(t, sys, errorRateRule("r"))
	firing := untilAlert(t, sys, clock, r.ID, "firing", func() []event.Event { return errorEvents(1, 1) },
		func(a rules.Alert) bool { return a.Status == rules.AlertFiring })
	before := snapshotJSON(t, sys)
	sys.alerting.mu.RLock()
	oldCell := sys.alerting.cells[r.ID]
	sys.alerting.mu.RUnlock()
	mustArm(t, sys, Fault{Actor: "rules", Fault: FaultPanic, Message: "ruleCommand"})
	if _, err := sys.AcknowledgeAlert(context.Background(), firing.ID, "ann", ""); !errors.Is(err, ErrRestarting) {
		t.Fatalf("the command the rules actor failed on: %v", err)
	}
	waitDecision(t, sys, "the rules actor's restart", func(e SupervisionEvent) bool { return e.Actor == "rules" && e.Directive == "restart" })
	testutil.Eventually(t, "the rule actor respawned", func() bool {
		sys.alerting.mu.RLock()
		defer sys.alerting.mu.RUnlock()
		c := sys.alerting.cells[r.ID]
		return c != nil && c != oldCell
	})
	if after := snapshotJSON(t, sys); after != before {
		t.Fatalf("after the rules actor's restart:\n got %s\nwant %s", after, before)
	}
	if _, err := sys.AcknowledgeAlert(context.Background(), firing.ID, "ann", ""); err != nil {
		t.Fatalf("acknowledge after the restart: %v", err)
	}
	resolved := untilAlert(t, sys, clock, r.ID, "resolved", func() []event.Event { return errorEvents(0, 500) },
		func(a rules.Alert) bool { return a.Status == rules.AlertResolved })
	if resolved.ID != firing.ID || resolved.AcknowledgedBy != "ann" {
		t.Fatalf("resolved = %+v", resolved)
	}
}

// TestFailingRuleIsStoppedAlone: a rule actor failing on every tick is
// stopped after its restarts (it is no longer evaluated) while the other
// rule goes on; enabling the rule again evaluates it again.
func TestFailingRuleIsStoppedAlone(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: ruleT0}
	sys, _ := clockSystem(t, t.TempDir(), clock, nil)
	bad := createActive(t, sys, errorRateRule("bad"))
	good := createActive(t, sys, errorRateRule("good"))
	mustArm(t, sys, Fault{Actor: "rules/rule-" + bad.ID, Fault: FaultPanic, Message: "ruleSlot", Count: -1})
	testutil.Eventually(t, "the failing rule actor stopped", func() bool {
		tickAt(t, sys, clock, clock.Now().Add(time.Second))
		sys.alerting.mu.RLock()
		defer sys.alerting.mu.RUnlock()
		return sys.alerting.cells[bad.ID] == nil
	})
	waitDecision(t, sys, "the stop decision", func(e SupervisionEvent) bool {
		return e.Actor == "rules/rule-"+bad.ID && e.Directive == "stop"
	})
	untilAlert(t, sys, clock, good.ID, "firing", func() []event.Event { return errorEvents(1, 1) },
		func(a rules.Alert) bool { return a.Status == rules.AlertFiring })
	sys.Faults().Clear()
	ctx := context.Background()
	if _, err := sys.SetRuleStatus(ctx, bad.ID, rules.StatusInactive); err != nil {
		t.Fatal(err)
	}
	createdAgain, err := sys.SetRuleStatus(ctx, bad.ID, rules.StatusActive)
	if err != nil || createdAgain.Status != rules.StatusActive {
		t.Fatalf("enable again: %v", err)
	}
	untilAlert(t, sys, clock, bad.ID, "firing once enabled again", func() []event.Event { return errorEvents(1, 1) },
		func(a rules.Alert) bool { return a.Status == rules.AlertFiring })
}
