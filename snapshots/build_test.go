package snapshots

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/eventara/eventara/protocol/event"
)

// engine is what the actors do, in one goroutine: totals plus the five windows.
type engine struct {
	totals  *Totals
	windows []*Window
}

func newEngine(cfg Config) *engine {
	e := &engine{totals: NewTotals(cfg)}
	for _, s := range StandardWindows() {
		e.windows = append(e.windows, NewWindow(s))
	}
	return e
}

func (g *engine) apply(e *event.Event) {
	g.totals.Apply(e)
	for _, w := range g.windows {
		w.Apply(e)
	}
}

func (g *engine) build(now time.Time) *Snapshot {
	views := make([]WindowView, len(g.windows))
	for i, w := range g.windows {
		views[i] = w.View(now)
	}
	return Build(now, g.totals, views)
}

func TestBuildKnownEvents(t *testing.T) {
	t.Parallel()
	g := newEngine(Config{})
	// Second 0: 3 events; second 30: 1; second 90: 2 (outside last1Minute at 120).
	g.apply(ev(at(0), "login", "auth", "alice", event.SeverityInfo, 100))
	g.apply(ev(at(0), "login", "auth", "bob", event.SeverityError, 300))
	g.apply(ev(at(0), "click", "web", "alice", event.SeverityInfo, 0))
	g.apply(ev(at(30), "click", "web", "alice", event.SeverityWarning, 20))
	g.apply(ev(at(90), "pay", "api", "carol", event.SeverityCritical, 6000))
	g.apply(ev(at(90), "click", "web", "", event.SeverityDebug, 0))
	s := g.build(at(120))
	m := s.Metrics

	equal(t, "lastUpdated", m.Summary.LastUpdated, "2026-11-28T14:50:00Z")
	equal(t, "totalEvents", m.Summary.TotalEvents, 6)
	equal(t, "eventsPerSecond", m.Summary.EventsPerSecond, round2(2.0/60))
	equal(t, "errorRate", m.Summary.ErrorRate, 33.33)
	equal(t, "avgLatency", m.Summary.AvgLatency, round2(6420.0/4))
	equal(t, "uniqueSources", m.Summary.UniqueSources, 3)
	equal(t, "uniqueEventTypes", m.Summary.UniqueEventTypes, 3)
	equal(t, "uniqueUsers", m.Summary.UniqueUsers, 3)
	// 5-min: 2 errors of 6 = 33% > 10: critical.
	equal(t, "systemHealth", m.Summary.SystemHealth, HealthCritical)

	equal(t, "timeWindows", m.TimeWindows, TimeWindows{2, 6, 6, 6, 6})
	equal(t, "perMinute", m.Throughput.Current.PerMinute, 2)
	equal(t, "perDay", m.Throughput.Current.PerDay, 6)
	equal(t, "peak", m.Throughput.Peak.Value, 3)
	equal(t, "peak at", *m.Throughput.Peak.Timestamp, "2026-11-28T14:48:00Z")
	equal(t, "average 1h", m.Throughput.Average.Last1Hour, round2(6.0/3600))

	equal(t, "login", m.EventsByType["login"], TypeMetrics{Count: 2, Percentage: 33.33, AvgLatency: 200, ErrorCount: 1})
	equal(t, "click", m.EventsByType["click"], TypeMetrics{Count: 3, Percentage: 50, AvgLatency: 20, ErrorCount: 0})
	equal(t, "auth", m.EventsBySource["auth"], SourceStats{Count: 2, Health: HealthDown, AvgLatency: 200, ErrorCount: 1, ErrorRate: 50})
	equal(t, "api", m.EventsBySource["api"], SourceStats{Count: 1, Health: HealthDown, AvgLatency: 6000, ErrorCount: 1, ErrorRate: 100})
	equal(t, "web", m.EventsBySource["web"], SourceStats{Count: 3, Health: HealthHealthy, AvgLatency: 20})
	if _, ok := m.EventsByType[OtherKey]; ok {
		t.Errorf("(other) present without folding")
	}
	equal(t, "severities", len(m.EventsBySeverity), 5)
	equal(t, "INFO", m.EventsBySeverity["INFO"], 2)

	equal(t, "min", m.LatencyMetrics.MinLatency, 20)
	equal(t, "max", m.LatencyMetrics.MaxLatency, 6000)
	// Nearest rank of {20, 100, 300, 6000}: p50 is the 2nd value, p95 and
	// p99 the 4th (ceil(0.95·4) = 4), the exact max.
	within(t, "p50", m.LatencyMetrics.P50, 100, 0.01)
	equal(t, "p95", m.LatencyMetrics.P95, 6000)
	equal(t, "p99", m.LatencyMetrics.P99, 6000)
	equal(t, "performance", m.Performance, m.LatencyMetrics)

	equal(t, "totalErrors", m.ErrorMetrics.TotalErrors, 2)
	equal(t, "errorsByType", len(m.ErrorMetrics.ErrorsByType), 2)
	equal(t, "errorsByType[0]", m.ErrorMetrics.ErrorsByType[0], Breakdown{"login", 1, 50})
	equal(t, "errorsBySource[1]", m.ErrorMetrics.ErrorsBySource[1], Breakdown{"auth", 1, 50})

	equal(t, "topUsers", len(m.TopUsers), 3)
	equal(t, "topUsers[0]", m.TopUsers[0], UserCount{"alice", 3})
	equal(t, "active 1h", m.UserMetrics.ActiveUsersLast1Hour, 3)
	equal(t, "active 24h", m.UserMetrics.ActiveUsersLast24Hours, 3)

	equal(t, "mostFrequent[0]", m.TopEvents.MostFrequent[0], RankedType{"click", 3, 20})
	equal(t, "fastest", len(m.TopEvents.Fastest), 3)
	equal(t, "fastest[0]", m.TopEvents.Fastest[0].Type, "click")
	equal(t, "slowest[0]", m.TopEvents.Slowest[0].Type, "pay")

	// 2 of 6 errors: critical error rate; the 5-minute p95 of the same four
	// latencies is 6000 (> 5000): critical latency.
	if len(m.Anomalies) != 2 {
		t.Fatalf("anomalies = %+v, want high_error_rate and high_latency", m.Anomalies)
	}
	equal(t, "anomaly", m.Anomalies[0].Type+"/"+m.Anomalies[0].Severity, AnomalyHighErrorRate+"/critical")
	equal(t, "anomaly value", m.Anomalies[0].CurrentValue, 33.33)
	equal(t, "latency anomaly", m.Anomalies[1].Type+"/"+m.Anomalies[1].Severity, AnomalyHighLatency+"/critical")
	equal(t, "latency anomaly value", m.Anomalies[1].CurrentValue, 6000)

	var back Metrics
	if err := json.Unmarshal(s.JSON, &back); err != nil {
		t.Fatal(err)
	}
	again, _ := json.Marshal(&back)
	equal(t, "JSON is the Metrics", string(again), string(s.JSON))
}

func TestHealthAndAnomalyThresholds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		errors    int // of 1,000 events in the last 5 min
		latency   float64
		health    string
		anomalies []string
	}{
		{"healthy", 0, 10, HealthHealthy, nil},
		{"error rate 5 is not above 5", 50, 10, HealthHealthy, nil},
		{"error rate 5.1", 51, 10, HealthDegraded, []string{"high_error_rate/warning/5"}},
		{"error rate 10 is not above 10", 100, 10, HealthDegraded, []string{"high_error_rate/warning/5"}},
		{"error rate 10.1", 101, 10, HealthCritical, []string{"high_error_rate/critical/10"}},
		{"p95 990 (within 1% of it) is not above 1000", 0, 990, HealthHealthy, nil},
		{"p95 1100", 0, 1100, HealthDegraded, []string{"high_latency/warning/1000"}},
		{"p95 4950 is not above 5000", 0, 4950, HealthDegraded, []string{"high_latency/warning/1000"}},
		{"p95 5200", 0, 5200, HealthCritical, []string{"high_latency/critical/5000"}},
		{"both", 200, 9000, HealthCritical, []string{"high_error_rate/critical/10", "high_latency/critical/5000"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := NewWindow(WindowSpec{Last5Minutes, 5 * time.Minute})
			// Spread evenly over 5 minutes: no traffic spike.
			for i := range 1000 {
				sev := event.SeverityInfo
				if i < tc.errors {
					sev = event.SeverityError
				}
				w.Apply(ev(at(i*300/1000), "t", "s", "", sev, tc.latency))
			}
			s := Build(at(299), NewTotals(Config{}), []WindowView{w.View(at(299))})
			equal(t, "health", s.Metrics.Summary.SystemHealth, tc.health)
			var got []string
			for _, a := range s.Metrics.Anomalies {
				got = append(got, a.Type+"/"+a.Severity+"/"+strconv.FormatFloat(a.Threshold, 'f', -1, 64))
				equal(t, "detectedAt", a.DetectedAt, "2026-11-28T14:52:59Z")
			}
			equal(t, "anomalies", len(got), len(tc.anomalies))
			for i := range min(len(got), len(tc.anomalies)) {
				equal(t, "anomaly", got[i], tc.anomalies[i])
			}
		})
	}
}

func TestTrafficSpike(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		before int // events in each of the 4 minutes before the last
		last   int // events in the last minute
		spike  bool
	}{
		{"quiet before, 9 now: under the minimum", 0, 9, false},
		{"quiet before, 10 now", 0, 10, true},
		{"exactly 3x is not more", 4, 12, false},
		{"just over 3x", 4, 13, true},
		{"steady", 100, 100, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := NewWindow(WindowSpec{Last5Minutes, 5 * time.Minute})
			w.Advance(at(0))
			for m := range 4 {
				for range tc.before {
					w.Apply(ev(at(m*60+30), "t", "s", "", event.SeverityInfo, 0))
				}
			}
			for range tc.last {
				w.Apply(ev(at(299), "t", "s", "", event.SeverityInfo, 0))
			}
			v := w.View(at(299))
			equal(t, "last minute", v.Minutes[0], uint64(tc.last))
			s := Build(at(299), nil, []WindowView{v})
			spike := false
			for _, a := range s.Metrics.Anomalies {
				if a.Type == AnomalyTrafficSpike {
					spike = true
					equal(t, "currentValue", a.CurrentValue, float64(tc.last))
					equal(t, "threshold", a.Threshold, float64(3*tc.before))
				}
			}
			equal(t, "spike", spike, tc.spike)
		})
	}
}

func TestSourceHealth(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		rate, avg float64
		want      string
	}{
		{0, 0, HealthHealthy}, {5, 1000, HealthHealthy}, {5.01, 0, HealthDegraded}, {0, 1000.01, HealthDegraded},
		{10, 5000, HealthDegraded}, {10.01, 0, HealthDown}, {0, 5000.01, HealthDown},
	} {
		equal(t, strconv.FormatFloat(tc.rate, 'f', -1, 64)+"/"+strconv.FormatFloat(tc.avg, 'f', -1, 64),
			sourceHealth(tc.rate, tc.avg), tc.want)
	}
}

func TestTopListsAndCaps(t *testing.T) {
	t.Parallel()
	tt := NewTotals(Config{})
	// Type k (k = 1..150) gets k events of latency k ms, k%3 of them errors;
	// source k%120; user k%25.
	for k := 1; k <= 150; k++ {
		for i := range k {
			sev := event.SeverityInfo
			if i < k%3 {
				sev = event.SeverityError
			}
			tt.Apply(ev(at(k), "type"+strconv.Itoa(k), "src"+strconv.Itoa(k%120), "user"+strconv.Itoa(k%25), sev, float64(k)))
		}
	}
	m := Build(at(200), tt, nil).Metrics
	equal(t, "types", len(m.EventsByType), 101)
	equal(t, "smallest kept", m.EventsByType["type51"].Count, 51)
	if _, ok := m.EventsByType["type50"]; ok {
		t.Errorf("type50 kept")
	}
	equal(t, "(other)", m.EventsByType[OtherKey].Count, 50*51/2)
	equal(t, "(other) latency", m.EventsByType[OtherKey].AvgLatency, round2(float64(50*51*101/6)/float64(50*51/2)))
	equal(t, "sources", len(m.EventsBySource), 101)
	equal(t, "mostFrequent", len(m.TopEvents.MostFrequent), 10)
	equal(t, "mostFrequent[9]", m.TopEvents.MostFrequent[9], RankedType{"type141", 141, 141})
	equal(t, "fastest", len(m.TopEvents.Fastest), 5)
	equal(t, "fastest[4]", m.TopEvents.Fastest[4], RankedType{"type5", 5, 5})
	equal(t, "slowest[0]", m.TopEvents.Slowest[0], RankedType{"type150", 150, 150})
	equal(t, "errorsByType", len(m.ErrorMetrics.ErrorsByType), 10)
	// 2 errors each for k%3 == 2; ties broken by name.
	equal(t, "errorsByType[0]", m.ErrorMetrics.ErrorsByType[0].Name, "type101")
	equal(t, "errorsByType[1]", m.ErrorMetrics.ErrorsByType[1].Name, "type104")
	equal(t, "errorsByType[0] count", m.ErrorMetrics.ErrorsByType[0].Count, 2)
	equal(t, "topUsers", len(m.TopUsers), 10)
	// user u gets the sum of k over k ≡ u (mod 25): user0 has 525, user24 519.
	equal(t, "topUsers[0]", m.TopUsers[0], UserCount{"user0", 525})
	equal(t, "topUsers[1]", m.TopUsers[1], UserCount{"user24", 519})
}

func TestSnapshotsMatchSchema(t *testing.T) {
	t.Parallel()
	path, err := filepath.Abs("../spec/metrics.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	schema, err := jsonschema.NewCompiler().Compile(path)
	if err != nil {
		t.Fatal(err)
	}
	full := newEngine(Config{})
	for i := range 20_000 {
		full.apply(ev(at(i%600), "type"+strconv.Itoa(i%300), "src"+strconv.Itoa(i%250), "user"+strconv.Itoa(i%900),
			event.Severity(1+i%5), float64(i%7000)))
	}
	spiky := newEngine(Config{})
	for range 50 {
		spiky.apply(ev(at(10), "a", "b", "", event.SeverityInfo, 0))
	}
	for _, tc := range []struct {
		name string
		s    *Snapshot
	}{
		{"empty", Build(at(0), NewTotals(Config{}), nil)},
		{"nil totals", Build(at(0), nil, nil)},
		{"empty engine", newEngine(Config{}).build(at(0))},
		{"full", full.build(at(600))},
		{"spike", spiky.build(at(10))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(tc.s.JSON))
			if err != nil {
				t.Fatal(err)
			}
			if err := schema.Validate(doc); err != nil {
				t.Errorf("%v\n%s", err, tc.s.JSON)
			}
		})
	}
	equal(t, "spike anomaly", len(spiky.build(at(10)).Metrics.Anomalies), 1)
}

func TestEngineCheckpointIdenticalJSON(t *testing.T) {
	t.Parallel()
	a := newEngine(Config{MaxKeys: 200, MaxUsers: 500})
	for i := range 30_000 {
		a.apply(ev(at(i/4), "type"+strconv.Itoa(i%300), "src"+strconv.Itoa(i%250), "user"+strconv.Itoa(i%900),
			event.Severity(1+i%5), float64(i%7000)))
	}
	b := newEngine(a.totals.Config())
	blob, err := a.totals.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if err := b.totals.UnmarshalBinary(blob); err != nil {
		t.Fatal(err)
	}
	for i, w := range a.windows {
		blob, err := w.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if err := b.windows[i].UnmarshalBinary(blob); err != nil {
			t.Fatal(err)
		}
	}
	for _, sec := range []int{7500, 7600, 9000, 40_000} {
		equal(t, "JSON at "+strconv.Itoa(sec), string(b.build(at(sec)).JSON), string(a.build(at(sec)).JSON))
	}
}
