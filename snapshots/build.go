package snapshots

import (
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/eventara/eventara/protocol/event"
)

// TimeFormat is the snapshot's time format (always UTC).
const TimeFormat = "2006-01-02T15:04:05Z"

// Snapshot is one tick's metrics: the typed tree and its JSON, encoded once.
// It is immutable: share the pointer, never modify what it holds.
type Snapshot struct {
	BuiltAt time.Time
	Metrics Metrics
	JSON    []byte
}

var severityNames = [...]string{
	event.SeverityDebug:    "DEBUG",
	event.SeverityInfo:     "INFO",
	event.SeverityWarning:  "WARNING",
	event.SeverityError:    "ERROR",
	event.SeverityCritical: "CRITICAL",
}

var emptyTotals = NewTotals(Config{})

// Build makes the snapshot at now from the totals and the windows' views
// (matched by name: Last1Minute … Last24Hours; a missing view reads as
// empty). Its cost depends on the number of tracked keys (bounded by
// Config.MaxKeys), never on the number of events; it is cheap enough
// (see BenchmarkBuild) to rebuild every tick even when nothing changed.
// A nil t reads as empty.
func Build(now time.Time, t *Totals, views []WindowView) *Snapshot {
	if t == nil || t.usersSeen == nil {
		t = emptyTotals
	}
	now = now.UTC()
	var w struct{ m1, m5, m15, h1, h24 WindowView }
	for _, v := range views {
		switch v.Name {
		case Last1Minute:
			w.m1 = v
		case Last5Minutes:
			w.m5 = v
		case Last15Minutes:
			w.m15 = v
		case Last1Hour:
			w.h1 = v
		case Last24Hours:
			w.h24 = v
		}
	}
	nowStr := now.Format(TimeFormat)

	var m Metrics
	lat := latencyMetrics(t)
	errRate := percent(t.errors, t.total)
	perSecond := round2(float64(w.m1.Events) / 60)

	rate5 := percent(w.m5.Errors, w.m5.Events)
	p95 := w.m5.LatencyP95
	m.Summary = Summary{
		TotalEvents:      t.total,
		EventsPerSecond:  perSecond,
		AvgLatency:       lat.AvgLatency,
		ErrorRate:        errRate,
		UniqueSources:    t.sources.distinct(),
		UniqueEventTypes: t.types.distinct(),
		UniqueUsers:      t.uniqueUsers(),
		SystemHealth:     systemHealth(rate5, p95),
		LastUpdated:      nowStr,
	}

	m.Throughput.Current = ThroughputCurrent{
		PerSecond: perSecond,
		PerMinute: float64(w.m1.Events),
		PerHour:   float64(w.h1.Events),
		PerDay:    float64(w.h24.Events),
	}
	m.Throughput.Peak.Value = float64(t.peak)
	if t.peak > 0 {
		s := time.Unix(t.peakSec, 0).UTC().Format(TimeFormat)
		m.Throughput.Peak.Timestamp = &s
	}
	m.Throughput.Average = ThroughputAverage{
		Last1Hour:   round2(float64(w.h1.Events) / 3600),
		Last24Hours: round2(float64(w.h24.Events) / 86400),
	}
	m.TimeWindows = TimeWindows{w.m1.Events, w.m5.Events, w.m15.Events, w.h1.Events, w.h24.Events}

	types := rankKeys(&t.types, t, true)
	sources := rankKeys(&t.sources, t, false)

	m.EventsByType = make(map[string]TypeMetrics, len(types.top)+1)
	for _, k := range types.top {
		m.EventsByType[k.name] = typeMetrics(k.s, t.total)
	}
	if types.other.count > 0 {
		m.EventsByType[OtherKey] = typeMetrics(&types.other, t.total)
	}
	m.EventsBySource = make(map[string]SourceStats, len(sources.top)+1)
	for _, k := range sources.top {
		m.EventsBySource[k.name] = sourceStats(k.s)
	}
	if sources.other.count > 0 {
		m.EventsBySource[OtherKey] = sourceStats(&sources.other)
	}
	m.EventsBySeverity = make(map[string]uint64, len(severityNames))
	for sev, n := range t.bySeverity {
		if n > 0 && severityNames[sev] != "" {
			m.EventsBySeverity[severityNames[sev]] = n
		}
	}

	m.LatencyMetrics, m.Performance = lat, lat
	m.ErrorMetrics = ErrorMetrics{
		TotalErrors:    t.errors,
		ErrorRate:      errRate,
		ErrorsByType:   breakdown(types.byErrors, t.errors),
		ErrorsBySource: breakdown(sources.byErrors, t.errors),
	}
	m.ErrorAnalysis = m.ErrorMetrics

	m.TopUsers = make([]UserCount, len(t.top.list))
	for i, u := range t.top.list {
		m.TopUsers[i] = UserCount{UserID: u.id, EventCount: u.n}
	}
	m.UserMetrics = UserMetrics{
		TotalUniqueUsers:       m.Summary.UniqueUsers,
		ActiveUsersLast1Hour:   w.h1.ActiveUsers,
		ActiveUsersLast24Hours: w.h24.ActiveUsers,
		TopActiveUsers:         m.TopUsers,
	}

	m.TopEvents = TopEvents{
		MostFrequent: ranked(types.top[:min(len(types.top), topListSize)]),
		Fastest:      ranked(types.fastest),
		Slowest:      ranked(types.slowest),
	}
	m.Anomalies = anomalies(rate5, p95, w.m5.Minutes, nowStr)

	js, err := json.Marshal(&m)
	if err != nil {
		// Only finite numbers, strings and plain structs: cannot happen.
		panic(fmt.Sprintf("snapshots: encode metrics: %v", err))
	}
	return &Snapshot{BuiltAt: now, Metrics: m, JSON: js}
}

func latencyMetrics(t *Totals) Latency {
	l := &t.lat
	if l.count == 0 {
		return Latency{}
	}
	return Latency{
		AvgLatency: round2(l.sum / float64(l.count)),
		P50:        round2(l.quantile(0.50)),
		P95:        round2(l.quantile(0.95)),
		P99:        round2(l.quantile(0.99)),
		MinLatency: round2(l.min),
		MaxLatency: round2(l.max),
	}
}

// ranking is one tick's view of a keyTable.
type ranking struct {
	top      []rankItem // the snapshotMaxKeys largest, by count desc
	other    keyStats   // everything else, folded keys included
	byErrors []rankItem // top 10 by error count (errors > 0)
	fastest  []rankItem // 5 lowest average latency (types with latency)
	slowest  []rankItem // 5 highest
}

// rankKeys picks the top lists in one pass over the tracked keys. Ties are
// broken by name so the same state always gives the same snapshot. The
// "(other)" entry is the totals minus the top keys, so it is exact and
// independent of map order.
func rankKeys(kt *keyTable, t *Totals, withLatency bool) ranking {
	top := newTopN(snapshotMaxKeys)
	errs := newTopN(topListSize)
	fast, slow := newTopN(rankListSize), newTopN(rankListSize)
	for i := range kt.keys {
		k := &kt.keys[i]
		s := &k.keyStats
		top.offer(float64(s.count), k.name, s)
		if s.errors > 0 {
			errs.offer(float64(s.errors), k.name, s)
		}
		if withLatency && s.latCount > 0 {
			avg := s.avgLatency()
			fast.offer(-avg, k.name, s)
			slow.offer(avg, k.name, s)
		}
	}
	r := ranking{top: top.sorted(), byErrors: errs.sorted()}
	if withLatency {
		r.fastest, r.slowest = fast.sorted(), slow.sorted()
	}
	r.other = keyStats{count: t.total, errors: t.errors, latSum: t.lat.sum, latCount: t.lat.count}
	for _, k := range r.top {
		r.other.count -= k.s.count
		r.other.errors -= k.s.errors
		r.other.latSum -= k.s.latSum
		r.other.latCount -= k.s.latCount
	}
	if r.other.latCount == 0 || r.other.latSum < 0 {
		r.other.latSum = max(r.other.latSum, 0)
	}
	// A real key named like the fold joins it rather than being shadowed.
	for i, k := range r.top {
		if k.name == OtherKey && r.other.count > 0 {
			merged := *k.s
			merged.merge(&r.other)
			r.other = merged
			r.top = append(r.top[:i:i], r.top[i+1:]...)
			break
		}
	}
	return r
}

func typeMetrics(s *keyStats, total uint64) TypeMetrics {
	return TypeMetrics{
		Count:      s.count,
		Percentage: percent(s.count, total),
		AvgLatency: round2(s.avgLatency()),
		ErrorCount: s.errors,
	}
}

func sourceStats(s *keyStats) SourceStats {
	rate := percent(s.errors, s.count)
	avg := round2(s.avgLatency())
	return SourceStats{
		Count:      s.count,
		Health:     sourceHealth(rate, avg),
		AvgLatency: avg,
		ErrorCount: s.errors,
		ErrorRate:  rate,
	}
}

func breakdown(keys []rankItem, totalErrors uint64) []Breakdown {
	out := make([]Breakdown, len(keys))
	for i, k := range keys {
		out[i] = Breakdown{Name: k.name, Count: k.s.errors, Percentage: percent(k.s.errors, totalErrors)}
	}
	return out
}

func ranked(keys []rankItem) []RankedType {
	out := make([]RankedType, len(keys))
	for i, k := range keys {
		out[i] = RankedType{Type: k.name, Count: k.s.count, AvgLatency: round2(k.s.avgLatency())}
	}
	return out
}

// systemHealth applies metrics.md to the 5-minute error rate and p95.
func systemHealth(errorRate, p95 float64) string {
	switch {
	case errorRate > ErrorRateCritical || p95 > LatencyCritical:
		return HealthCritical
	case errorRate > ErrorRateDegraded || p95 > LatencyDegraded:
		return HealthDegraded
	}
	return HealthHealthy
}

// sourceHealth is systemHealth's rule with "down" for critical.
func sourceHealth(errorRate, avgLatency float64) string {
	switch {
	case errorRate > ErrorRateCritical || avgLatency > LatencyCritical:
		return HealthDown
	case errorRate > ErrorRateDegraded || avgLatency > LatencyDegraded:
		return HealthDegraded
	}
	return HealthHealthy
}

// anomalies applies the three rules of metrics.md; minutes[0] is the last
// minute, minutes[1:5] the four before it.
func anomalies(rate5, p95 float64, minutes [5]uint64, at string) []Anomaly {
	out := make([]Anomaly, 0, 3)
	if sev, th := level(rate5, ErrorRateDegraded, ErrorRateCritical); sev != "" {
		out = append(out, Anomaly{
			Severity: sev, Type: AnomalyHighErrorRate, Threshold: th, CurrentValue: round2(rate5), DetectedAt: at,
			Message: fmt.Sprintf("error rate over the last 5 minutes is %.2f%%, above %g%%", rate5, th),
		})
	}
	if sev, th := level(p95, LatencyDegraded, LatencyCritical); sev != "" {
		out = append(out, Anomaly{
			Severity: sev, Type: AnomalyHighLatency, Threshold: th, CurrentValue: round2(p95), DetectedAt: at,
			Message: fmt.Sprintf("p95 latency over the last 5 minutes is %.2f ms, above %g ms", p95, th),
		})
	}
	last := minutes[0]
	mean := float64(minutes[1]+minutes[2]+minutes[3]+minutes[4]) / 4
	if th := TrafficSpikeFactor * mean; last >= TrafficSpikeMinimum && float64(last) > th {
		out = append(out, Anomaly{
			Severity: SeverityWarning, Type: AnomalyTrafficSpike, Threshold: round2(th), CurrentValue: float64(last), DetectedAt: at,
			Message: fmt.Sprintf("%d events in the last minute, more than 3 × the mean of the 4 minutes before (%.2f)", last, mean),
		})
	}
	return out
}

// level returns the severity and the threshold crossed, or "" for none.
func level(v, warn, crit float64) (string, float64) {
	switch {
	case v > crit:
		return SeverityCritical, crit
	case v > warn:
		return SeverityWarning, warn
	}
	return "", 0
}

// percent is round2(part*100/whole), 0 when whole is 0.
func percent(part, whole uint64) float64 {
	if whole == 0 {
		return 0
	}
	return round2(float64(part) * 100 / float64(whole))
}

// round2 rounds to 2 decimals; NaN and infinities become 0.
func round2(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	if math.Abs(v) > 1e15 {
		return v // no decimals to round; v*100 could overflow
	}
	r := math.Round(v*100) / 100
	if r == 0 {
		return 0 // no -0
	}
	return r
}
