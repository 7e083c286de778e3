package event

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

func TestMarshalJSON(t *testing.T) {
	t.Parallel()
	r := goldenRecord()
	e := r.Event
	e.Tags = map[string]string{"z": "1", "a": "q\"\n\u2028<"}
	b, err := json.Marshal(&e)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"eventId":"` + e.ID.String() + `","eventType":"page_view","source":"web",` +
		`"timestamp":"2026-11-28T14:48:11.000Z","receivedAt":"2026-11-28T14:48:12.345Z",` +
		`"userId":"u-1","sessionId":"s-1","severity":"ERROR","latency":12.5,` +
		`"tags":{"a":"q\"\n\u2028\u003c","z":"1"},"metadata":{"latency":12.5}}`
	// json.Marshal re-escapes '<' as \u003c when compacting our output.
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
}

func TestMarshalJSONOptional(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 28, 14, 48, 12, 0, time.FixedZone("x", 3600))
	tests := []struct {
		name string
		e    Event
		want string
	}{
		{"minimal, latency from timestamps", Event{Type: "t", Source: "s", Severity: SeverityDebug, ReceivedAt: now, Timestamp: now.Add(-1500 * time.Microsecond)},
			`{"eventId":"00000000000000000000000000","eventType":"t","source":"s","timestamp":"2026-11-28T13:48:11.998Z","receivedAt":"2026-11-28T13:48:12.000Z","severity":"DEBUG","latency":1.5}`},
		{"no latency when not positive", Event{Type: "t", Source: "s", Severity: SeverityInfo, ReceivedAt: now, Timestamp: now.Add(time.Second)},
			`{"eventId":"00000000000000000000000000","eventType":"t","source":"s","timestamp":"2026-11-28T13:48:13.000Z","receivedAt":"2026-11-28T13:48:12.000Z","severity":"INFO"}`},
		{"meta latency zero", Event{Type: "t", Source: "s", Severity: SeverityInfo, ReceivedAt: now, Timestamp: now.Add(-time.Second), HasMetaLatency: true},
			`{"eventId":"00000000000000000000000000","eventType":"t","source":"s","timestamp":"2026-11-28T13:48:11.000Z","receivedAt":"2026-11-28T13:48:12.000Z","severity":"INFO"}`},
		{"invalid utf8", Event{Type: "a\xffb", Source: "\x01", Severity: SeverityInfo, ReceivedAt: now, Timestamp: now},
			`{"eventId":"00000000000000000000000000","eventType":"a\ufffdb","source":"\u0001","timestamp":"2026-11-28T13:48:12.000Z","receivedAt":"2026-11-28T13:48:12.000Z","severity":"INFO"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := string(tc.e.AppendJSON(nil))
			if got != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
			if !json.Valid([]byte(got)) {
				t.Fatal("invalid JSON")
			}
		})
	}
}

func TestAppendFloat(t *testing.T) {
	t.Parallel()
	for _, f := range []float64{0, 1, -1.5, 1e-7, 123456789.125, 1e21, 1e300, 5e-324, math.MaxFloat64} {
		want, _ := json.Marshal(f)
		if got := string(AppendFloat(nil, f)); got != string(want) {
			t.Errorf("%v: got %s want %s", f, got, want)
		}
	}
	if got := string(AppendFloat(nil, math.NaN())); got != "0" {
		t.Errorf("NaN: %s", got)
	}
}

func TestDecodeEncodeFieldsRoundTrip(t *testing.T) {
	t.Parallel()
	e, fe := Decode([]byte(valid))
	if len(fe) != 0 {
		t.Fatal(fe)
	}
	var m map[string]any
	if err := json.Unmarshal(e.AppendJSON(nil), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"eventId", "eventType", "source", "timestamp", "receivedAt", "userId", "sessionId", "severity", "latency", "tags", "metadata"} {
		if _, ok := m[k]; !ok {
			t.Errorf("missing %q", k)
		}
	}
	if m["severity"] != "WARNING" || m["latency"] != 42.5 || !strings.HasPrefix(m["timestamp"].(string), "2026-11-28T14:48:12.000Z") {
		t.Errorf("values: %v", m)
	}
}
