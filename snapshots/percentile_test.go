package snapshots

import (
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/eventara/eventara/protocol/event"
)

func TestNearestRank(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		q    float64
		n    uint64
		want uint64
	}{
		{0.5, 1, 1}, {0.99, 1, 1},
		{0.5, 2, 1}, {0.95, 2, 2},
		{0.5, 20, 10}, {0.95, 20, 19}, {0.99, 20, 20},
		{0.5, 100, 50}, {0.95, 100, 95}, {0.99, 100, 99},
		{0.5, 101, 51}, {0.99, 101, 100},
		{0.07, 100, 7},  // 0.07·100 is 7.000000000000001 in float64
		{0.29, 100, 29}, // 28.999999999999996
		{0.001, 999, 1}, // 0.999: the smallest value
		{0, 5, 1},       // p0 is the min
		{1, 5, 5},       // p100 the max
		{0.999, 1e6, 999_000},
	} {
		t.Run(strconv.FormatFloat(tc.q, 'g', -1, 64)+"/"+strconv.FormatUint(tc.n, 10), func(t *testing.T) {
			t.Parallel()
			equal(t, "rank", nearestRank(tc.q, tc.n), tc.want)
		})
	}
}

// exactNearestRank is the definition: the value at 1-based rank ceil(q·n)
// of the sorted values, computed exactly in integers for q = p/1000.
func exactNearestRank(sorted []float64, perMille int) float64 {
	n := len(sorted)
	k := max((perMille*n+999)/1000, 1)
	return sorted[k-1]
}

// seq returns from, from+step, … (n values).
func seq(from, step float64, n int) []float64 {
	vs := make([]float64, n)
	for i := range vs {
		vs[i] = from + step*float64(i)
	}
	return vs
}

// percentileCases are the small-n examples of issue 10 and metrics.md.
// rel is the tolerance of p50, p95, p99: 0 where the rank is the first or
// last (answered from the exact min and max), 1% (the sketch's relative
// accuracy) elsewhere.
var percentileCases = []struct {
	name   string
	values []float64
	want   [3]float64 // p50, p95, p99
	rel    [3]float64
}{
	{"n=1", []float64{42.5}, [3]float64{42.5, 42.5, 42.5}, [3]float64{}},
	{"n=2", []float64{20, 10}, [3]float64{10, 20, 20}, [3]float64{}},
	{"n=20 of 10..200", seq(10, 10, 20), [3]float64{100, 190, 200}, [3]float64{0.01, 0.01, 0}},
	{"n=100 of 1..100", seq(1, 1, 100), [3]float64{50, 95, 99}, [3]float64{0.01, 0.01, 0.01}},
	{"n=4 of 20, 100, 300, 6000", []float64{300, 20, 6000, 100}, [3]float64{100, 6000, 6000}, [3]float64{0.01, 0, 0}},
	{"outside the window range", []float64{1e-4, 2e9}, [3]float64{1e-4, 2e9, 2e9}, [3]float64{}},
}

func TestTotalsPercentilesSmallN(t *testing.T) {
	t.Parallel()
	for _, tc := range percentileCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tt := NewTotals(Config{})
			for i, v := range tc.values {
				tt.Apply(ev(at(i), "t", "s", "", event.SeverityInfo, v))
			}
			for i, q := range [...]float64{0.5, 0.95, 0.99} {
				within(t, "p"+strconv.Itoa(int(q*100)), tt.lat.quantile(q), tc.want[i], tc.rel[i])
			}
			// What a user reads: the same, rounded to 2 decimals, in both
			// latencyMetrics and performance.
			m := Build(at(len(tc.values)), tt, nil).Metrics
			equal(t, "latencyMetrics.p50", m.LatencyMetrics.P50, round2(tt.lat.quantile(0.5)))
			equal(t, "latencyMetrics.p95", m.LatencyMetrics.P95, round2(tt.lat.quantile(0.95)))
			equal(t, "latencyMetrics.p99", m.LatencyMetrics.P99, round2(tt.lat.quantile(0.99)))
			equal(t, "performance", m.Performance, m.LatencyMetrics)
		})
	}
}

func TestWindowPercentilesSmallN(t *testing.T) {
	t.Parallel()
	for _, tc := range percentileCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := NewWindow(WindowSpec{Last5Minutes, 5 * time.Minute})
			// Spread over seconds so the exact min and max are combined
			// across seconds.
			for i, v := range tc.values {
				w.Apply(ev(at(i%7), "t", "s", "", event.SeverityInfo, v))
			}
			for i, q := range [...]float64{0.5, 0.95, 0.99} {
				within(t, "p"+strconv.Itoa(int(q*100)), w.lat.quantile(q), tc.want[i], tc.rel[i])
			}
			within(t, "view p95", w.View(at(10)).LatencyP95, tc.want[1], tc.rel[1])
		})
	}
}

// TestHealthReadsNearestRankP95: of two latencies, 100 and 6000 ms, p95 is
// the second (rank ceil(0.95·2) = 2), so the system is critical; DDSketch's
// rank 0.95·(2−1) read the first and called it healthy.
func TestHealthReadsNearestRankP95(t *testing.T) {
	t.Parallel()
	g := newEngine(Config{})
	g.apply(ev(at(0), "t", "s", "", event.SeverityInfo, 100))
	g.apply(ev(at(1), "t", "s", "", event.SeverityInfo, 6000))
	m := g.build(at(2)).Metrics
	equal(t, "systemHealth", m.Summary.SystemHealth, HealthCritical)
	if len(m.Anomalies) != 1 {
		t.Fatalf("anomalies = %+v, want one high_latency", m.Anomalies)
	}
	equal(t, "anomaly", m.Anomalies[0].Type+"/"+m.Anomalies[0].Severity, AnomalyHighLatency+"/critical")
	equal(t, "anomaly value", m.Anomalies[0].CurrentValue, 6000)
	equal(t, "totals p95", m.LatencyMetrics.P95, 6000)
}

// largeLatencies returns n latencies (ms) from a fixed-seed log-normal
// distribution (median 100 ms, long tail) with a few outliers.
func largeLatencies(n int) []float64 {
	r := rand.New(rand.NewPCG(10, 4))
	vs := make([]float64, n)
	for i := range vs {
		vs[i] = 100 * math.Exp(1.2*r.NormFloat64())
	}
	vs[n/3] = 0.0005 // below the window histogram's range
	vs[n/2] = 3e9    // above it
	return vs
}

var largePerMille = []int{0, 1, 10, 250, 500, 900, 950, 990, 999, 1000}

func checkLarge(t *testing.T, name string, values []float64, quantile func(float64) float64) {
	t.Helper()
	sorted := slices.Sorted(slices.Values(values))
	for _, pm := range largePerMille {
		want := exactNearestRank(sorted, pm)
		rel := sketchAccuracy
		if pm == 1000 || pm*len(sorted) <= 1000 {
			rel = 0 // first or last rank: the exact min or max
		}
		within(t, name+" p"+strconv.FormatFloat(float64(pm)/10, 'f', -1, 64), quantile(float64(pm)/1000), want, rel)
	}
}

func TestPercentilesLargeN(t *testing.T) {
	t.Parallel()
	const n = 100_000
	values := largeLatencies(n)

	t.Run("totals", func(t *testing.T) {
		t.Parallel()
		tt := NewTotals(Config{})
		for i, v := range values {
			tt.Apply(ev(at(i/1000), "t", "s", "", event.SeverityInfo, v))
		}
		checkLarge(t, "totals", values, tt.lat.quantile)
	})

	t.Run("window", func(t *testing.T) {
		t.Parallel()
		w := NewWindow(WindowSpec{Last5Minutes, 5 * time.Minute})
		// Value i at second i%300: every second of the window holds some.
		for i, v := range values {
			w.Apply(ev(at(i%300), "t", "s", "", event.SeverityInfo, v))
		}
		w.Advance(at(299))
		checkLarge(t, "window", values, w.lat.quantile)
		within(t, "view p95", w.View(at(299)).LatencyP95, exactNearestRank(slices.Sorted(slices.Values(values)), 950), sketchAccuracy)

		// Slide seconds 0..149 out: of the outliers (at seconds n/3%300 = 33
		// and n/2%300 = 200) the low one leaves, the high one stays.
		w.Advance(at(449))
		var kept []float64
		for i, v := range values {
			if i%300 >= 150 {
				kept = append(kept, v)
			}
		}
		equal(t, "latency count", w.lat.n, uint64(len(kept)))
		checkLarge(t, "slid window", kept, w.lat.quantile)
	})
}

// TestPercentilesSurviveCheckpoint: a restored totals or window answers the
// same percentiles, exact ends included.
func TestPercentilesSurviveCheckpoint(t *testing.T) {
	t.Parallel()
	values := seq(10, 10, 20)
	tt := NewTotals(Config{})
	w := NewWindow(WindowSpec{Last5Minutes, 5 * time.Minute})
	for i, v := range values {
		e := ev(at(i%7), "t", "s", "", event.SeverityInfo, v)
		tt.Apply(e)
		w.Apply(e)
	}
	tb, err := tt.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	wb, err := w.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	tt2 := NewTotals(Config{})
	if err := tt2.UnmarshalBinary(tb); err != nil {
		t.Fatal(err)
	}
	w2 := NewWindow(w.Spec())
	if err := w2.UnmarshalBinary(wb); err != nil {
		t.Fatal(err)
	}
	for _, q := range []float64{0, 0.5, 0.95, 0.99, 1} {
		name := "p" + strconv.FormatFloat(q*100, 'f', -1, 64)
		equal(t, "totals "+name, tt2.lat.quantile(q), tt.lat.quantile(q))
		equal(t, "window "+name, w2.lat.quantile(q), w.lat.quantile(q))
	}
	equal(t, "totals p99", tt2.lat.quantile(0.99), 200)
	equal(t, "window p99", w2.lat.quantile(0.99), 200)
	equal(t, "window p0", w2.lat.quantile(0), 10)

	// A corrupt min or max (outside its second's bins) is refused.
	bad := slices.Clone(wb)
	i := len(bad) - 8                                   // the last second's max, as a float64
	copy(bad[i:], []byte{0, 0, 0, 0, 0, 0, 0xf8, 0x7f}) // NaN
	if err := NewWindow(w.Spec()).UnmarshalBinary(bad); err == nil {
		t.Errorf("NaN latency max accepted")
	}
}

// TestWindowCheckpointVersion1 reads a checkpoint written by the previous
// format (testdata/window-v1-last5Minutes.bin: latencies 10, 20, …, 200 at
// seconds i%7, every fifth an ERROR, advanced to second 10), which has no
// exact min and max: they read as the values of the extreme bins, within 1%.
func TestWindowCheckpointVersion1(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("testdata/window-v1-last5Minutes.bin")
	if err != nil {
		t.Fatal(err)
	}
	var w Window
	if err := w.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	v := w.View(at(10))
	equal(t, "events", v.Events, 20)
	equal(t, "errors", v.Errors, 4)
	equal(t, "latency count", v.LatencyCount, 20)
	within(t, "p95", v.LatencyP95, 190, sketchAccuracy)
	within(t, "p99", w.lat.quantile(0.99), 200, sketchAccuracy)
	within(t, "p0", w.lat.quantile(0), 10, sketchAccuracy)
	// New events in the restored seconds keep exact extremes.
	w.Apply(ev(at(10), "t", "s", "", event.SeverityInfo, 250))
	equal(t, "p100 after a new max", w.lat.quantile(1), 250)
}
