package rules

import (
	"time"

	"github.com/eventara/eventara/snapshots"
)

// Tick is what a rule reads from one per-second snapshot: plain figures, so
// tests can build ticks from tables and the actor builds one per snapshot
// with FromSnapshot and shares it (read-only) with every rule.
//
// Counts are cumulative since the first start or the last metrics reset;
// a rule turns them into counts over any window by keeping its own history
// of past ticks (see Evaluator). Window counts are read directly when the
// snapshot carries that window.
type Tick struct {
	// At is the tick's time (the snapshot's build time).
	At time.Time

	// Events and Errors are cumulative (errors: severity ERROR or CRITICAL).
	Events, Errors uint64
	// Types and Sources are cumulative per event type and per source. When
	// some keys are folded into "(other)" (TypesFolded, SourcesFolded), a
	// key missing here is unknown; otherwise it has no events.
	Types, Sources             map[string]KeyFigures
	TypesFolded, SourcesFolded bool

	// Latency is since reset (the snapshot's latencyMetrics).
	Latency Latency
	// Unique counts since reset (users may be estimated).
	UniqueSources, UniqueEventTypes, UniqueUsers uint64
	// Active users over the last hour and day (estimates).
	ActiveUsersLast1Hour, ActiveUsersLast24Hours uint64
	// PeakPerSecond is the highest one-second event count since reset.
	PeakPerSecond float64

	// Windows are the sliding windows the snapshot carries.
	Windows []WindowFigures
}

// KeyFigures are one event type's or source's cumulative figures.
type KeyFigures struct {
	Events, Errors uint64
	// AvgLatency is the average of its latencies (ms); 0 when none.
	AvgLatency float64
}

// Latency is latency since reset, in ms. Recorded is false when no latency
// has been recorded (then every figure is unknown, not 0).
type Latency struct {
	Recorded                     bool
	Avg, P50, P95, P99, Min, Max float64
}

// WindowFigures are one sliding window's figures.
type WindowFigures struct {
	Size   time.Duration
	Events uint64
	// HasLatency is set for windows that track latency (up to 15 minutes,
	// when the window views were given); LatencyCount latencies were
	// recorded in it, and P95 is their 95th percentile.
	HasLatency   bool
	LatencyCount uint64
	P95          float64
}

// window returns the figures of the window of exactly size d.
func (t *Tick) window(d time.Duration) (WindowFigures, bool) {
	for _, w := range t.Windows {
		if w.Size == d {
			return w, true
		}
	}
	return WindowFigures{}, false
}

// cumulative returns the events and errors since reset summed over the
// sources or types given (all events when both are empty); ok is false when
// a key is unknown (folded into "(other)").
func (t *Tick) cumulative(sources, types []string) (events, errors float64, ok bool) {
	switch {
	case len(sources) > 0:
		return sumKeys(t.Sources, t.SourcesFolded, sources)
	case len(types) > 0:
		return sumKeys(t.Types, t.TypesFolded, types)
	}
	return float64(t.Events), float64(t.Errors), true
}

func sumKeys(m map[string]KeyFigures, folded bool, keys []string) (events, errors float64, ok bool) {
	for _, k := range keys {
		f, found := m[k]
		if !found && folded {
			return 0, 0, false
		}
		events += float64(f.Events)
		errors += float64(f.Errors)
	}
	return events, errors, true
}

// keyAvgLatency returns one source's or type's average latency.
func (t *Tick) keyAvgLatency(sources, types []string) (float64, bool) {
	var f KeyFigures
	var found bool
	if len(sources) == 1 {
		f, found = t.Sources[sources[0]]
	} else if len(types) == 1 {
		f, found = t.Types[types[0]]
	}
	if !found || f.AvgLatency <= 0 {
		return 0, false
	}
	return f.AvgLatency, true
}

// latencyWindowMax is the largest window whose view tracks errors and
// latency (snapshots.WindowView: windows of up to 15 minutes).
const latencyWindowMax = 15 * time.Minute

// FromSnapshot builds the tick of one snapshot. views are the window views
// the snapshot was built from (the aggregator has them at the tick); they
// add the per-window p95 latency that P95_LATENCY over 1, 5 or 15 minutes
// and LATENCY_CHANGE read. Without them those rules have no data; every
// other figure comes from the snapshot. s must not be nil; the tick shares
// no memory with s.
func FromSnapshot(s *snapshots.Snapshot, views []snapshots.WindowView) *Tick {
	m := &s.Metrics
	t := &Tick{
		At:                     s.BuiltAt,
		Events:                 m.Summary.TotalEvents,
		Errors:                 m.ErrorMetrics.TotalErrors,
		Types:                  make(map[string]KeyFigures, len(m.EventsByType)),
		Sources:                make(map[string]KeyFigures, len(m.EventsBySource)),
		UniqueSources:          m.Summary.UniqueSources,
		UniqueEventTypes:       m.Summary.UniqueEventTypes,
		UniqueUsers:            m.Summary.UniqueUsers,
		ActiveUsersLast1Hour:   m.UserMetrics.ActiveUsersLast1Hour,
		ActiveUsersLast24Hours: m.UserMetrics.ActiveUsersLast24Hours,
		PeakPerSecond:          m.Throughput.Peak.Value,
	}
	for k, v := range m.EventsByType {
		t.Types[k] = KeyFigures{Events: v.Count, Errors: v.ErrorCount, AvgLatency: v.AvgLatency}
	}
	for k, v := range m.EventsBySource {
		t.Sources[k] = KeyFigures{Events: v.Count, Errors: v.ErrorCount, AvgLatency: v.AvgLatency}
	}
	_, t.TypesFolded = m.EventsByType[snapshots.OtherKey]
	_, t.SourcesFolded = m.EventsBySource[snapshots.OtherKey]
	if l := m.LatencyMetrics; l.MaxLatency > 0 {
		t.Latency = Latency{Recorded: true, Avg: l.AvgLatency, P50: l.P50, P95: l.P95, P99: l.P99, Min: l.MinLatency, Max: l.MaxLatency}
	}
	tw := m.TimeWindows
	t.Windows = []WindowFigures{
		{Size: time.Minute, Events: tw.Last1Minute},
		{Size: 5 * time.Minute, Events: tw.Last5Minutes},
		{Size: 15 * time.Minute, Events: tw.Last15Minutes},
		{Size: time.Hour, Events: tw.Last1Hour},
		{Size: 24 * time.Hour, Events: tw.Last24Hours},
	}
	for _, v := range views {
		if v.Size > latencyWindowMax {
			continue
		}
		for i := range t.Windows {
			if w := &t.Windows[i]; w.Size == v.Size {
				w.HasLatency, w.LatencyCount, w.P95 = true, v.LatencyCount, v.LatencyP95
			}
		}
	}
	return t
}
