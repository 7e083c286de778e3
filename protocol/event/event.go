package event

import (
	"encoding/json"
	"time"
)

// Severity is an event's level. The zero value is not a valid severity;
// an absent severity in JSON means SeverityInfo.
type Severity uint8

// The severities, in increasing order.
const (
	SeverityDebug Severity = iota + 1
	SeverityInfo
	SeverityWarning
	SeverityError
	SeverityCritical
)

// IsError reports whether the severity counts as an error (ERROR or CRITICAL).
func (s Severity) IsError() bool { return s >= SeverityError }

// Kind says what a journal record holds.
type Kind uint8

// The record kinds.
const (
	// KindEvent is an accepted event.
	KindEvent Kind = iota + 1
	// KindReset resets the totals (POST /api/v1/metrics/reset).
	KindReset
)

// Event is one accepted event. Type, Source, Severity, Timestamp and the
// optional fields come from the client; ID and ReceivedAt are stamped by the
// ingest actor in journal order.
type Event struct {
	ID         ID
	ReceivedAt time.Time
	Type       string
	Source     string
	UserID     string
	SessionID  string
	Severity   Severity
	// Timestamp is the client's time; equal to ReceivedAt when absent.
	Timestamp time.Time
	// MetaLatency is metadata.latency when it was a number or numeric string.
	MetaLatency    float64
	HasMetaLatency bool
	Tags           map[string]string
	// Metadata is the raw JSON object as sent (nil when absent).
	Metadata json.RawMessage
}

// Latency is the event's latency in milliseconds as metrics.md defines it:
// metadata.latency when present, else ReceivedAt − Timestamp. Only a latency
// greater than zero is counted in latency statistics.
func (e *Event) Latency() float64 {
	if e.HasMetaLatency {
		return e.MetaLatency
	}
	return float64(e.ReceivedAt.Sub(e.Timestamp)) / float64(time.Millisecond)
}

// Record is one journal entry: an event, or a control record (reset) that
// carries only ID and ReceivedAt in Event.
type Record struct {
	Kind  Kind
	Event Event
}
