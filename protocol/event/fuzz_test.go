package event

import (
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"
)

// addSeeds adds every file in testdata/<dir> to f's seed corpus. Crashers
// found by fuzzing are kept by the go tool under testdata/fuzz/<FuzzName>.
func addSeeds(f *testing.F, dir string) {
	f.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", dir, "*"))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no seeds in testdata/%s: %v", dir, err)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// checkValid asserts what Decode promises of an event it accepted.
func checkValid(t *testing.T, e *Event) {
	t.Helper()
	for _, s := range []string{e.Type, e.Source, e.UserID, e.SessionID} {
		if !utf8.ValidString(s) {
			t.Fatalf("invalid UTF-8 accepted: %q", s)
		}
	}
	if e.Type == "" || e.Source == "" || utf8.RuneCountInString(e.Type) > MaxNameLen || utf8.RuneCountInString(e.Source) > MaxNameLen {
		t.Fatalf("bad names accepted: %q %q", e.Type, e.Source)
	}
	if !e.Severity.Valid() || len(e.Tags) > MaxTags || len(e.Metadata) > MaxMetadataBytes {
		t.Fatalf("limits not enforced: %+v", e)
	}
	if e.Metadata != nil && !json.Valid(e.Metadata) {
		t.Fatalf("metadata is not valid JSON: %s", e.Metadata)
	}
	out, err := e.MarshalJSON()
	if err != nil || !json.Valid(out) {
		t.Fatalf("MarshalJSON gave invalid JSON %s: %v", out, err)
	}
	r := Record{Kind: KindEvent, Event: *e}
	back, err := DecodeRecord(AppendRecord(nil, &r))
	if err != nil || !eventsEqual(back.Event, *e) {
		t.Fatalf("record round trip: %v\n got %+v\nwant %+v", err, back.Event, *e)
	}
}

func FuzzDecode(f *testing.F) {
	addSeeds(f, "events")
	f.Fuzz(func(t *testing.T, data []byte) {
		e, fe := Decode(data)
		if !json.Valid(data) {
			if _, ok := fe[BodyField]; !ok {
				t.Fatalf("malformed JSON without a body error: %v", fe)
			}
			return
		}
		if _, ok := fe[BodyField]; ok && data[firstNonSpace(data)] == '{' {
			t.Fatalf("valid JSON object reported as malformed: %v", fe)
		}
		if len(fe) == 0 {
			checkValid(t, &e)
		}
	})
}

func firstNonSpace(b []byte) int {
	for i, c := range b {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return i
		}
	}
	return 0
}

func FuzzDecodeBatch(f *testing.F) {
	addSeeds(f, "batches")
	f.Fuzz(func(t *testing.T, data []byte) {
		items, err := DecodeBatch(data)
		if err != nil {
			return
		}
		if !json.Valid(data) {
			t.Fatal("malformed JSON accepted")
		}
		for i := range items {
			if len(items[i].Errors) == 0 {
				checkValid(t, &items[i].Event)
			}
		}
	})
}

func FuzzDecodeRecord(f *testing.F) {
	addSeeds(f, "records")
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = PeekRecord(data)
		// Decode the input as it is, and with its last 4 bytes replaced by
		// a matching CRC so that the fuzzer gets past the checksum.
		inputs := [][]byte{data}
		if len(data) >= 4 {
			body := data[: len(data)-4 : len(data)-4]
			inputs = append(inputs, binary.LittleEndian.AppendUint32(body, crc32.Checksum(body, castagnoli)))
		}
		for _, in := range inputs {
			r, err := DecodeRecord(in)
			if err != nil {
				continue
			}
			back, err := DecodeRecord(AppendRecord(nil, &r))
			if err != nil || back.Kind != r.Kind || !eventsEqual(back.Event, r.Event) {
				t.Fatalf("re-encoding a decoded record: %v\n got %+v\nwant %+v", err, back, r)
			}
		}
	})
}
