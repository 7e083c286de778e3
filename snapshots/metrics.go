package snapshots

// Metrics is the snapshot as spec/metrics.md defines it; its JSON encoding is
// the contract. Every field is always encoded (no omitempty): a missing key
// crashes the original dashboard. Maps and slices are never nil once built.
type Metrics struct {
	Summary          Summary                `json:"summary"`
	Throughput       Throughput             `json:"throughput"`
	TimeWindows      TimeWindows            `json:"timeWindows"`
	EventsByType     map[string]TypeMetrics `json:"eventsByType"`
	EventsBySource   map[string]SourceStats `json:"eventsBySource"`
	EventsBySeverity map[string]uint64      `json:"eventsBySeverity"`
	LatencyMetrics   Latency                `json:"latencyMetrics"`
	Performance      Latency                `json:"performance"`
	ErrorMetrics     ErrorMetrics           `json:"errorMetrics"`
	ErrorAnalysis    ErrorMetrics           `json:"errorAnalysis"`
	TopUsers         []UserCount            `json:"topUsers"`
	UserMetrics      UserMetrics            `json:"userMetrics"`
	TopEvents        TopEvents              `json:"topEvents"`
	Anomalies        []Anomaly              `json:"anomalies"`
}

// Summary is the headline block.
type Summary struct {
	TotalEvents      uint64  `json:"totalEvents"`
	EventsPerSecond  float64 `json:"eventsPerSecond"`
	AvgLatency       float64 `json:"avgLatency"`
	ErrorRate        float64 `json:"errorRate"`
	UniqueSources    uint64  `json:"uniqueSources"`
	UniqueEventTypes uint64  `json:"uniqueEventTypes"`
	UniqueUsers      uint64  `json:"uniqueUsers"`
	SystemHealth     string  `json:"systemHealth"`
	LastUpdated      string  `json:"lastUpdated"`
}

// Throughput is current rates, the peak second and window averages.
type Throughput struct {
	Current ThroughputCurrent `json:"current"`
	Peak    Peak              `json:"peak"`
	Average ThroughputAverage `json:"average"`
}

// ThroughputCurrent: perSecond is a rate, the others are window counts.
type ThroughputCurrent struct {
	PerSecond float64 `json:"perSecond"`
	PerMinute float64 `json:"perMinute"`
	PerHour   float64 `json:"perHour"`
	PerDay    float64 `json:"perDay"`
}

// Peak is the highest one-second count since reset; Timestamp is null
// before the first event.
type Peak struct {
	Value     float64 `json:"value"`
	Timestamp *string `json:"timestamp"`
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

// TypeMetrics is one eventsByType entry.
type TypeMetrics struct {
	Count      uint64  `json:"count"`
	Percentage float64 `json:"percentage"`
	AvgLatency float64 `json:"avgLatency"`
	ErrorCount uint64  `json:"errorCount"`
}

// SourceStats is one eventsBySource entry.
type SourceStats struct {
	Count      uint64  `json:"count"`
	Health     string  `json:"health"`
	AvgLatency float64 `json:"avgLatency"`
	ErrorCount uint64  `json:"errorCount"`
	ErrorRate  float64 `json:"errorRate"`
}

// Latency is latencyMetrics (= performance), in milliseconds.
type Latency struct {
	AvgLatency float64 `json:"avgLatency"`
	P50        float64 `json:"p50"`
	P95        float64 `json:"p95"`
	P99        float64 `json:"p99"`
	MinLatency float64 `json:"minLatency"`
	MaxLatency float64 `json:"maxLatency"`
}

// ErrorMetrics is errorMetrics (= errorAnalysis).
type ErrorMetrics struct {
	TotalErrors    uint64      `json:"totalErrors"`
	ErrorRate      float64     `json:"errorRate"`
	ErrorsByType   []Breakdown `json:"errorsByType"`
	ErrorsBySource []Breakdown `json:"errorsBySource"`
}

// Breakdown is one top-10 error entry; Percentage is of totalErrors.
type Breakdown struct {
	Name       string  `json:"name"`
	Count      uint64  `json:"count"`
	Percentage float64 `json:"percentage"`
}

// UserCount is one topUsers entry.
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

// TopEvents ranks event types.
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

// Anomaly is one detected anomaly.
type Anomaly struct {
	Severity     string  `json:"severity"`
	Type         string  `json:"type"`
	Message      string  `json:"message"`
	Threshold    float64 `json:"threshold"`
	CurrentValue float64 `json:"currentValue"`
	DetectedAt   string  `json:"detectedAt"`
}

// Health values.
const (
	HealthHealthy  = "healthy"
	HealthDegraded = "degraded"
	HealthCritical = "critical" // systemHealth
	HealthDown     = "down"     // a source
)

// Anomaly types and severities.
const (
	AnomalyHighErrorRate = "high_error_rate"
	AnomalyHighLatency   = "high_latency"
	AnomalyTrafficSpike  = "traffic_spike"

	SeverityWarning  = "warning"
	SeverityCritical = "critical"
)

// Thresholds from metrics.md (rates in percent, latencies in ms).
const (
	ErrorRateDegraded   = 5.0
	ErrorRateCritical   = 10.0
	LatencyDegraded     = 1000.0
	LatencyCritical     = 5000.0
	TrafficSpikeFactor  = 3.0
	TrafficSpikeMinimum = 10
)
