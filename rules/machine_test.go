package rules

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"
)

// step is one tick's outcome fed to a machine, and the record kinds (with
// Notify marked "!") it must produce.
type step struct {
	sec  int
	o    Outcome
	want string
}

func testRule(p Policy) *Rule {
	return &Rule{ID: "r1", Name: "errors", Version: 3, Severity: SeverityCritical, Priority: 7,
		SuppressionWindowMinutes: int(p.Suppression / time.Minute), MaxAlertsPerHour: p.MaxPerHour,
		Config: &Config{For: p.For, Cooldown: p.Cooldown}}
}

func kinds(recs []Record) string {
	s := ""
	for i, r := range recs {
		if i > 0 {
			s += ","
		}
		s += string(r.Kind)
		if r.Notify {
			s += "!"
		}
		if r.Alert.NotifySkipped != "" && r.Kind == RecordFiring {
			s += "(" + r.Alert.NotifySkipped + ")"
		}
	}
	return s
}

// runSteps drives a machine and checks each step's records; it returns
// every record produced.
func runSteps(t *testing.T, m *Machine, steps []step) []Record {
	t.Helper()
	var all []Record
	for _, s := range steps {
		recs := m.Step(Result{At: at(s.sec), Outcome: s.o, Value: float64(s.sec), Threshold: 5, Message: fmt.Sprint("tick ", s.sec)})
		if got := kinds(recs); got != s.want {
			t.Errorf("at %ds %v: records %q, want %q", s.sec, s.o, got, s.want)
		}
		all = append(all, recs...)
	}
	return all
}

const (
	pend   = "ALERT_PENDING"
	fire   = "ALERT_FIRING!"
	cancel = "ALERT_CANCELED"
	res    = "ALERT_RESOLVED!"
)

func TestLifecycle(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		policy Policy
		steps  []step
	}{
		{"fires only after for, resolves when clear", Policy{For: 30 * time.Second}, []step{
			{0, Clear, ""}, {10, Holds, pend}, {20, Holds, ""}, {39, Holds, ""},
			{40, Holds, fire}, {50, Holds, ""}, {60, Clear, res}, {70, Clear, ""},
		}},
		{"clears before for: canceled, never fired", Policy{For: 30 * time.Second}, []step{
			{0, Holds, pend}, {20, Clear, cancel}, {30, Holds, pend}, {59, Holds, ""}, {60, Holds, fire},
		}},
		{"for 0 fires on the first tick", Policy{}, []step{
			{0, Holds, fire}, {1, Clear, res},
		}},
		{"no data cancels pending, keeps firing", Policy{For: 10 * time.Second}, []step{
			{0, Holds, pend}, {5, NoData, cancel}, {6, Holds, pend}, {16, Holds, fire},
			{20, NoData, ""}, {30, Holds, ""}, {40, Clear, res},
		}},
		{"cooldown holds the next alert pending", Policy{Cooldown: time.Minute}, []step{
			{0, Holds, fire}, {10, Clear, res}, {20, Holds, pend}, {59, Holds, ""}, {60, Holds, fire}, {70, Clear, res},
		}},
		{"suppression: recorded, not notified, nor its resolution", Policy{Suppression: 30 * time.Minute}, []step{
			{0, Holds, fire}, {60, Clear, res},
			{120, Holds, "ALERT_FIRING(SUPPRESSED)"}, {180, Clear, "ALERT_RESOLVED"},
			{1799, Holds, "ALERT_FIRING(SUPPRESSED)"}, {1800, Clear, "ALERT_RESOLVED"},
			{1801, Holds, fire}, // 30 min after the last notified firing
		}},
		{"maxAlertsPerHour over a sliding hour", Policy{MaxPerHour: 2}, []step{
			{0, Holds, fire}, {1, Clear, res},
			{600, Holds, fire}, {601, Clear, res},
			{1200, Holds, "ALERT_FIRING(RATE_LIMITED)"}, {1201, Clear, "ALERT_RESOLVED"},
			{3590, Holds, "ALERT_FIRING(RATE_LIMITED)"}, {3591, Clear, "ALERT_RESOLVED"}, // 0 and 600 still within the hour
			{3600, Holds, fire}, // 0 left the hour: only 600 is within it
		}},
		{"suppression is checked before the cap", Policy{Suppression: time.Hour, MaxPerHour: 1}, []step{
			{0, Holds, fire}, {1, Clear, res}, {2, Holds, "ALERT_FIRING(SUPPRESSED)"},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			runSteps(t, NewMachine(testRule(tc.policy)), tc.steps)
		})
	}
}

func TestAlertFields(t *testing.T) {
	t.Parallel()
	m := NewMachine(testRule(Policy{For: 10 * time.Second}))
	hi := 9.0
	m.Step(Result{At: at(0), Outcome: Holds, Value: 7, Threshold: 5, Threshold2: &hi, Message: "started"})
	recs := m.Step(Result{At: at(10), Outcome: Holds, Value: 8, Threshold: 5, Threshold2: &hi, Message: "fired"})
	a := recs[0].Alert
	if a.ID != "r1-1" || a.Seq != 1 || a.RuleID != "r1" || a.RuleName != "errors" || a.RuleVersion != 3 ||
		a.Severity != SeverityCritical || a.Priority != 7 || a.Status != AlertFiring {
		t.Errorf("identity: %+v", a)
	}
	if a.ActualValue != 8 || a.ThresholdValue != 5 || a.ThresholdValue2 == nil || *a.ThresholdValue2 != 9 || a.Message != "fired" {
		t.Errorf("figures: %+v", a)
	}
	if !a.StartsAt.Equal(at(0)) || a.TriggeredAt == nil || !a.TriggeredAt.Equal(at(10)) || a.ResolvedAt != nil || !a.Notified {
		t.Errorf("times: %+v", a)
	}
	recs = m.Step(Result{At: at(20), Outcome: Clear, Message: "ok now"})
	a = recs[0].Alert
	if a.Status != AlertResolved || a.ResolutionType != ResolvedAuto || a.ResolvedAt == nil || !a.ResolvedAt.Equal(at(20)) ||
		a.ResolutionNotes != "condition cleared: ok now" {
		t.Errorf("resolved: %+v", a)
	}
	// The next alert is number 2.
	if recs := m.Step(Result{At: at(30), Outcome: Holds}); recs[0].Alert.ID != "r1-2" {
		t.Errorf("next alert id %q, want r1-2", recs[0].Alert.ID)
	}
}

func TestAcknowledgeAndResolve(t *testing.T) {
	t.Parallel()
	m := NewMachine(testRule(Policy{For: 10 * time.Second}))
	m.Step(Result{At: at(0), Outcome: Holds})
	if _, err := m.Acknowledge("r1-1", "ann", "", at(1)); !errors.Is(err, ErrNotFiring) {
		t.Errorf("ack of a pending alert: %v, want ErrNotFiring", err)
	}
	m.Step(Result{At: at(10), Outcome: Holds})
	if _, err := m.Acknowledge("r1-9", "ann", "", at(11)); !errors.Is(err, ErrNoSuchAlert) {
		t.Errorf("ack of another alert: %v, want ErrNoSuchAlert", err)
	}
	rec, err := m.Acknowledge("r1-1", "ann", "looking", at(12))
	if err != nil || rec.Kind != RecordAcknowledged || rec.Notify || rec.Alert.AcknowledgedBy != "ann" ||
		rec.Alert.AcknowledgmentNotes != "looking" || !rec.Alert.AcknowledgedAt.Equal(at(12)) || rec.Alert.Status != AlertFiring {
		t.Errorf("ack: %+v, %v", rec, err)
	}
	if _, err := m.Acknowledge("r1-1", "bob", "", at(13)); !errors.Is(err, ErrAlreadyAcknowledged) {
		t.Errorf("second ack: %v, want ErrAlreadyAcknowledged", err)
	}
	rec, err = m.Resolve("r1-1", "bob", "restarted the db", at(14))
	if err != nil || rec.Kind != RecordResolved || !rec.Notify || rec.Alert.ResolutionType != ResolvedManual ||
		rec.Alert.ResolvedBy != "bob" || rec.Alert.ResolutionNotes != "restarted the db" || rec.Alert.AcknowledgedBy != "ann" {
		t.Errorf("resolve: %+v, %v", rec, err)
	}
	if _, err := m.Resolve("r1-1", "bob", "", at(15)); !errors.Is(err, ErrNoSuchAlert) {
		t.Errorf("resolve twice: %v, want ErrNoSuchAlert", err)
	}
	// Resolved by hand while the condition still holds: no new alert until
	// it has cleared once.
	runSteps(t, m, []step{
		{20, Holds, ""}, {30, NoData, ""}, {40, Holds, ""},
		{50, Clear, "RULE_REARMED"}, {60, Clear, ""}, {70, Holds, pend}, {80, Holds, fire},
	})
	if a, _ := m.Open(); a.ID != "r1-2" {
		t.Errorf("open alert %q, want r1-2", a.ID)
	}
}

func TestStop(t *testing.T) {
	t.Parallel()
	m := NewMachine(testRule(Policy{For: 10 * time.Second}))
	m.Step(Result{At: at(0), Outcome: Holds})
	if got := kinds(m.Stop(at(1), "rule disabled")); got != cancel {
		t.Errorf("stop pending: %q, want %q", got, cancel)
	}
	m.Step(Result{At: at(2), Outcome: Holds})
	m.Step(Result{At: at(12), Outcome: Holds})
	recs := m.Stop(at(13), "rule disabled")
	if kinds(recs) != res || recs[0].Alert.ResolutionNotes != "rule disabled" || recs[0].Alert.ResolutionType != ResolvedAuto {
		t.Errorf("stop firing: %q %+v", kinds(recs), recs)
	}
	if _, open := m.Open(); open {
		t.Error("an alert is still open after Stop")
	}
	if recs := m.Stop(at(14), "again"); len(recs) != 0 {
		t.Errorf("stop with nothing open: %q", kinds(recs))
	}
}

// Every transition goes through Apply, so the journaled records (through
// their JSON, as a journal stores them) rebuild the same state, at every
// point of a run that visits every transition.
func TestReplayReproducesState(t *testing.T) {
	t.Parallel()
	policy := Policy{For: 20 * time.Second, Cooldown: time.Minute, Suppression: 5 * time.Minute, MaxPerHour: 3}
	live := NewMachine(testRule(policy))
	var journal [][]byte
	record := func(recs ...Record) {
		for _, r := range recs {
			b, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			journal = append(journal, b)
		}
	}
	outcomes := []Outcome{Holds, Holds, Holds, Clear, Holds, NoData, Holds, Holds, Holds, Holds, Clear, Clear, Holds}
	for i := range 400 {
		sec := i * 10
		record(live.Step(Result{At: at(sec), Outcome: outcomes[(i*7+i/13)%len(outcomes)], Value: float64(i)})...)
		if a, ok := live.Open(); ok && a.Status == AlertFiring && i%17 == 0 {
			rec, err := live.Acknowledge(a.ID, "ann", "seen", at(sec))
			if err == nil {
				record(rec)
			}
		}
		if a, ok := live.Open(); ok && a.Status == AlertFiring && i%29 == 0 {
			rec, err := live.Resolve(a.ID, "bob", "fixed", at(sec))
			if err != nil {
				t.Fatal(err)
			}
			record(rec)
		}
		if i == 333 {
			record(live.Stop(at(sec), "rule updated")...)
		}

		replayed := NewMachine(testRule(policy))
		for _, b := range journal {
			var r Record
			if err := json.Unmarshal(b, &r); err != nil {
				t.Fatal(err)
			}
			replayed.Apply(r)
		}
		want, _ := json.Marshal(live.State())
		got, _ := json.Marshal(replayed.State())
		if string(got) != string(want) {
			t.Fatalf("after tick %d (%d records) replay differs:\n got %s\nwant %s", i, len(journal), got, want)
		}
	}
	seen := map[RecordKind]bool{}
	for _, b := range journal {
		var r Record
		_ = json.Unmarshal(b, &r)
		seen[r.Kind] = true
		if r.Kind == RecordFiring && r.Alert.NotifySkipped != "" {
			seen[RecordKind(r.Alert.NotifySkipped)] = true
		}
	}
	for _, k := range []RecordKind{RecordPending, RecordCanceled, RecordFiring, RecordAcknowledged, RecordResolved, RecordRearmed, SkipSuppressed, SkipRateLimited} {
		if !seen[k] {
			t.Errorf("the run never produced %s: the replay test does not cover it", k)
		}
	}
}

func TestObserveAlertCountsTriggers(t *testing.T) {
	t.Parallel()
	r := testRule(Policy{Suppression: time.Hour})
	m := NewMachine(r)
	for _, s := range []struct {
		sec int
		o   Outcome
	}{{0, Holds}, {1, Clear}, {2, Holds}, {3, Clear}} {
		for _, rec := range m.Step(Result{At: at(s.sec), Outcome: s.o}) {
			r.ObserveAlert(&rec)
		}
	}
	// Two firings, one suppressed: both are triggers.
	if r.TriggerCount != 2 || r.LastTriggeredAt == nil || !r.LastTriggeredAt.Equal(at(2)) {
		t.Errorf("triggerCount %d, lastTriggeredAt %v; want 2 at %v", r.TriggerCount, r.LastTriggeredAt, at(2))
	}
}

func TestRenderMessage(t *testing.T) {
	t.Parallel()
	fired := at(10)
	a := &Alert{RuleName: "errors", Severity: SeverityWarning, ThresholdValue: 5, ActualValue: 12.345, TriggeredAt: &fired}
	if got := RenderMessage("", a); got != "Alert: errors - Threshold: 5.00, Actual: 12.35" {
		t.Errorf("default: %q", got)
	}
	got := RenderMessage("{severity} {ruleName}: {actualValue} > {thresholdValue} since {triggeredAt} {unknown}", a)
	if want := "WARNING errors: 12.35 > 5.00 since 2026-11-28T14:00:10Z {unknown}"; got != want {
		t.Errorf("template: %q, want %q", got, want)
	}
}

// TestRestoreMachineContinuesLikeTheOriginal: a machine restored from a
// JSON round trip of State at any point produces the same records as the
// original from then on.
func TestRestoreMachineContinuesLikeTheOriginal(t *testing.T) {
	t.Parallel()
	policy := Policy{For: 20 * time.Second, Cooldown: time.Minute, Suppression: 5 * time.Minute, MaxPerHour: 3}
	outcomes := []Outcome{Holds, Holds, Holds, Clear, Holds, NoData, Holds, Holds, Holds, Holds, Clear, Clear, Holds}
	step := func(m *Machine, i int) []Record {
		recs := m.Step(Result{At: at(i * 10), Outcome: outcomes[(i*7+i/13)%len(outcomes)], Value: float64(i)})
		if a, ok := m.Open(); ok && a.Status == AlertFiring && i%29 == 0 {
			rec, err := m.Resolve(a.ID, "bob", "fixed", at(i*10))
			if err != nil {
				t.Fatal(err)
			}
			recs = append(recs, rec)
		}
		return recs
	}
	for _, cut := range []int{0, 3, 17, 58, 90, 150} {
		live := NewMachine(testRule(policy))
		for i := range cut {
			step(live, i)
		}
		b, err := json.Marshal(live.State())
		if err != nil {
			t.Fatal(err)
		}
		var st MachineState
		if err := json.Unmarshal(b, &st); err != nil {
			t.Fatal(err)
		}
		restored := RestoreMachine(testRule(policy), st)
		for i := cut; i < cut+200; i++ {
			want, _ := json.Marshal(step(live, i))
			got, _ := json.Marshal(step(restored, i))
			if string(got) != string(want) {
				t.Fatalf("restored at %d, step %d:\n got %s\nwant %s", cut, i, got, want)
			}
		}
	}
}
