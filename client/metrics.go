package client

import (
	"context"
	"net/http"
	"time"
)

// Snapshot is the metrics snapshot, spec/metrics.md: what GET
// /api/v1/metrics returns and every /topic/metrics message carries. The
// server builds one per second. Totals (counts, rates, latency
// statistics, unique counts, top lists) are since the first start or the
// last reset; timeWindows, throughput, eventsPerSecond and the active
// users slide with the clock. Rates and percentages are 0–100, latencies
// milliseconds.
type Snapshot struct {
	Summary     Summary     `json:"summary"`
	Throughput  Throughput  `json:"throughput"`
	TimeWindows TimeWindows `json:"timeWindows"`
	// EventsByType and EventsBySource hold the 100 largest keys; the rest
	// are folded into "(other)".
	EventsByType   map[string]TypeStats   `json:"eventsByType"`
	EventsBySource map[string]SourceStats `json:"eventsBySource"`
	// EventsBySeverity counts per severity; absent severities are absent.
	EventsBySeverity map[Severity]uint64 `json:"eventsBySeverity"`
	LatencyMetrics   Latency             `json:"latencyMetrics"`
	// Performance is LatencyMetrics again, for the original dashboard.
	Performance  Latency    `json:"performance"`
	ErrorMetrics ErrorStats `json:"errorMetrics"`
	// ErrorAnalysis is ErrorMetrics again, for the original dashboard.
	ErrorAnalysis ErrorStats  `json:"errorAnalysis"`
	TopUsers      []UserCount `json:"topUsers"`
	UserMetrics   UserMetrics `json:"userMetrics"`
	TopEvents     TopEvents   `json:"topEvents"`
	Anomalies     []Anomaly   `json:"anomalies"`
}

// Summary is the snapshot's headline.
type Summary struct {
	TotalEvents      uint64  `json:"totalEvents"`
	EventsPerSecond  float64 `json:"eventsPerSecond"` // events in the last 60 s / 60
	AvgLatency       float64 `json:"avgLatency"`
	ErrorRate        float64 `json:"errorRate"`
	UniqueSources    uint64  `json:"uniqueSources"`
	UniqueEventTypes uint64  `json:"uniqueEventTypes"`
	// UniqueUsers may be an estimate (< 2 % error) past the exact caps.
	UniqueUsers uint64 `json:"uniqueUsers"`
	// SystemHealth is "healthy", "degraded" or "critical" (5-minute error
	// rate and p95 latency).
	SystemHealth string `json:"systemHealth"`
	// LastUpdated is when the snapshot was built (second precision).
	LastUpdated time.Time `json:"lastUpdated"`
}

// Throughput is current rates, the peak second and window averages.
type Throughput struct {
	Current ThroughputCurrent `json:"current"`
	Peak    Peak              `json:"peak"`
	Average ThroughputAverage `json:"average"`
}

// ThroughputCurrent: PerSecond is a rate, the others are window counts.
type ThroughputCurrent struct {
	PerSecond float64 `json:"perSecond"` // last 60 s / 60
	PerMinute float64 `json:"perMinute"` // events in the last 60 s
	PerHour   float64 `json:"perHour"`   // events in the last hour
	PerDay    float64 `json:"perDay"`    // events in the last 24 h
}

// Peak is the busiest second since the last reset.
type Peak struct {
	// Value is the highest one-second count seen.
	Value float64 `json:"value"`
	// Timestamp is that second, nil before the first event.
	Timestamp *time.Time `json:"timestamp"`
}

// ThroughputAverage is events per second over the last hour and day.
type ThroughputAverage struct {
	Last1Hour   float64 `json:"last1Hour"`
	Last24Hours float64 `json:"last24Hours"`
}

// TimeWindows is the event count of each sliding window.
type TimeWindows struct {
	Last1Minute   uint64 `json:"last1Minute"`
	Last5Minutes  uint64 `json:"last5Minutes"`
	Last15Minutes uint64 `json:"last15Minutes"`
	Last1Hour     uint64 `json:"last1Hour"`
	Last24Hours   uint64 `json:"last24Hours"`
}

// TypeStats is one eventsByType entry.
type TypeStats struct {
	Count      uint64  `json:"count"`
	Percentage float64 `json:"percentage"` // of all events
	AvgLatency float64 `json:"avgLatency"`
	ErrorCount uint64  `json:"errorCount"`
}

// SourceStats is one eventsBySource entry.
type SourceStats struct {
	Count uint64 `json:"count"`
	// Health is "healthy", "degraded" or "down".
	Health     string  `json:"health"`
	AvgLatency float64 `json:"avgLatency"`
	ErrorCount uint64  `json:"errorCount"`
	ErrorRate  float64 `json:"errorRate"`
}

// Latency is latency statistics in milliseconds; percentiles come from a
// sketch with a small relative error.
type Latency struct {
	AvgLatency float64 `json:"avgLatency"`
	P50        float64 `json:"p50"`
	P95        float64 `json:"p95"`
	P99        float64 `json:"p99"`
	MinLatency float64 `json:"minLatency"`
	MaxLatency float64 `json:"maxLatency"`
}

// ErrorStats counts errors (severity ERROR or CRITICAL).
type ErrorStats struct {
	TotalErrors uint64  `json:"totalErrors"`
	ErrorRate   float64 `json:"errorRate"`
	// ErrorsByType and ErrorsBySource are the top 10.
	ErrorsByType   []Breakdown `json:"errorsByType"`
	ErrorsBySource []Breakdown `json:"errorsBySource"`
}

// Breakdown is one top-10 error entry.
type Breakdown struct {
	Name       string  `json:"name"`
	Count      uint64  `json:"count"`
	Percentage float64 `json:"percentage"` // of TotalErrors
}

// UserCount is one top user.
type UserCount struct {
	UserID     string `json:"userId"`
	EventCount uint64 `json:"eventCount"`
}

// UserMetrics is the users block.
type UserMetrics struct {
	TotalUniqueUsers       uint64      `json:"totalUniqueUsers"`
	ActiveUsersLast1Hour   uint64      `json:"activeUsersLast1Hour"`
	ActiveUsersLast24Hours uint64      `json:"activeUsersLast24Hours"`
	TopActiveUsers         []UserCount `json:"topActiveUsers"`
}

// TopEvents ranks event types: the 10 most frequent, the 5 fastest and
// the 5 slowest by average latency.
type TopEvents struct {
	MostFrequent []RankedType `json:"mostFrequent"`
	Fastest      []RankedType `json:"fastest"`
	Slowest      []RankedType `json:"slowest"`
}

// RankedType is one topEvents entry.
type RankedType struct {
	Type       string  `json:"type"`
	Count      uint64  `json:"count"`
	AvgLatency float64 `json:"avgLatency"`
}

// Anomaly is one detected anomaly over the last 5 minutes (or, for a
// traffic spike, the last minute against the 4 before it).
type Anomaly struct {
	Severity string `json:"severity"` // "info", "warning" or "critical"
	// Type is "high_error_rate", "high_latency" or "traffic_spike".
	Type         string    `json:"type"`
	Message      string    `json:"message"`
	Threshold    float64   `json:"threshold"`
	CurrentValue float64   `json:"currentValue"`
	DetectedAt   time.Time `json:"detectedAt"`
}

// Metrics returns the latest snapshot (GET /api/v1/metrics). Before the
// server's first tick it answers 503, which is retried.
func (c *Client) Metrics(ctx context.Context) (Snapshot, error) {
	var s Snapshot
	err := c.do(ctx, request{method: http.MethodGet, path: "/api/v1/metrics", retry: true}, &s)
	return s, err
}
