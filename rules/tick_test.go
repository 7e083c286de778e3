package rules

import (
	"fmt"
	"testing"
	"time"

	"github.com/eventara/eventara/protocol/event"
	"github.com/eventara/eventara/snapshots"
)

// agg is the aggregator's part in miniature: totals and the five windows.
type agg struct {
	totals  *snapshots.Totals
	windows []*snapshots.Window
}

func newAgg() *agg {
	a := &agg{totals: snapshots.NewTotals(snapshots.Config{})}
	for _, spec := range snapshots.StandardWindows() {
		a.windows = append(a.windows, snapshots.NewWindow(spec))
	}
	return a
}

func (a *agg) add(when time.Time, n int, typ, src string, sev event.Severity, latency float64) {
	for i := range n {
		e := &event.Event{ReceivedAt: when, Timestamp: when, Type: typ, Source: src, UserID: fmt.Sprint("u", i), Severity: sev}
		if latency > 0 {
			e.MetaLatency, e.HasMetaLatency = latency, true
		}
		a.totals.Apply(e)
		for _, w := range a.windows {
			w.Apply(e)
		}
	}
}

func (a *agg) snapshot(now time.Time) (*snapshots.Snapshot, []snapshots.WindowView) {
	views := make([]snapshots.WindowView, len(a.windows))
	for i, w := range a.windows {
		views[i] = w.View(now)
	}
	return snapshots.Build(now, a.totals, views), views
}

func TestFromSnapshot(t *testing.T) {
	t.Parallel()
	a := newAgg()
	a.add(at(0), 8, "login", "auth", event.SeverityInfo, 100)
	a.add(at(0), 2, "login", "auth", event.SeverityError, 300)
	s, views := a.snapshot(at(0))
	tk := FromSnapshot(s, views)

	if !tk.At.Equal(at(0)) || tk.Events != 10 || tk.Errors != 2 || tk.UniqueSources != 1 || tk.UniqueEventTypes != 1 || tk.UniqueUsers != 8 {
		t.Errorf("totals: %+v", tk)
	}
	if f := tk.Types["login"]; f.Events != 10 || f.Errors != 2 || f.AvgLatency != 140 {
		t.Errorf("type figures: %+v", f)
	}
	if f := tk.Sources["auth"]; f.Events != 10 || f.Errors != 2 || tk.TypesFolded || tk.SourcesFolded {
		t.Errorf("source figures: %+v, folded %v %v", f, tk.TypesFolded, tk.SourcesFolded)
	}
	if l := tk.Latency; !l.Recorded || l.Avg != 140 || l.Min != 100 || l.Max != 300 {
		t.Errorf("latency: %+v", l)
	}
	if tk.PeakPerSecond != 10 || tk.ActiveUsersLast1Hour != 8 || tk.ActiveUsersLast24Hours != 8 {
		t.Errorf("peak %v, active users %d %d", tk.PeakPerSecond, tk.ActiveUsersLast1Hour, tk.ActiveUsersLast24Hours)
	}
	for _, w := range tk.Windows {
		wantLat := w.Size <= 15*time.Minute
		if w.Events != 10 || w.HasLatency != wantLat || (wantLat && (w.LatencyCount != 10 || w.P95 < 297 || w.P95 > 303)) {
			t.Errorf("window %v: %+v", w.Size, w)
		}
	}
	if nv := FromSnapshot(s, nil); nv.Windows[0].HasLatency || nv.Windows[0].Events != 10 {
		t.Errorf("without views: %+v", nv.Windows[0])
	}
}

// Rules evaluated over real snapshots, a minute apart.
func TestRulesOverRealSnapshots(t *testing.T) {
	t.Parallel()
	a := newAgg()
	a.add(at(0), 10, "login", "auth", event.SeverityInfo, 0)
	s0, v0 := a.snapshot(at(0))
	a.add(at(30), 10, "login", "auth", event.SeverityError, 2000)
	a.add(at(60), 10, "login", "auth", event.SeverityInfo, 0)
	s1, v1 := a.snapshot(at(60))
	t0k, t1k := FromSnapshot(s0, v0), FromSnapshot(s1, v1)

	for _, tc := range []struct {
		js    string
		want  Outcome
		value float64
	}{
		// (10 errors) / (20 events) over (0, 60].
		{`{"metricType":"ERROR_RATE","condition":"GREATER_THAN","thresholdValue":40,"timeWindowMinutes":1,"sourceFilter":["auth"]}`, Holds, 50},
		{`{"metricType":"EVENTS_LAST_1_MINUTE","condition":"EQUALS","thresholdValue":20}`, Holds, 20},
		{`{"metricType":"P95_LATENCY","condition":"GREATER_THAN","thresholdValue":1000,"timeWindowMinutes":5}`, Holds, 2000},
		{`{"metricType":"EVENTS_PER_MINUTE","condition":"LESS_THAN","thresholdValue":10,"timeWindowMinutes":1,"eventTypeFilter":["login"]}`, Clear, 20},
		{`{"metricType":"NO_EVENTS","sourceFilter":["billing"],"timeWindowMinutes":1}`, Holds, 0},
	} {
		res := evaluate(mustConfig(t, tc.js), []*Tick{t0k, t1k})
		r := res[1]
		if r.Outcome != tc.want || (r.Value < tc.value*0.99 || r.Value > tc.value*1.01) {
			t.Errorf("%s: %v %v (%s), want %v %v", tc.js, r.Outcome, r.Value, r.Message, tc.want, tc.value)
		}
	}

	// Past the snapshot's 100 types, the rest fold into "(other)": a
	// filtered type that is not listed is unknown, not zero.
	for i := range 105 {
		a.add(at(61), 1, fmt.Sprintf("t%03d", i), "auth", event.SeverityInfo, 0)
	}
	s2, v2 := a.snapshot(at(61))
	t2k := FromSnapshot(s2, v2)
	if !t2k.TypesFolded || t2k.SourcesFolded {
		t.Fatalf("folded: types %v sources %v", t2k.TypesFolded, t2k.SourcesFolded)
	}
	missing := ""
	for i := range 105 {
		if _, ok := t2k.Types[fmt.Sprintf("t%03d", i)]; !ok {
			missing = fmt.Sprintf("t%03d", i)
			break
		}
	}
	cfg := mustConfig(t, `{"metricType":"TOTAL_EVENTS","condition":"GREATER_THAN","thresholdValue":0,"timeWindowMinutes":1,"eventTypeFilter":["`+missing+`"]}`)
	if r := evaluate(cfg, []*Tick{t0k, t1k, t2k})[2]; missing == "" || r.Outcome != NoData {
		t.Errorf("folded type %q: %v (%s), want no data", missing, r.Outcome, r.Message)
	}
}
