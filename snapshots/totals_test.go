package snapshots

import (
	"strconv"
	"testing"

	"github.com/eventara/eventara/protocol/event"
)

func TestTotalsCounts(t *testing.T) {
	t.Parallel()
	tt := NewTotals(Config{})
	// 10 events: 2 ERROR, 1 CRITICAL, 1 WARNING, 1 DEBUG, 5 INFO (one with
	// the zero severity, which means INFO); latencies 10..90 on nine of them.
	sevs := []event.Severity{
		event.SeverityError, event.SeverityError, event.SeverityCritical, event.SeverityWarning,
		event.SeverityDebug, event.SeverityInfo, event.SeverityInfo, event.SeverityInfo, event.SeverityInfo, 0,
	}
	for i, sev := range sevs {
		typ, src := "click", "web"
		if i%2 == 1 {
			typ, src = "view", "api"
		}
		lat := float64(10 * (i + 1))
		if i == 9 {
			lat = 0
		}
		tt.Apply(ev(at(i/4), typ, src, "u"+strconv.Itoa(i%3), sev, lat))
	}
	equal(t, "total", tt.total, 10)
	equal(t, "errors", tt.errors, 3)
	equal(t, "ERROR", tt.bySeverity[event.SeverityError], 2)
	equal(t, "INFO", tt.bySeverity[event.SeverityInfo], 5)
	equal(t, "DEBUG", tt.bySeverity[event.SeverityDebug], 1)
	equal(t, "latency count", tt.lat.count, 9)
	equal(t, "latency sum", tt.lat.sum, 450)
	equal(t, "min", tt.lat.min, 10)
	equal(t, "max", tt.lat.max, 90)
	equal(t, "click", *tt.types.get("click"), keyStats{count: 5, errors: 2, latSum: 10 + 30 + 50 + 70 + 90, latCount: 5})
	equal(t, "api", *tt.sources.get("api"), keyStats{count: 5, errors: 1, latSum: 20 + 40 + 60 + 80, latCount: 4})
	equal(t, "unique users", tt.uniqueUsers(), 3)
	equal(t, "unique types", tt.types.distinct(), 2)
	// Seconds 0, 0, 0, 0, 1, 1, 1, 1, 2, 2: the first second with 4 wins.
	equal(t, "peak", tt.peak, 4)
	equal(t, "peak second", tt.peakSec, at(0).Unix())
	equal(t, "top user", tt.top.list[0], userCount{"u0", 4})
}

func TestTotalsLatencyPercentiles(t *testing.T) {
	t.Parallel()
	tt := NewTotals(Config{})
	for i := 1; i <= 1000; i++ {
		tt.Apply(ev(at(0), "t", "s", "", event.SeverityInfo, float64(i)))
	}
	tt.Apply(ev(at(0), "t", "s", "", event.SeverityInfo, -5)) // not counted
	l := latencyMetrics(tt)
	equal(t, "avg", l.AvgLatency, 500.5)
	within(t, "p50", l.P50, 500, 0.01)
	within(t, "p95", l.P95, 950, 0.01)
	within(t, "p99", l.P99, 990, 0.01)
	equal(t, "min", l.MinLatency, 1)
	equal(t, "max", l.MaxLatency, 1000)
}

func TestTopUsersExact(t *testing.T) {
	t.Parallel()
	tt := NewTotals(Config{})
	// User k sends k events, interleaved so the order changes as they grow.
	for round := 1; round <= 30; round++ {
		for k := round; k <= 30; k++ {
			tt.Apply(ev(at(round), "t", "s", "user"+strconv.Itoa(k), event.SeverityInfo, 0))
		}
	}
	equal(t, "len", len(tt.top.list), topListSize)
	for i, u := range tt.top.list {
		equal(t, "top["+strconv.Itoa(i)+"]", u, userCount{"user" + strconv.Itoa(30-i), uint64(30 - i)})
	}
}

func TestFoldingAndBoundedMemory(t *testing.T) {
	t.Parallel()
	const n = 1_000_000
	cfg := Config{MaxKeys: 1000, MaxUsers: 5000}
	if testing.Short() {
		cfg = Config{MaxKeys: 100, MaxUsers: 500}
	}
	tt := NewTotals(cfg)
	e := ev(at(0), "", "", "", event.SeverityError, 5)
	for i := range n {
		k := strconv.Itoa(i)
		e.Type, e.Source, e.UserID = "type-"+k, "src-"+k, "user-"+k
		tt.Apply(e)
	}
	equal(t, "types tracked", len(tt.types.idx), cfg.MaxKeys)
	equal(t, "sources tracked", len(tt.sources.idx), cfg.MaxKeys)
	equal(t, "users tracked", len(tt.users), cfg.MaxUsers)
	equal(t, "types other", tt.types.other.count, uint64(n-cfg.MaxKeys))
	within(t, "unique types", float64(tt.types.distinct()), n, 0.02)
	within(t, "unique sources", float64(tt.sources.distinct()), n, 0.02)
	within(t, "unique users", float64(tt.uniqueUsers()), n, 0.02)

	s := Build(at(1), tt, nil)
	equal(t, "eventsByType entries", len(s.Metrics.EventsByType), snapshotMaxKeys+1)
	equal(t, "eventsBySource entries", len(s.Metrics.EventsBySource), snapshotMaxKeys+1)
	other := s.Metrics.EventsByType[OtherKey]
	equal(t, "(other) count", other.Count, uint64(n-snapshotMaxKeys))
	equal(t, "(other) errors", other.ErrorCount, uint64(n-snapshotMaxKeys))
	equal(t, "(other) avgLatency", other.AvgLatency, 5)
	equal(t, "(other) source health", s.Metrics.EventsBySource[OtherKey].Health, HealthDown)
	if len(s.JSON) > 64<<10 {
		t.Errorf("snapshot is %d bytes", len(s.JSON))
	}
}

func TestTotalsReset(t *testing.T) {
	t.Parallel()
	tt := NewTotals(Config{})
	empty := Build(at(0), tt, nil)
	for i := range 100 {
		tt.Apply(ev(at(i), "t"+strconv.Itoa(i%7), "s", "u"+strconv.Itoa(i), event.SeverityCritical, 12))
	}
	tt.ApplyRecord(&event.Record{Kind: event.KindReset})
	equal(t, "after reset", string(Build(at(0), tt, nil).JSON), string(empty.JSON))
	tt.ApplyRecord(&event.Record{Kind: event.KindEvent, Event: *ev(at(5), "a", "b", "c", event.SeverityInfo, 0)})
	equal(t, "total after reset", tt.Events(), 1)
	equal(t, "peak after reset", tt.peak, 1)
}

func TestTotalsCheckpoint(t *testing.T) {
	t.Parallel()
	cfg := Config{MaxKeys: 50, MaxUsers: 300}
	a := NewTotals(cfg)
	feed := func(tt *Totals, from, to int) {
		for i := from; i < to; i++ {
			tt.Apply(ev(at(i/10), "t"+strconv.Itoa(i%80), "s"+strconv.Itoa(i%60), "u"+strconv.Itoa(i%400),
				event.Severity(1+i%5), float64(i%97)))
		}
	}
	feed(a, 0, 5000)
	b1, err := a.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	b := NewTotals(cfg)
	if err := b.UnmarshalBinary(b1); err != nil {
		t.Fatal(err)
	}
	equal(t, "snapshot after restore", string(Build(at(600), b, nil).JSON), string(Build(at(600), a, nil).JSON))
	feed(a, 5000, 9000)
	feed(b, 5000, 9000)
	equal(t, "snapshot after more events", string(Build(at(900), b, nil).JSON), string(Build(at(900), a, nil).JSON))
	b2, _ := b.MarshalBinary()
	var c Totals
	if err := c.UnmarshalBinary(b2); err != nil {
		t.Fatal(err)
	}
	equal(t, "zero Totals restore", string(Build(at(900), &c, nil).JSON), string(Build(at(900), a, nil).JSON))

	for _, cut := range []int{0, 1, 2, len(b1) / 2, len(b1) - 1} {
		if err := b.UnmarshalBinary(b1[:cut]); err == nil {
			t.Errorf("truncated at %d: no error", cut)
		}
	}
	bad := append([]byte{totalsMagic}, 99)
	if err := b.UnmarshalBinary(bad); err == nil {
		t.Errorf("version 99: no error")
	}
	equal(t, "unchanged after errors", string(Build(at(900), b, nil).JSON), string(Build(at(900), a, nil).JSON))
}

func TestZeroTotals(t *testing.T) {
	t.Parallel()
	var z Totals
	equal(t, "empty", string(Build(at(0), &z, nil).JSON), string(Build(at(0), nil, nil).JSON))
	z.Reset()
	z.Apply(ev(at(0), "a", "b", "c", event.SeverityInfo, 1))
	equal(t, "total", Build(at(0), &z, nil).Metrics.Summary.TotalEvents, 1)
	equal(t, "config", z.Config(), Config{MaxKeys: DefaultMaxKeys, MaxUsers: DefaultMaxUsers})
}
