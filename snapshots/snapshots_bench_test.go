package snapshots

import (
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/eventara/eventara/protocol/event"
)

// benchEvents returns n events over 1,000 types, 1,000 sources and 100,000
// users, all severities, latencies 1..5000 ms, 1,000 per second from t0.
func benchEvents(n int) []event.Event {
	evs := make([]event.Event, n)
	for i := range evs {
		e := ev(at(i/1000), "type-"+strconv.Itoa(i%1000), "source-"+strconv.Itoa((i*7)%1000),
			"user-"+strconv.Itoa((i*13)%100_000), event.Severity(1+i%5), float64(1+i%5000))
		evs[i] = *e
	}
	return evs
}

func BenchmarkTotalsApply(b *testing.B) {
	evs := benchEvents(200_000)
	t := NewTotals(Config{})
	for i := range evs {
		t.Apply(&evs[i]) // warm: every key known, as in steady state
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		t.Apply(&evs[i%len(evs)])
	}
}

func BenchmarkWindowApply(b *testing.B) {
	for _, spec := range []WindowSpec{{Last5Minutes, 5 * time.Minute}, {Last24Hours, 24 * time.Hour}} {
		b.Run(spec.Name, func(b *testing.B) {
			evs := benchEvents(200_000)
			w := NewWindow(spec)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				w.Apply(&evs[i%len(evs)])
			}
		})
	}
}

// BenchmarkBuild is one tick: the five views and the snapshot build+encode,
// with 1,000 types, 1,000 sources and 100,000 users. It reports the p99 of
// the per-tick time (wall, and CPU of the building thread, which excludes
// time lost to other processes on a busy machine) and the JSON size.
func BenchmarkBuild(b *testing.B) {
	g := newEngine(Config{})
	evs := benchEvents(300_000)
	for i := range evs {
		g.apply(&evs[i])
	}
	now := evs[len(evs)-1].ReceivedAt
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var size int
	var wall, cpu []time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		start, startCPU := time.Now(), threadCPU()
		s := g.build(now)
		wall = append(wall, time.Since(start))
		cpu = append(cpu, threadCPU()-startCPU)
		size = len(s.JSON)
	}
	b.StopTimer()
	slices.Sort(wall)
	slices.Sort(cpu)
	b.ReportMetric(float64(wall[len(wall)*99/100].Microseconds()), "p99-µs")
	b.ReportMetric(float64(cpu[len(cpu)/2].Microseconds()), "p50-cpu-µs")
	b.ReportMetric(float64(cpu[len(cpu)*99/100].Microseconds()), "p99-cpu-µs")
	b.ReportMetric(float64(size), "json-bytes")
}

// BenchmarkWindowAdvance is the 24 h window moving one second, with 1,000
// events (and users) in each second.
func BenchmarkWindowAdvance(b *testing.B) {
	w := NewWindow(WindowSpec{Last24Hours, 24 * time.Hour})
	e := ev(at(0), "t", "s", "", event.SeverityInfo, 3)
	for s := range 3600 {
		e.ReceivedAt = at(s)
		for u := range 1000 {
			e.UserID = "u" + strconv.Itoa(u+s)
			w.Apply(e)
		}
	}
	sec := 3600
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		w.Advance(at(sec))
		sec++
	}
}

// BenchmarkWindowView is one tick's view of the 15-minute window (the
// largest with a latency histogram), 100 events in each second. With one
// latency value the p95 falls in the highest bin, the case that combines
// the per-second exact min and max (window_latency.go).
func BenchmarkWindowView(b *testing.B) {
	for _, tc := range []struct {
		name string
		lat  func(i int) float64
	}{
		{"spread", func(i int) float64 { return float64(1 + i%5000) }},
		{"one value", func(int) float64 { return 250 }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			w := NewWindow(WindowSpec{Last15Minutes, 15 * time.Minute})
			e := ev(at(0), "t", "s", "", event.SeverityInfo, 0)
			for i := range 900 * 100 {
				e.ReceivedAt, e.MetaLatency, e.HasMetaLatency = at(i/100), tc.lat(i), true
				w.Apply(e)
			}
			now := at(899)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				_ = w.View(now)
			}
		})
	}
}
