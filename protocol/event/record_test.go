package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// goldenRecord is the record stored in testdata/records/record_v1.bin. It has one
// tag so that its encoding does not depend on map order.
func goldenRecord() Record {
	return Record{Kind: KindEvent, Event: Event{
		ID:         ID{0x01, 0x8f, 0x3a, 0x00, 0x00, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10},
		ReceivedAt: time.Date(2026, 11, 28, 14, 48, 12, 345_678_901, time.UTC),
		Type:       "page_view", Source: "web", UserID: "u-1", SessionID: "s-1",
		Severity:    SeverityError,
		Timestamp:   time.Date(2026, 11, 28, 14, 48, 11, 0, time.UTC),
		MetaLatency: 12.5, HasMetaLatency: true,
		Tags:     map[string]string{"env": "prod"},
		Metadata: json.RawMessage(`{"latency":12.5}`),
	}}
}

func TestRecordGolden(t *testing.T) {
	t.Parallel()
	r := goldenRecord()
	got := AppendRecord(nil, &r)
	path := filepath.Join("testdata", "records", "record_v1.bin")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("record encoding changed (a new format needs a new version):\n got %x\nwant %x", got, want)
	}
}

func TestRecordRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		rec  Record
	}{
		{"golden", goldenRecord()},
		{"minimal", Record{Kind: KindEvent, Event: Event{ID: ID{1}, Type: "t", Source: "s", Severity: SeverityInfo,
			ReceivedAt: time.UnixMilli(1_800_000_000_000).UTC(), Timestamp: time.UnixMilli(1_799_999_999_000).UTC()}}},
		{"reset", Record{Kind: KindReset, Event: Event{ID: ID{2}, ReceivedAt: time.Unix(1_800_000_000, 5).UTC()}}},
		{"many tags", Record{Kind: KindEvent, Event: Event{Severity: SeverityDebug, Tags: map[string]string{"a": "1", "b": "", "": "c", "é": "😀"}}}},
		{"negative latency", Record{Kind: KindEvent, Event: Event{Severity: SeverityInfo, MetaLatency: -1, HasMetaLatency: true}}},
		{"pre-epoch", Record{Kind: KindEvent, Event: Event{Severity: SeverityCritical, Timestamp: time.Date(1900, 1, 1, 0, 0, 0, 1, time.UTC)}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := AppendRecord([]byte("prefix"), &tc.rec)
			got, err := DecodeRecord(b[len("prefix"):])
			if err != nil {
				t.Fatal(err)
			}
			if got.Kind != tc.rec.Kind || !eventsEqual(got.Event, tc.rec.Event) {
				t.Fatalf("got  %+v\nwant %+v", got, tc.rec)
			}
			h, err := PeekRecord(b[len("prefix"):])
			if err != nil || h.Kind != tc.rec.Kind || h.ID != tc.rec.Event.ID ||
				!h.ReceivedAt.Equal(tc.rec.Event.ReceivedAt) || string(h.Type) != tc.rec.Event.Type {
				t.Fatalf("peek %+v, %v", h, err)
			}
		})
	}
}

func TestRecordCorruption(t *testing.T) {
	t.Parallel()
	r := goldenRecord()
	b := AppendRecord(nil, &r)
	// Every truncation and every single-bit flip must be detected.
	for n := 0; n < len(b); n++ {
		if _, err := DecodeRecord(b[:n]); !errors.Is(err, ErrCorruptRecord) {
			t.Fatalf("truncated to %d: %v", n, err)
		}
	}
	for i := 0; i < len(b)*8; i++ {
		c := bytes.Clone(b)
		c[i/8] ^= 1 << (i % 8)
		if _, err := DecodeRecord(c); !errors.Is(err, ErrCorruptRecord) {
			t.Fatalf("bit %d flipped: %v", i, err)
		}
	}
	if _, err := DecodeRecord(append(bytes.Clone(b), 0)); err == nil {
		t.Fatal("trailing byte accepted")
	}
}

func TestRecordDoesNotAlias(t *testing.T) {
	t.Parallel()
	r := goldenRecord()
	b := AppendRecord(nil, &r)
	got, err := DecodeRecord(b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = 0
	}
	if !eventsEqual(got.Event, r.Event) {
		t.Fatal("decoded record aliases its input")
	}
}

// TestRecordRejectsWhatWeNeverWrite: a record whose CRC matches but whose
// content no encoder of ours produces is corrupt, not an event.
func TestRecordRejectsWhatWeNeverWrite(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		rec  Record
	}{
		{"zero kind", Record{}},
		{"unknown kind", Record{Kind: 48, Event: Event{Severity: SeverityInfo}}},
		{"event without severity", Record{Kind: KindEvent}},
		{"unknown severity", Record{Kind: KindEvent, Event: Event{Severity: 48}}},
		{"NaN latency", Record{Kind: KindEvent, Event: Event{Severity: SeverityInfo, MetaLatency: math.NaN(), HasMetaLatency: true}}},
		{"infinite latency", Record{Kind: KindEvent, Event: Event{Severity: SeverityInfo, MetaLatency: math.Inf(1), HasMetaLatency: true}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, err := DecodeRecord(AppendRecord(nil, &tc.rec)); !errors.Is(err, ErrCorruptRecord) {
				t.Fatalf("err = %v, want ErrCorruptRecord", err)
			}
		})
	}
}
