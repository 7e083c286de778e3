package client_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/eventara/eventara/client"
	"github.com/eventara/eventara/protocol/event"
	"github.com/eventara/eventara/snapshots"
)

// The client's types must read every key the server writes, and write no
// key it does not: decoding the server's own JSON strictly (no unknown
// field) and encoding it again must give the same keys at every level.
// test/client_test.go does the same with the real binary's answers.

// strict decodes b into v, refusing unknown fields.
func strict(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	return d.Decode(v)
}

// keyPaths lists every object key path of a JSON document, "a.b", with
// "[]" for list items and "*" for the entries of maps named in maps.
func keyPaths(t *testing.T, b []byte, maps ...string) []string {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	var out []string
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, c := range v {
				if slices.Contains(maps, prefix) {
					k = "*"
				}
				p := k
				if prefix != "" {
					p = prefix + "." + k
				}
				out = append(out, p)
				walk(p, c)
			}
		case []any:
			for _, c := range v {
				walk(prefix+"[]", c)
			}
		}
	}
	walk("", v)
	slices.Sort(out)
	return slices.Compact(out)
}

func sameKeys(t *testing.T, what string, server, client []byte, maps ...string) {
	t.Helper()
	s, c := keyPaths(t, server, maps...), keyPaths(t, client, maps...)
	var onlyServer, onlyClient []string
	for _, k := range s {
		if !slices.Contains(c, k) {
			onlyServer = append(onlyServer, k)
		}
	}
	for _, k := range c {
		if !slices.Contains(s, k) {
			onlyClient = append(onlyClient, k)
		}
	}
	if len(onlyServer)+len(onlyClient) > 0 {
		t.Errorf("%s: keys differ: only the server writes %v, only the client %v", what, onlyServer, onlyClient)
	}
}

// fullSnapshot is a snapshot with every list and map holding an entry.
func fullSnapshot() snapshots.Metrics {
	peak := "2026-12-07T21:32:42Z"
	lat := snapshots.Latency{AvgLatency: 42, P50: 40, P95: 90, P99: 99, MinLatency: 1, MaxLatency: 120}
	errs := snapshots.ErrorMetrics{TotalErrors: 1, ErrorRate: 50,
		ErrorsByType:   []snapshots.Breakdown{{Name: "page_view", Count: 1, Percentage: 100}},
		ErrorsBySource: []snapshots.Breakdown{{Name: "web", Count: 1, Percentage: 100}}}
	users := []snapshots.UserCount{{UserID: "u1", EventCount: 1}}
	ranked := []snapshots.RankedType{{Type: "page_view", Count: 1, AvgLatency: 42}}
	return snapshots.Metrics{
		Summary: snapshots.Summary{TotalEvents: 2, EventsPerSecond: 0.03, AvgLatency: 42, ErrorRate: 50, UniqueSources: 2,
			UniqueEventTypes: 2, UniqueUsers: 1, SystemHealth: "critical", LastUpdated: "2026-12-07T21:32:43Z"},
		Throughput: snapshots.Throughput{
			Current: snapshots.ThroughputCurrent{PerSecond: 0.03, PerMinute: 2, PerHour: 2, PerDay: 2},
			Peak:    snapshots.Peak{Value: 2, Timestamp: &peak},
			Average: snapshots.ThroughputAverage{Last1Hour: 0.01, Last24Hours: 0.001}},
		TimeWindows:      snapshots.TimeWindows{Last1Minute: 2, Last5Minutes: 2, Last15Minutes: 2, Last1Hour: 2, Last24Hours: 2},
		EventsByType:     map[string]snapshots.TypeMetrics{"page_view": {Count: 1, Percentage: 50, AvgLatency: 42, ErrorCount: 1}},
		EventsBySource:   map[string]snapshots.SourceStats{"web": {Count: 1, Health: "down", AvgLatency: 42, ErrorCount: 1, ErrorRate: 100}},
		EventsBySeverity: map[string]uint64{"ERROR": 1, "INFO": 1},
		LatencyMetrics:   lat, Performance: lat, ErrorMetrics: errs, ErrorAnalysis: errs, TopUsers: users,
		UserMetrics: snapshots.UserMetrics{TotalUniqueUsers: 1, ActiveUsersLast1Hour: 1, ActiveUsersLast24Hours: 1, TopActiveUsers: users},
		TopEvents:   snapshots.TopEvents{MostFrequent: ranked, Fastest: ranked, Slowest: ranked},
		Anomalies: []snapshots.Anomaly{{Severity: "critical", Type: "high_error_rate", Message: "error rate 50%", Threshold: 10,
			CurrentValue: 50, DetectedAt: "2026-12-07T21:32:43Z"}},
	}
}

var snapshotMaps = []string{"eventsByType", "eventsBySource", "eventsBySeverity"}

func TestSnapshotMatchesTheServersType(t *testing.T) {
	t.Parallel()
	server, err := json.Marshal(fullSnapshot())
	if err != nil {
		t.Fatal(err)
	}
	var s client.Snapshot
	if err := strict(server, &s); err != nil {
		t.Fatalf("the client's Snapshot cannot read the server's: %v", err)
	}
	again, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	sameKeys(t, "snapshot", server, again, snapshotMaps...)
	if s.Summary.TotalEvents != 2 || s.Throughput.Peak.Timestamp == nil || !s.Throughput.Peak.Timestamp.Equal(time.Date(2026, 12, 7, 21, 32, 42, 0, time.UTC)) ||
		s.EventsBySeverity[client.SeverityInfo] != 1 || s.Anomalies[0].DetectedAt.IsZero() || s.UserMetrics.TopActiveUsers[0].UserID != "u1" {
		t.Errorf("decoded %+v", s)
	}
}

func TestStoredEventMatchesTheServersEncoding(t *testing.T) {
	t.Parallel()
	id, err := event.ParseID("01M996RPAT0QGBMYB76HTTZYBM")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 7, 21, 32, 42, 200e6, time.UTC)
	full := event.Event{ID: id, ReceivedAt: at, Timestamp: at.Add(-time.Second), Type: "page_view", Source: "web", UserID: "u1",
		SessionID: "s1", Severity: event.SeverityCritical, MetaLatency: 42, HasMetaLatency: true, Tags: map[string]string{"env": "prod"},
		Metadata: json.RawMessage(`{"latency":42,"path":"/"}`)}
	bare := event.Event{ID: id, ReceivedAt: at, Timestamp: at, Type: "x", Source: "y", Severity: event.SeverityInfo}
	for name, ev := range map[string]event.Event{"every field": full, "required fields": bare} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			server, err := ev.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			var se client.StoredEvent
			if err := strict(server, &se); err != nil {
				t.Fatalf("%s: %v", server, err)
			}
			again, err := json.Marshal(se)
			if err != nil {
				t.Fatal(err)
			}
			sameKeys(t, string(server), server, again, "tags")
			if se.EventID != ev.ID.String() || !se.ReceivedAt.Equal(ev.ReceivedAt) || !se.Timestamp.Equal(ev.Timestamp) ||
				string(se.Severity) != ev.Severity.String() || se.Latency != max(ev.Latency(), 0) {
				t.Errorf("decoded %+v from %s", se, server)
			}
		})
	}
}

// The Event the client sends is what the server's decoder accepts, field
// by field.
func TestEventIsWhatTheServerDecodes(t *testing.T) {
	t.Parallel()
	ts := time.Date(2026, 12, 7, 21, 0, 0, 123e6, time.FixedZone("", 3600))
	in := client.Event{EventType: "page_view", Source: "web", Timestamp: ts, UserID: "u1", SessionID: "s1",
		Severity: client.SeverityWarning, Tags: map[string]string{"env": "prod"}, Metadata: map[string]any{"latency": 42.5, "path": "/"}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	ev, ferrs := event.Decode(b)
	if len(ferrs) > 0 {
		t.Fatalf("the server refuses %s: %v", b, ferrs)
	}
	got := fmt.Sprintf("%s %s %s %s %s %s %v %v %v", ev.Type, ev.Source, ev.Timestamp.UTC().Format(time.RFC3339Nano), ev.UserID, ev.SessionID,
		ev.Severity, ev.Tags, ev.MetaLatency, ev.HasMetaLatency)
	want := "page_view web 2026-12-07T20:00:00.123Z u1 s1 WARNING map[env:prod] 42.5 true"
	if got != want {
		t.Errorf("server decoded\n%s\nwant\n%s", got, want)
	}
}
