package rules

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Three ticks a minute apart: 100 events (10 errors) in the first minute,
// 60 (30 errors) in the second. Gauges are set on every tick.
func threePoints() []*Tick {
	gauges := func(t *Tick) {
		t.Latency = Latency{Recorded: true, Avg: 120, P50: 100, P95: 400, P99: 900, Min: 2, Max: 1500}
		t.UniqueSources, t.UniqueEventTypes, t.UniqueUsers = 3, 7, 42
		t.ActiveUsersLast1Hour, t.ActiveUsersLast24Hours = 11, 40
		t.PeakPerSecond = 17
		t.Sources["api"] = KeyFigures{AvgLatency: 250}
	}
	return ticks(
		point{sec: 0, set: gauges},
		point{sec: 60, events: 100, errors: 10, set: gauges},
		point{sec: 120, events: 160, errors: 40, set: gauges},
	)
}

func TestThresholdMetrics(t *testing.T) {
	t.Parallel()
	cases := []struct {
		metric string
		extra  string // more ruleConfig keys
		want   float64
	}{
		{"ERROR_RATE", `"timeWindowMinutes":1`, 50},
		{"ERROR_RATE", `"timeWindowMinutes":2`, 25},
		{"TOTAL_ERRORS", `"timeWindowMinutes":1`, 30},
		{"SYSTEM_HEALTH", `"timeWindowMinutes":1`, 50},
		{"EVENTS_PER_SECOND", `"timeWindowMinutes":1`, 1},
		{"EVENTS_PER_MINUTE", `"timeWindowMinutes":2`, 80},
		{"EVENTS_PER_HOUR", `"timeWindowMinutes":1`, 3600},
		{"EVENTS_PER_DAY", `"timeWindowMinutes":1`, 86400},
		{"TOTAL_EVENTS", `"timeWindowMinutes":2`, 160},
		{"EVENTS_LAST_1_MINUTE", ``, 60},
		{"EVENTS_LAST_5_MINUTES", `"timeWindowMinutes":5`, 160},
		{"EVENTS_LAST_15_MINUTES", ``, 160},
		{"EVENTS_LAST_1_HOUR", ``, 160},
		{"EVENTS_LAST_24_HOURS", ``, 160},
		{"AVG_THROUGHPUT_1H", ``, 160.0 / 3600},
		{"AVG_THROUGHPUT_24H", ``, 160.0 / 86400},
		{"AVG_LATENCY", ``, 120},
		{"AVG_LATENCY", `"sourceFilter":["api"]`, 250},
		{"P50_LATENCY", ``, 100},
		{"P95_LATENCY", ``, 400},
		{"P99_LATENCY", ``, 900},
		{"MAX_LATENCY", ``, 1500},
		{"MIN_LATENCY", ``, 2},
		{"UNIQUE_SOURCES", ``, 3},
		{"UNIQUE_EVENT_TYPES", ``, 7},
		{"UNIQUE_USERS", ``, 42},
		{"TOTAL_UNIQUE_USERS", ``, 42},
		{"ACTIVE_USERS_LAST_1_HOUR", ``, 11},
		{"ACTIVE_USERS_LAST_24_HOURS", ``, 40},
		{"PEAK_THROUGHPUT", ``, 17},
	}
	for _, tc := range cases {
		t.Run(tc.metric+tc.extra, func(t *testing.T) {
			t.Parallel()
			for _, cond := range []struct {
				name string
				th   float64
				want Outcome
			}{
				{"GREATER_THAN", tc.want - 0.001, Holds},
				{"GREATER_THAN", tc.want, Clear},
				{"GREATER_THAN_OR_EQUAL", tc.want, Holds},
				{"LESS_THAN", tc.want, Clear},
				{"LESS_THAN_OR_EQUAL", tc.want, Holds},
				{"EQUALS", tc.want, Holds},
				{"NOT_EQUALS", tc.want, Clear},
			} {
				js := fmt.Sprintf(`{"metricType":%q,"condition":%q,"thresholdValue":%v`, tc.metric, cond.name, cond.th)
				if tc.extra != "" {
					js += "," + tc.extra
				}
				res := evaluate(mustConfig(t, js+"}"), threePoints())
				last := res[len(res)-1]
				if last.Outcome != cond.want || !near(last.Value, tc.want) {
					t.Errorf("%s %v: got %v value %v (%s), want %v value %v", cond.name, cond.th, last.Outcome, last.Value, last.Message, cond.want, tc.want)
				}
			}
		})
	}
}

func TestConditionEdges(t *testing.T) {
	t.Parallel()
	cases := []struct {
		cond      Condition
		v, lo, hi float64
		tol       float64
		want      bool
	}{
		{Between, 10, 10, 20, 0, true},      // low edge included
		{Between, 20, 10, 20, 0, true},      // high edge included
		{Between, 9.999, 10, 20, 0, false},  // just below
		{Between, 20.001, 10, 20, 0, false}, // just above
		{Between, 5, 5, 5, 0, true},         // a point range
		{NotBetween, 10, 10, 20, 0, false},  // edges are inside
		{NotBetween, 20, 10, 20, 0, false},
		{NotBetween, 9.999, 10, 20, 0, true},
		{NotBetween, 20.001, 10, 20, 0, true},
		{Equals, 1.00005, 1, 0, 1e-4, true}, // within the tolerance
		{Equals, 1.0002, 1, 0, 1e-4, false},
		{NotEquals, 1.00005, 1, 0, 1e-4, false},
		{NotEquals, 1.0002, 1, 0, 1e-4, true},
		{Equals, 1.4, 1, 0, 0.5, true}, // a configured tolerance
		{GreaterThan, 1, 1, 0, 0, false},
		{GreaterThanOrEqual, 1, 1, 0, 0, true},
		{LessThan, 1, 1, 0, 0, false},
		{LessThanOrEqual, 1, 1, 0, 0, true},
	}
	for _, tc := range cases {
		if got := tc.cond.Holds(tc.v, tc.lo, tc.hi, tc.tol); got != tc.want {
			t.Errorf("%s(%v, [%v, %v], tol %v) = %v, want %v", tc.cond, tc.v, tc.lo, tc.hi, tc.tol, got, tc.want)
		}
	}
}

// BETWEEN end to end: the edges of the range, from a rule's own config.
func TestBetweenRule(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		peak float64
		cond string
		want Outcome
	}{
		{10, "BETWEEN", Holds}, {20, "BETWEEN", Holds}, {9.99, "BETWEEN", Clear}, {20.01, "BETWEEN", Clear},
		{10, "NOT_BETWEEN", Clear}, {20, "NOT_BETWEEN", Clear}, {9.99, "NOT_BETWEEN", Holds}, {20.01, "NOT_BETWEEN", Holds},
	} {
		cfg := mustConfig(t, fmt.Sprintf(`{"metricType":"PEAK_THROUGHPUT","condition":%q,"thresholdValue":10,"thresholdValue2":"20"}`, tc.cond))
		r := evaluate(cfg, ticks(point{sec: 0, set: func(t *Tick) { t.PeakPerSecond = tc.peak }}))[0]
		if r.Outcome != tc.want || r.Threshold != 10 || r.Threshold2 == nil || *r.Threshold2 != 20 {
			t.Errorf("%s %v: %v (threshold %v..%v), want %v", tc.cond, tc.peak, r.Outcome, r.Threshold, r.Threshold2, tc.want)
		}
	}
}

// A counter over a window the snapshot does not carry needs a whole window
// of history; a metrics reset (counts going down) starts it again.
func TestWarmUpAndReset(t *testing.T) {
	t.Parallel()
	cfg := mustConfig(t, `{"metricType":"ERROR_RATE","condition":"GREATER_THAN","thresholdValue":5,"timeWindowMinutes":2}`)
	ts := ticks(
		point{sec: 0, events: 0},
		point{sec: 60, events: 50, errors: 5},
		point{sec: 120, events: 100, errors: 20}, // 20/100 over [0,120]
		point{sec: 180, events: 150, errors: 20}, // 15/100 over [60,180]
		point{sec: 240, events: 10, errors: 0},   // reset
		point{sec: 300, events: 20, errors: 1},
		point{sec: 360, events: 40, errors: 3}, // 3/30 over [240,360]
	)
	want := []struct {
		o Outcome
		v float64
	}{{NoData, 0}, {NoData, 0}, {Holds, 20}, {Holds, 15}, {NoData, 0}, {NoData, 0}, {Holds, 10}}
	for i, r := range evaluate(cfg, ts) {
		if r.Outcome != want[i].o || !near(r.Value, want[i].v) {
			t.Errorf("tick %d: %v %v (%s), want %v %v", i, r.Outcome, r.Value, r.Message, want[i].o, want[i].v)
		}
	}
}

// Ticks skipped for longer than the slack leave no baseline: no data rather
// than a count over a longer window than asked.
func TestHistoryGap(t *testing.T) {
	t.Parallel()
	cfg := mustConfig(t, `{"metricType":"TOTAL_ERRORS","condition":"GREATER_THAN","thresholdValue":0,"timeWindowMinutes":2}`)
	res := evaluate(cfg, ticks(point{sec: 0}, point{sec: 30, events: 5, errors: 1}, point{sec: 200, events: 9, errors: 2}))
	if res[2].Outcome != NoData {
		t.Errorf("after a gap: %v (%s), want no data", res[2].Outcome, res[2].Message)
	}
	// A tick a few seconds late still finds its baseline.
	res = evaluate(cfg, ticks(point{sec: 0}, point{sec: 60, events: 5, errors: 1}, point{sec: 125, events: 9, errors: 2}))
	if res[2].Outcome != Holds || res[2].Value != 2 {
		t.Errorf("late tick: %v %v (%s), want holds 2", res[2].Outcome, res[2].Value, res[2].Message)
	}
}

func TestFilters(t *testing.T) {
	t.Parallel()
	keys := func(api, web, other uint64, folded bool) func(*Tick) {
		return func(t *Tick) {
			t.Sources["api"] = KeyFigures{Events: api, Errors: api / 10}
			t.Sources["web"] = KeyFigures{Events: web, Errors: web / 2}
			if other > 0 {
				t.Sources["(other)"] = KeyFigures{Events: other}
			}
			t.SourcesFolded = folded
		}
	}
	ts := ticks(
		point{sec: 0, set: keys(0, 0, 0, false)},
		point{sec: 60, events: 1000, set: keys(100, 40, 0, false)},
		point{sec: 120, events: 2000, set: keys(200, 80, 5, true)},
	)
	cases := []struct {
		js   string
		want []Outcome
		val  float64
	}{
		// Summed over the listed sources: (10+20)/(100+40).
		{`{"metricType":"ERROR_RATE","condition":"GREATER_THAN","thresholdValue":20,"timeWindowMinutes":1,"sourceFilter":["api","web"]}`,
			[]Outcome{NoData, Holds, Holds}, 30.0 / 140 * 100},
		// A source missing while keys are folded is unknown.
		{`{"metricType":"TOTAL_EVENTS","condition":"GREATER_THAN","thresholdValue":0,"timeWindowMinutes":1,"sourceFilter":["db"]}`,
			[]Outcome{NoData, NoData, NoData}, 0},
		// Filtered fixed-window counts are differenced too.
		{`{"metricType":"EVENTS_LAST_1_MINUTE","condition":"EQUALS","thresholdValue":100,"sourceFilter":["api"]}`,
			[]Outcome{NoData, Holds, Holds}, 100},
	}
	for i, tc := range cases {
		res := evaluate(mustConfig(t, tc.js), ts)
		for j, r := range res {
			if r.Outcome != tc.want[j] {
				t.Errorf("case %d tick %d: %v (%s), want %v", i, j, r.Outcome, r.Message, tc.want[j])
			}
		}
		if last := res[len(res)-1]; last.Outcome != NoData && !near(last.Value, tc.val) {
			t.Errorf("case %d: value %v, want %v", i, last.Value, tc.val)
		}
	}
	// A source never seen, with nothing folded, has no events: below
	// minEventsToEvaluate it has no data, with 0 it counts 0.
	never := ticks(point{sec: 0}, point{sec: 60, events: 5})
	r := evaluate(mustConfig(t, `{"metricType":"TOTAL_EVENTS","condition":"EQUALS","thresholdValue":0,"timeWindowMinutes":1,"sourceFilter":["db"]}`), never)
	if r[1].Outcome != NoData || !strings.Contains(r[1].Message, "minEventsToEvaluate") {
		t.Errorf("unseen source: %v (%s), want no data for too few events", r[1].Outcome, r[1].Message)
	}
	r = evaluate(mustConfig(t, `{"metricType":"TOTAL_EVENTS","condition":"EQUALS","thresholdValue":0,"timeWindowMinutes":1,"sourceFilter":["db"],"minEventsToEvaluate":0}`), never)
	if r[1].Outcome != Holds {
		t.Errorf("unseen source, minEventsToEvaluate 0: %v (%s), want holds", r[1].Outcome, r[1].Message)
	}
}

func TestRateOfChange(t *testing.T) {
	t.Parallel()
	// Events per minute: 10, then 30 (+200%), then 30 (0%), then 0 (-100%).
	ts := ticks(point{sec: 0}, point{sec: 60, events: 10}, point{sec: 120, events: 40}, point{sec: 180, events: 70}, point{sec: 240, events: 70})
	for _, tc := range []struct {
		js   string
		want []Outcome
		vals []float64
	}{
		// Unfiltered over a window the snapshot carries: read directly.
		{`{"metricType":"SPIKE_DETECTION","condition":"GREATER_THAN","thresholdValue":100,"timeWindowMinutes":1,"minEventsToEvaluate":0}`,
			[]Outcome{NoData, Holds, Holds, Clear, Clear}, []float64{0, FromZeroChange, 200, 0, -100}},
		// Over 2 minutes, differenced: [0,120]=40 vs nothing before; [60,180]... needs 4 minutes of history.
		{`{"metricType":"THROUGHPUT_CHANGE","condition":"LESS_THAN","thresholdValue":0,"timeWindowMinutes":2,"minEventsToEvaluate":0}`,
			[]Outcome{NoData, NoData, NoData, NoData, Holds}, []float64{0, 0, 0, 0, (30.0 - 40) / 40 * 100}},
	} {
		res := evaluate(mustConfig(t, tc.js), ts)
		for i, r := range res {
			if r.Outcome != tc.want[i] || !near(r.Value, tc.vals[i]) {
				t.Errorf("%s tick %d: %v %v (%s), want %v %v", tc.js, i, r.Outcome, r.Value, r.Message, tc.want[i], tc.vals[i])
			}
		}
	}

	// ERROR_RATE_CHANGE: 10% then 25%: +150%.
	res := evaluate(mustConfig(t, `{"metricType":"ERROR_RATE_CHANGE","condition":"GREATER_THAN_OR_EQUAL","thresholdValue":150,"timeWindowMinutes":1}`),
		ticks(point{sec: 0}, point{sec: 60, events: 100, errors: 10}, point{sec: 120, events: 200, errors: 35}))
	if r := res[2]; r.Outcome != Holds || !near(r.Value, 150) {
		t.Errorf("ERROR_RATE_CHANGE: %v %v (%s), want holds 150", r.Outcome, r.Value, r.Message)
	}

	// LATENCY_CHANGE reads the window's p95 from the views: 200 → 150 ms.
	p95 := func(v float64) func(*Tick) {
		return func(t *Tick) {
			for i := range t.Windows {
				if t.Windows[i].Size == 5*time.Minute {
					t.Windows[i].HasLatency, t.Windows[i].LatencyCount, t.Windows[i].P95 = true, 50, v
				}
			}
		}
	}
	res = evaluate(mustConfig(t, `{"metricType":"LATENCY_CHANGE","condition":"LESS_THAN","thresholdValue":-20}`),
		ticks(point{sec: 0, set: p95(200)}, point{sec: 150, set: p95(180)}, point{sec: 300, set: p95(150)}, point{sec: 450}))
	want := []Outcome{NoData, NoData, Holds, NoData} // the last tick has no views
	for i, r := range res {
		if r.Outcome != want[i] {
			t.Errorf("LATENCY_CHANGE tick %d: %v (%s), want %v", i, r.Outcome, r.Message, want[i])
		}
	}
	if !near(res[2].Value, -25) {
		t.Errorf("LATENCY_CHANGE = %v, want -25", res[2].Value)
	}
}

func TestRatio(t *testing.T) {
	t.Parallel()
	cfg := mustConfig(t, `{"metricType":"EVENT_RATIO","numeratorEventType":"checkout_failed","denominatorEventType":"checkout",
		"condition":"GREATER_THAN","thresholdValue":0.1,"timeWindowMinutes":1,"minDenominatorEvents":20}`)
	ts := ticks(
		point{sec: 0, types: map[string]uint64{"checkout": 0}},
		point{sec: 60, types: map[string]uint64{"checkout": 10, "checkout_failed": 5}},   // 10 < 20: too few
		point{sec: 120, types: map[string]uint64{"checkout": 50, "checkout_failed": 9}},  // 4/40
		point{sec: 180, types: map[string]uint64{"checkout": 90, "checkout_failed": 15}}, // 6/40
		point{sec: 240, set: func(t *Tick) { t.Types["(other)"] = KeyFigures{Events: 1}; t.TypesFolded = true }},
	)
	want := []struct {
		o Outcome
		v float64
	}{{NoData, 0}, {NoData, 0}, {Clear, 0.1}, {Holds, 0.15}, {NoData, 0}}
	for i, r := range evaluate(cfg, ts) {
		if r.Outcome != want[i].o || !near(r.Value, want[i].v) {
			t.Errorf("tick %d: %v %v (%s), want %v %v", i, r.Outcome, r.Value, r.Message, want[i].o, want[i].v)
		}
	}
	if r := evaluate(cfg, ts)[1]; !strings.Contains(r.Message, "minDenominatorEvents") {
		t.Errorf("too few denominator events: message %q does not say why", r.Message)
	}
}

func TestComposite(t *testing.T) {
	t.Parallel()
	// ERROR_RATE over 1 minute has no data at the first tick; UNIQUE_USERS
	// (since reset) always has.
	ts := ticks(
		point{sec: 0, set: func(t *Tick) { t.UniqueUsers = 10 }},
		point{sec: 60, events: 100, errors: 50, set: func(t *Tick) { t.UniqueUsers = 10 }},
		point{sec: 120, events: 200, errors: 50, set: func(t *Tick) { t.UniqueUsers = 10 }},
		point{sec: 180, events: 300, errors: 50, set: func(t *Tick) { t.UniqueUsers = 3 }},
	)
	conds := `[{"metricType":"ERROR_RATE","condition":"GREATER_THAN","value":20},{"metricType":"UNIQUE_USERS","condition":"GREATER_THAN","value":5}]`
	for _, tc := range []struct {
		op   string
		want []Outcome
	}{
		// unknown AND true = unknown; true AND true; false AND true; false AND false.
		{"AND", []Outcome{NoData, Holds, Clear, Clear}},
		// unknown OR true = true; true OR true; false OR true; false OR false.
		{"OR", []Outcome{Holds, Holds, Holds, Clear}},
	} {
		cfg := mustConfig(t, `{"operator":"`+tc.op+`","timeWindowMinutes":1,"conditions":`+conds+`}`)
		for i, r := range evaluate(cfg, ts) {
			if r.Outcome != tc.want[i] {
				t.Errorf("%s tick %d: %v (%s), want %v", tc.op, i, r.Outcome, r.Message, tc.want[i])
			}
		}
	}
	// OR reports the first condition that holds; AND the first.
	or := evaluate(mustConfig(t, `{"operator":"OR","timeWindowMinutes":1,"conditions":`+conds+`}`), ts)
	if r := or[2]; r.Value != 10 || r.Threshold != 5 || !strings.HasPrefix(r.Message, "OR: ERROR_RATE over 1m") {
		t.Errorf("OR reports %v > %v (%s), want UNIQUE_USERS 10 > 5", r.Value, r.Threshold, r.Message)
	}
	// One condition unknown and none false keeps AND unknown even when the
	// unknown one is not first.
	cfg := mustConfig(t, `{"timeWindowMinutes":1,"conditions":[{"metricType":"UNIQUE_USERS","condition":"GREATER_THAN","value":5},{"metricType":"TOTAL_ERRORS","condition":"GREATER_THAN","value":0}]}`)
	if r := evaluate(cfg, ts)[0]; r.Outcome != NoData {
		t.Errorf("default AND with an unknown: %v, want no data", r.Outcome)
	}
}

func TestAbsence(t *testing.T) {
	t.Parallel()
	hb := func(n uint64) map[string]uint64 { return map[string]uint64{"heartbeat": n} }
	cfg := mustConfig(t, `{"metricType":"NO_EVENTS","eventTypeFilter":["heartbeat"],"timeWindowMinutes":2}`)
	ts := ticks(
		point{sec: 0, types: hb(1)},
		point{sec: 60, types: hb(2)},
		point{sec: 120, types: hb(3)}, // 2 in the last 2 minutes
		point{sec: 180, types: hb(3)}, // 1
		point{sec: 240, types: hb(3)}, // none since 120: absent
		point{sec: 300, types: hb(4)}, // back
	)
	want := []Outcome{NoData, NoData, Clear, Clear, Holds, Clear}
	for i, r := range evaluate(cfg, ts) {
		if r.Outcome != want[i] {
			t.Errorf("tick %d: %v (%s), want %v", i, r.Outcome, r.Message, want[i])
		}
	}
	// A type never seen is absent once the window is observed.
	never := evaluate(mustConfig(t, `{"metricType":"NO_EVENTS","eventTypeFilter":["cron"],"timeWindowMinutes":1}`), ticks(point{sec: 0}, point{sec: 30}, point{sec: 60}))
	if never[1].Outcome != NoData || never[2].Outcome != Holds {
		t.Errorf("never seen: %v, %v; want no data, then holds", never[1].Outcome, never[2].Outcome)
	}
	// Unfiltered over a window the snapshot carries: known at once.
	all := evaluate(mustConfig(t, `{"metricType":"NO_EVENTS","timeWindowMinutes":5}`), ticks(point{sec: 0}, point{sec: 10, events: 1}))
	if all[0].Outcome != Holds || all[1].Outcome != Clear {
		t.Errorf("unfiltered: %v, %v; want holds, then clear", all[0].Outcome, all[1].Outcome)
	}
}

// Gauges without data: no latency recorded, no p95 views.
func TestGaugeNoData(t *testing.T) {
	t.Parallel()
	for _, js := range []string{
		`{"metricType":"P99_LATENCY","condition":"GREATER_THAN","thresholdValue":1}`,
		`{"metricType":"P95_LATENCY","condition":"GREATER_THAN","thresholdValue":1,"timeWindowMinutes":5}`,
		`{"metricType":"AVG_LATENCY","condition":"GREATER_THAN","thresholdValue":1,"eventTypeFilter":["x"]}`,
	} {
		if r := evaluate(mustConfig(t, js), ticks(point{sec: 0, events: 3}))[0]; r.Outcome != NoData {
			t.Errorf("%s: %v (%s), want no data", js, r.Outcome, r.Message)
		}
	}
}

// A long window's history is sampled coarser but stays bounded and answers.
func TestLongWindowHistory(t *testing.T) {
	t.Parallel()
	cfg := mustConfig(t, `{"metricType":"ERROR_RATE_CHANGE","condition":"GREATER_THAN","thresholdValue":50,"timeWindowMinutes":1440}`)
	e := NewEvaluator(cfg)
	var r Result
	// One tick a second for two days is 172,800 ticks; every 30 s is enough here.
	for sec := 0; sec <= 2*86400; sec += 30 {
		day2 := sec > 86400
		errs := uint64(sec / 30) // one error per tick
		if day2 {
			errs += uint64((sec - 86400) / 30) // twice as many on day 2
		}
		r = e.Evaluate(&Tick{At: at(sec), Events: uint64(sec / 3), Errors: errs})
	}
	if r.Outcome != Holds || r.Value < 90 || r.Value > 110 {
		t.Errorf("2-day change: %v %v (%s), want ≈ +100%%", r.Outcome, r.Value, r.Message)
	}
	if n := len(e.terms[0].s.hist.buf); n > maxSamples+3 {
		t.Errorf("history holds %d samples, want at most %d", n, maxSamples+3)
	}
}
