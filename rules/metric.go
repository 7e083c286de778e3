package rules

import (
	"math"
	"strings"
	"time"
)

// Metric names a figure a rule compares: the original's MetricType names,
// plus NO_EVENTS (absence). Only metrics the snapshot can answer are
// accepted; the others are refused at validation with the reason.
type Metric string

// Metrics over a window of the rule's own length (timeWindowMinutes,
// default 30), computed from event and error counts, with sourceFilter or
// eventTypeFilter.
const (
	ErrorRate       Metric = "ERROR_RATE"        // errors × 100 / events
	TotalErrors     Metric = "TOTAL_ERRORS"      // errors
	SystemHealth    Metric = "SYSTEM_HEALTH"     // 100 − ERROR_RATE
	EventsPerSecond Metric = "EVENTS_PER_SECOND" // events / window seconds
	EventsPerMinute Metric = "EVENTS_PER_MINUTE" // × 60
	EventsPerHour   Metric = "EVENTS_PER_HOUR"   // × 3600
	EventsPerDay    Metric = "EVENTS_PER_DAY"    // × 86400
	TotalEvents     Metric = "TOTAL_EVENTS"      // events in the window
)

// Metrics over a fixed window (timeWindowMinutes may be left out or must
// equal it), with filters.
const (
	EventsLast1Minute   Metric = "EVENTS_LAST_1_MINUTE"
	EventsLast5Minutes  Metric = "EVENTS_LAST_5_MINUTES"
	EventsLast15Minutes Metric = "EVENTS_LAST_15_MINUTES"
	EventsLast1Hour     Metric = "EVENTS_LAST_1_HOUR"
	EventsLast24Hours   Metric = "EVENTS_LAST_24_HOURS"
	AvgThroughput1H     Metric = "AVG_THROUGHPUT_1H"  // events per second over the last hour
	AvgThroughput24H    Metric = "AVG_THROUGHPUT_24H" // over the last 24 hours
)

// Gauges the snapshot carries as they are: latency figures and unique
// counts since the last metrics reset, active users over their fixed
// windows, and the peak one-second count. No filters, except that
// AVG_LATENCY takes one source or one event type (its own average).
// P95_LATENCY also answers over the last 1, 5 or 15 minutes
// (timeWindowMinutes), from the window views.
const (
	AvgLatency             Metric = "AVG_LATENCY"
	P50Latency             Metric = "P50_LATENCY"
	P95Latency             Metric = "P95_LATENCY"
	P99Latency             Metric = "P99_LATENCY"
	MaxLatency             Metric = "MAX_LATENCY"
	MinLatency             Metric = "MIN_LATENCY"
	UniqueSources          Metric = "UNIQUE_SOURCES"
	UniqueEventTypes       Metric = "UNIQUE_EVENT_TYPES"
	UniqueUsers            Metric = "UNIQUE_USERS"
	TotalUniqueUsers       Metric = "TOTAL_UNIQUE_USERS" // = UNIQUE_USERS (the original always gave 0)
	ActiveUsersLast1Hour   Metric = "ACTIVE_USERS_LAST_1_HOUR"
	ActiveUsersLast24Hours Metric = "ACTIVE_USERS_LAST_24_HOURS"
	PeakThroughput         Metric = "PEAK_THROUGHPUT" // highest one-second count since reset
)

// Rate-of-change metrics: the percent change of a base metric from the
// previous window of the same length to the current one.
const (
	ErrorRateChange  Metric = "ERROR_RATE_CHANGE" // base ERROR_RATE
	LatencyChange    Metric = "LATENCY_CHANGE"    // base P95_LATENCY over 1, 5 or 15 min (default 5)
	ThroughputChange Metric = "THROUGHPUT_CHANGE" // base EVENTS_PER_MINUTE
	SpikeDetection   Metric = "SPIKE_DETECTION"   // base TOTAL_EVENTS
)

// EventRatio is the ratio rule's metric: numerator events / denominator
// events (two event types) in the window.
const EventRatio Metric = "EVENT_RATIO"

// NoEvents is the absence rule's metric: it holds when no event (of the
// filtered sources or types, or none at all) arrived in the whole window.
const NoEvents Metric = "NO_EVENTS"

// FromZeroChange is the change a rate-of-change rule reports when the
// previous window's value was 0 and the current one is not (the original's
// figure): any finite threshold below it is crossed.
const FromZeroChange = 999.0

// Window bounds of timeWindowMinutes.
const (
	DefaultWindowMinutes = 30
	MaxWindowMinutes     = 24 * 60
)

// family says where a metric's figure comes from.
type family int8

const (
	famCounter family = iota + 1 // events and errors over a window
	famGauge                     // read from the tick as it is
	famChange                    // % change of a base counter or gauge
	famRatio                     // EVENT_RATIO
	famAbsence                   // NO_EVENTS
)

// metricInfo describes one metric.
type metricInfo struct {
	fam family
	// errors: a counter metric that needs error counts (always read from
	// cumulative totals; event counts alone may be read from timeWindows).
	errors bool
	// fixed is a counter or gauge metric's own window (0: the rule's, or
	// since reset for a gauge).
	fixed time.Duration
	// counter turns a window's events, errors and length into the figure;
	// ok is false when it is undefined (a rate over no events).
	counter func(events, errors, secs float64) (float64, bool)
	// gauge reads a gauge from a tick.
	gauge func(t *Tick) (float64, bool)
	// base is a change metric's base metric.
	base Metric
}

func rate(ev, er, _ float64) (float64, bool) {
	if ev <= 0 {
		return 0, false
	}
	return er * 100 / ev, true
}

func perSeconds(k float64) func(ev, _, secs float64) (float64, bool) {
	return func(ev, _, secs float64) (float64, bool) { return ev / secs * k, true }
}

func count(ev, _, _ float64) (float64, bool) { return ev, true }

func latency(pick func(l *Latency) float64) func(t *Tick) (float64, bool) {
	return func(t *Tick) (float64, bool) {
		if !t.Latency.Recorded {
			return 0, false
		}
		return pick(&t.Latency), true
	}
}

func unsigned(pick func(t *Tick) uint64) func(t *Tick) (float64, bool) {
	return func(t *Tick) (float64, bool) { return float64(pick(t)), true }
}

var metrics = map[Metric]metricInfo{
	ErrorRate:    {fam: famCounter, errors: true, counter: rate},
	TotalErrors:  {fam: famCounter, errors: true, counter: func(_, er, _ float64) (float64, bool) { return er, true }},
	SystemHealth: {fam: famCounter, errors: true, counter: func(ev, er, s float64) (float64, bool) { r, ok := rate(ev, er, s); return 100 - r, ok }},

	EventsPerSecond: {fam: famCounter, counter: perSeconds(1)},
	EventsPerMinute: {fam: famCounter, counter: perSeconds(60)},
	EventsPerHour:   {fam: famCounter, counter: perSeconds(3600)},
	EventsPerDay:    {fam: famCounter, counter: perSeconds(86400)},
	TotalEvents:     {fam: famCounter, counter: count},

	EventsLast1Minute:   {fam: famCounter, counter: count, fixed: time.Minute},
	EventsLast5Minutes:  {fam: famCounter, counter: count, fixed: 5 * time.Minute},
	EventsLast15Minutes: {fam: famCounter, counter: count, fixed: 15 * time.Minute},
	EventsLast1Hour:     {fam: famCounter, counter: count, fixed: time.Hour},
	EventsLast24Hours:   {fam: famCounter, counter: count, fixed: 24 * time.Hour},
	AvgThroughput1H:     {fam: famCounter, counter: perSeconds(1), fixed: time.Hour},
	AvgThroughput24H:    {fam: famCounter, counter: perSeconds(1), fixed: 24 * time.Hour},

	AvgLatency:             {fam: famGauge, gauge: latency(func(l *Latency) float64 { return l.Avg })},
	P50Latency:             {fam: famGauge, gauge: latency(func(l *Latency) float64 { return l.P50 })},
	P95Latency:             {fam: famGauge, gauge: latency(func(l *Latency) float64 { return l.P95 })},
	P99Latency:             {fam: famGauge, gauge: latency(func(l *Latency) float64 { return l.P99 })},
	MaxLatency:             {fam: famGauge, gauge: latency(func(l *Latency) float64 { return l.Max })},
	MinLatency:             {fam: famGauge, gauge: latency(func(l *Latency) float64 { return l.Min })},
	UniqueSources:          {fam: famGauge, gauge: unsigned(func(t *Tick) uint64 { return t.UniqueSources })},
	UniqueEventTypes:       {fam: famGauge, gauge: unsigned(func(t *Tick) uint64 { return t.UniqueEventTypes })},
	UniqueUsers:            {fam: famGauge, gauge: unsigned(func(t *Tick) uint64 { return t.UniqueUsers })},
	TotalUniqueUsers:       {fam: famGauge, gauge: unsigned(func(t *Tick) uint64 { return t.UniqueUsers })},
	ActiveUsersLast1Hour:   {fam: famGauge, gauge: unsigned(func(t *Tick) uint64 { return t.ActiveUsersLast1Hour }), fixed: time.Hour},
	ActiveUsersLast24Hours: {fam: famGauge, gauge: unsigned(func(t *Tick) uint64 { return t.ActiveUsersLast24Hours }), fixed: 24 * time.Hour},
	PeakThroughput:         {fam: famGauge, gauge: func(t *Tick) (float64, bool) { return t.PeakPerSecond, true }},

	ErrorRateChange:  {fam: famChange, base: ErrorRate},
	LatencyChange:    {fam: famChange, base: P95Latency},
	ThroughputChange: {fam: famChange, base: EventsPerMinute},
	SpikeDetection:   {fam: famChange, base: TotalEvents},

	EventRatio: {fam: famRatio},
	NoEvents:   {fam: famAbsence, counter: count},
}

// refused maps metric names of the original that the snapshot cannot answer
// (or answers under another name) to the reason given at validation.
var refused = map[Metric]string{
	"SOURCE_ERROR_RATE": "SOURCE_ERROR_RATE is not a metric here: use ERROR_RATE with sourceFilter",
	"EVENT_TYPE_COUNT":  "EVENT_TYPE_COUNT is not a metric here: use TOTAL_EVENTS with eventTypeFilter",
}

// refusal returns why m is refused, or "" when it is simply unknown.
func refusal(m Metric) string {
	if r, ok := refused[m]; ok {
		return r
	}
	if strings.HasSuffix(string(m), "_VS_BASELINE") {
		return string(m) + " is not answered: no baseline is kept; use a rate-of-change metric " +
			"(ERROR_RATE_CHANGE, LATENCY_CHANGE, THROUGHPUT_CHANGE, SPIKE_DETECTION)"
	}
	return ""
}

// p95Windows are the windows whose p95 the window views carry (windows up
// to 15 minutes track latency: snapshots.WindowView).
var p95Windows = []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute}

// Condition compares a value with a threshold.
type Condition string

// Conditions. BETWEEN and NOT_BETWEEN take thresholdValue as the low and
// thresholdValue2 as the high bound, both inclusive in BETWEEN.
const (
	GreaterThan        Condition = "GREATER_THAN"
	GreaterThanOrEqual Condition = "GREATER_THAN_OR_EQUAL"
	LessThan           Condition = "LESS_THAN"
	LessThanOrEqual    Condition = "LESS_THAN_OR_EQUAL"
	Equals             Condition = "EQUALS"
	NotEquals          Condition = "NOT_EQUALS"
	Between            Condition = "BETWEEN"
	NotBetween         Condition = "NOT_BETWEEN"
)

// DefaultTolerance is the EQUALS/NOT_EQUALS tolerance (the original's).
const DefaultTolerance = 1e-4

// Valid reports whether c is one of the eight conditions.
func (c Condition) Valid() bool {
	switch c {
	case GreaterThan, GreaterThanOrEqual, LessThan, LessThanOrEqual, Equals, NotEquals, Between, NotBetween:
		return true
	}
	return false
}

// ranged reports whether c takes two bounds.
func (c Condition) ranged() bool { return c == Between || c == NotBetween }

// Holds reports whether v meets c against lo (and hi for BETWEEN and
// NOT_BETWEEN); EQUALS and NOT_EQUALS compare within tol.
func (c Condition) Holds(v, lo, hi, tol float64) bool {
	switch c {
	case GreaterThan:
		return v > lo
	case GreaterThanOrEqual:
		return v >= lo
	case LessThan:
		return v < lo
	case LessThanOrEqual:
		return v <= lo
	case Equals:
		return math.Abs(v-lo) <= tol
	case NotEquals:
		return math.Abs(v-lo) > tol
	case Between:
		return lo <= v && v <= hi
	case NotBetween:
		return v < lo || v > hi
	}
	return false
}

// symbol is c as written in messages.
func (c Condition) symbol() string {
	switch c {
	case GreaterThan:
		return ">"
	case GreaterThanOrEqual:
		return ">="
	case LessThan:
		return "<"
	case LessThanOrEqual:
		return "<="
	case Equals:
		return "=="
	case NotEquals:
		return "!="
	case Between:
		return "in"
	case NotBetween:
		return "not in"
	}
	return string(c)
}
