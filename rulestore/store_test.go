package rulestore

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/eventara/eventara/rules"
)

var t0 = time.Date(2026, 11, 28, 14, 0, 0, 0, time.UTC)

func at(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }

func newRule(t *testing.T, id, name string, at time.Time) *rules.Rule {
	t.Helper()
	req, err := rules.DecodeCreate([]byte(`{"name":"` + name + `","ruleType":"THRESHOLD","severity":"WARNING",
		"ruleConfig":{"metricType":"ERROR_RATE","condition":"GREATER_THAN","thresholdValue":5,"timeWindowMinutes":1,"for":"20s","cooldownMinutes":1},
		"suppressionWindowMinutes":3,"maxAlertsPerHour":4}`))
	if err != nil {
		t.Fatal(err)
	}
	r, err := rules.NewRule(req, id, at)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// run drives a store the way the rules actor does: every change computed on
// a copy of the journaled machine (Store.Machine), encoded, decoded and
// applied. It returns the encoded log.
type run struct {
	t     *testing.T
	store *Store
	log   [][]byte
	// machines are the live rule actors' machines, stepped each tick.
	machines map[string]*rules.Machine
}

func (r *run) commit(es ...*Entry) {
	r.t.Helper()
	for _, e := range es {
		b, err := e.Marshal()
		if err != nil {
			r.t.Fatal(err)
		}
		d, err := UnmarshalEntry(b)
		if err != nil {
			r.t.Fatal(err)
		}
		r.log = append(r.log, b)
		r.store.Apply(d)
	}
}

func (r *run) alerts(recs []rules.Record) {
	for _, rec := range recs {
		r.commit(AlertEntry(rec))
	}
}

// TestReplayReproducesStore: a store rebuilt from the whole log, or from
// a snapshot taken at any point plus the log after it, encodes to the same
// bytes as the live store, through rule creation, updates, status changes,
// deletion, every alert transition, acknowledgements, manual resolutions
// and eviction.
func TestReplayReproducesStore(t *testing.T) {
	t.Parallel()
	cfg := Config{MaxResolvedAlerts: 7, ResolvedRetention: 30 * time.Minute}
	r := &run{t: t, store: New(cfg), machines: map[string]*rules.Machine{}}
	type cut struct {
		snap []byte
		at   int // log length covered
	}
	var cuts []cut
	ids := []string{"r1", "r2", "r3"}
	for i, id := range ids {
		rule := newRule(t, id, "rule "+id, at(i))
		r.commit(RuleEntry(rule, at(i)))
		rule = rule.WithStatus(rules.StatusActive, at(i))
		r.commit(RuleEntry(rule, at(i)))
		m, _ := r.store.Machine(id)
		r.machines[id] = m
	}
	outcomes := []rules.Outcome{rules.Holds, rules.Holds, rules.Holds, rules.Clear, rules.Holds, rules.NoData, rules.Holds, rules.Holds, rules.Clear}
	for tick := range 600 {
		now := at(100 + tick*10)
		for k, id := range ids {
			m, ok := r.machines[id]
			if !ok {
				continue
			}
			o := outcomes[(tick*(k+3)+tick/11)%len(outcomes)]
			r.alerts(m.Step(rules.Result{At: now, Outcome: o, Value: float64(tick), Threshold: 5}))
			if a, ok := m.Open(); ok && a.Status == rules.AlertFiring && tick%13 == k {
				cp, _ := r.store.Machine(id)
				rec, err := cp.Acknowledge(a.ID, "ann", "looking", now)
				if err == nil {
					r.commit(AlertEntry(rec))
					m.Apply(rec)
				}
			}
			if a, ok := m.Open(); ok && a.Status == rules.AlertFiring && tick%31 == k {
				cp, _ := r.store.Machine(id)
				rec, err := cp.Resolve(a.ID, "bob", "fixed", now)
				if err != nil {
					t.Fatal(err)
				}
				r.commit(AlertEntry(rec))
				m.Apply(rec)
			}
		}
		switch tick {
		case 200: // r2's config changes: its open alert ends, a new version
			cp, _ := r.store.Machine("r2")
			recs := cp.Stop(now, "rule updated")
			r.alerts(recs)
			old, _ := r.store.Rule("r2")
			upd, err := old.Update(&rules.UpdateRuleRequest{RuleConfig: []byte(`{"metricType":"ERROR_RATE","condition":"GREATER_THAN","thresholdValue":9}`)}, now)
			if err != nil {
				t.Fatal(err)
			}
			r.commit(RuleEntry(upd, now))
			r.machines["r2"], _ = r.store.Machine("r2")
		case 350: // r3 is deleted
			cp, _ := r.store.Machine("r3")
			r.alerts(cp.Stop(now, "rule deleted"))
			r.commit(DeleteEntry("r3", now))
			delete(r.machines, "r3")
		}
		if tick%47 == 0 {
			b, err := r.store.MarshalSnapshot()
			if err != nil {
				t.Fatal(err)
			}
			cuts = append(cuts, cut{b, len(r.log)})
		}
	}
	want, err := r.store.MarshalSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	if got := replay(t, cfg, nil, r.log); !bytes.Equal(got, want) {
		t.Fatalf("replay of the whole log differs:\n got %s\nwant %s", got, want)
	}
	for _, c := range cuts {
		if got := replay(t, cfg, c.snap, r.log[c.at:]); !bytes.Equal(got, want) {
			t.Fatalf("snapshot at %d + tail differs:\n got %s\nwant %s", c.at, got, want)
		}
	}
	// The run went through everything the test claims.
	st := r.store.AlertStatistics()
	if st.ResolvedManual == 0 || st.ResolvedAuto == 0 {
		t.Errorf("statistics %+v: the run lacks a kind of resolution", st)
	}
	if n := st.ResolvedAlerts; n > cfg.MaxResolvedAlerts {
		t.Errorf("%d resolved alerts kept, bound %d", n, cfg.MaxResolvedAlerts)
	}
	if _, ok := r.store.Rule("r3"); ok {
		t.Error("deleted rule still there")
	}
	if r2, _ := r.store.Rule("r2"); r2.Version != 2 || r2.TriggerCount == 0 || r2.LastTriggeredAt == nil {
		t.Errorf("r2 = version %d, triggerCount %d, lastTriggeredAt %v", r2.Version, r2.TriggerCount, r2.LastTriggeredAt)
	}
	acked := r.store.Alerts(AlertFilter{Search: "looking", Size: 1000})
	if acked.Total == 0 {
		t.Error("no acknowledged alert kept")
	}
}

func replay(t *testing.T, cfg Config, snap []byte, log [][]byte) []byte {
	t.Helper()
	s := New(cfg)
	if snap != nil {
		var err error
		if s, _, err = Load(cfg, snap); err != nil {
			t.Fatal(err)
		}
	}
	for i, b := range log {
		e, err := UnmarshalEntry(b)
		if err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		s.Apply(e)
	}
	out, err := s.MarshalSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestResolvedAlertsAgeOut: resolved alerts older than the retention (by
// the applied records' times) are dropped; open ones never are.
func TestResolvedAlertsAgeOut(t *testing.T) {
	t.Parallel()
	s := New(Config{ResolvedRetention: time.Hour})
	for i, id := range []string{"a", "b"} {
		rule := newRule(t, id, id, at(0))
		s.Apply(RuleEntry(rule, at(0)))
		m, _ := s.Machine(id)
		for _, rec := range m.Step(rules.Result{At: at(i * 3600), Outcome: rules.Holds}) {
			s.Apply(AlertEntry(rec))
		}
	}
	// Rule "a" has For 20s: step it to firing, then clear.
	m, _ := s.Machine("a")
	for _, o := range []struct {
		sec int
		o   rules.Outcome
	}{{30, rules.Holds}, {40, rules.Clear}} {
		for _, rec := range m.Step(rules.Result{At: at(o.sec), Outcome: o.o}) {
			s.Apply(AlertEntry(rec))
		}
	}
	if got := s.Alerts(AlertFilter{Statuses: []rules.AlertStatus{rules.AlertResolved}, Size: 10}).Total; got != 1 {
		t.Fatalf("resolved alerts = %d, want 1", got)
	}
	// b's alert resolves two hours later: a's resolution is then past the
	// retention.
	mb, _ := s.Machine("b")
	for _, sec := range []int{3600 + 30, 3 * 3600} {
		o := rules.Holds
		if sec > 3700 {
			o = rules.Clear
		}
		for _, rec := range mb.Step(rules.Result{At: at(sec), Outcome: o}) {
			s.Apply(AlertEntry(rec))
		}
	}
	page := s.Alerts(AlertFilter{Size: 10})
	if page.Total != 1 || page.Alerts[0].RuleID != "b" {
		t.Fatalf("alerts after retention = %+v", page)
	}
}

// TestAlertFilters: every AlertFilter field selects, sorts and pages.
func TestAlertFilters(t *testing.T) {
	t.Parallel()
	s := New(Config{})
	for i := range 5 {
		id := fmt.Sprintf("r%d", i)
		rule := newRule(t, id, fmt.Sprintf("Rule %d", i), at(0))
		if i%2 == 1 {
			rule.Severity = rules.SeverityCritical
		}
		s.Apply(RuleEntry(rule, at(0)))
		m, _ := s.Machine(id)
		steps := []rules.Result{{At: at(100 * i), Outcome: rules.Holds, Message: "msg " + id}}
		if i >= 2 {
			steps = append(steps, rules.Result{At: at(100*i + 30), Outcome: rules.Holds})
		}
		if i >= 4 {
			steps = append(steps, rules.Result{At: at(100*i + 60), Outcome: rules.Clear})
		}
		for _, res := range steps {
			for _, rec := range m.Step(res) {
				s.Apply(AlertEntry(rec))
			}
		}
	}
	m, _ := s.Machine("r3")
	a, _ := m.Open()
	rec, err := m.Acknowledge(a.ID, "ann", "on it", at(500))
	if err != nil {
		t.Fatal(err)
	}
	s.Apply(AlertEntry(rec))
	ids := func(p AlertPage) string {
		out := ""
		for _, a := range p.Alerts {
			out += a.RuleID + " "
		}
		return fmt.Sprintf("%d: %s", p.Total, out)
	}
	cases := []struct {
		name string
		f    AlertFilter
		want string
	}{
		{"all, newest first", AlertFilter{Size: 10, Desc: true}, "5: r4 r3 r2 r1 r0 "},
		{"paged", AlertFilter{Size: 2, Page: 1}, "5: r2 r3 "},
		{"past the end", AlertFilter{Size: 2, Page: 9}, "5: "},
		{"pending", AlertFilter{Size: 10, Statuses: []rules.AlertStatus{rules.AlertPending}}, "2: r0 r1 "},
		{"firing", AlertFilter{Size: 10, Statuses: []rules.AlertStatus{rules.AlertFiring}}, "2: r2 r3 "},
		{"acknowledged", AlertFilter{Size: 10, Statuses: []rules.AlertStatus{StatusAcknowledged}}, "1: r3 "},
		{"resolved or pending", AlertFilter{Size: 10, Statuses: []rules.AlertStatus{rules.AlertResolved, rules.AlertPending}}, "3: r0 r1 r4 "},
		{"critical", AlertFilter{Size: 10, Severities: []rules.Severity{rules.SeverityCritical}}, "2: r1 r3 "},
		{"rule id", AlertFilter{Size: 10, RuleID: "r2"}, "1: r2 "},
		{"rule name", AlertFilter{Size: 10, RuleName: "rule 4"}, "1: r4 "},
		{"dates", AlertFilter{Size: 10, Start: at(100), End: at(300)}, "2: r1 r2 "},
		{"search message", AlertFilter{Size: 10, Search: "MSG R1"}, "1: r1 "},
		{"search notes", AlertFilter{Size: 10, Search: "on it"}, "1: r3 "},
		{"by severity desc", AlertFilter{Size: 10, SortBy: "severity", Desc: true}, "5: r3 r1 r4 r2 r0 "},
		{"by triggeredAt", AlertFilter{Size: 10, SortBy: "triggeredAt"}, "5: r0 r1 r2 r3 r4 "},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got := ids(s.Alerts(c.f)); got != c.want {
				t.Fatalf("got %q, want %q", got, c.want)
			}
		})
	}
	st := s.AlertStatistics()
	if st.TotalAlerts != 5 || st.PendingAlerts != 2 || st.FiringAlerts != 2 || st.AcknowledgedAlerts != 1 ||
		st.ResolvedAlerts != 1 || st.BySeverity[rules.SeverityCritical] != 2 || st.BySeverity[rules.SeverityWarning] != 2 {
		t.Fatalf("statistics = %+v", st)
	}
}
