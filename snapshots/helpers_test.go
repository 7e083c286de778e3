package snapshots

import (
	"math"
	"testing"
	"time"

	"github.com/eventara/eventara/protocol/event"
)

// t0 is the fake clock's origin; tests pass explicit times.
var t0 = time.Date(2026, 11, 28, 14, 48, 0, 0, time.UTC)

func at(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }

// ev builds an event received at `when`; a latency > 0 is sent as
// metadata.latency, otherwise the client timestamp equals ReceivedAt (no
// latency).
func ev(when time.Time, typ, src, user string, sev event.Severity, latency float64) *event.Event {
	e := &event.Event{ReceivedAt: when, Timestamp: when, Type: typ, Source: src, UserID: user, Severity: sev}
	if latency != 0 {
		e.MetaLatency, e.HasMetaLatency = latency, true
	}
	return e
}

func within(t *testing.T, name string, got, want, rel float64) {
	t.Helper()
	if math.Abs(got-want) > rel*math.Abs(want)+1e-9 {
		t.Errorf("%s = %v, want %v within %.1f%%", name, got, want, rel*100)
	}
}

func equal[T comparable](t *testing.T, name string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", name, got, want)
	}
}
