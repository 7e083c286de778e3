package event

import (
	"encoding/json"
	"testing"
)

// goldenIDs were made by the hand-written generator this package had before
// it used github.com/oklog/ulid/v2, in the order it returned them (two pairs
// in one millisecond, then a clock step back). Journals hold IDs in both
// forms, as pebble keys (bytes) and in REST paths (text): both must still
// mean the same.
var goldenIDs = []struct {
	text  string
	bytes [16]byte
	ms    int64
}{
	{"0000000000YSMZG96FH4HY9QK8", [16]uint8{0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0xf6, 0x69, 0xf8, 0x24, 0xcf, 0x89, 0x23, 0xe4, 0xde, 0x68}, 0},
	{"00000000016E15K0HAE12MX2F1", [16]uint8{0x0, 0x0, 0x0, 0x0, 0x0, 0x1, 0x33, 0x82, 0x59, 0x82, 0x2a, 0x70, 0x45, 0x4e, 0x89, 0xe1}, 1},
	{"01ARYZ6S41P0ZTP1GGGE8PSYWJ", [16]uint8{0x1, 0x56, 0x3d, 0xf3, 0x64, 0x81, 0xb0, 0x3f, 0xab, 0x6, 0x10, 0x83, 0x91, 0x6c, 0xfb, 0x92}, 1469918176385},
	{"01M8HA1J9SX0ANH20Q01Y7BH1A", [16]uint8{0x1, 0xa2, 0x22, 0xa0, 0xc9, 0x39, 0xe8, 0x15, 0x58, 0x88, 0x17, 0x0, 0x7c, 0x75, 0xc4, 0x2a}, 1795877292345},
	{"01M8HA1J9SX0ANH20Q01Y7BH1B", [16]uint8{0x1, 0xa2, 0x22, 0xa0, 0xc9, 0x39, 0xe8, 0x15, 0x58, 0x88, 0x17, 0x0, 0x7c, 0x75, 0xc4, 0x2b}, 1795877292345},
	{"01M8HA1J9T6AVMYVX77VTX3HFW", [16]uint8{0x1, 0xa2, 0x22, 0xa0, 0xc9, 0x3a, 0x32, 0xb7, 0x4f, 0x6f, 0xa7, 0x3e, 0xf5, 0xd1, 0xc5, 0xfc}, 1795877292346},
	{"01M8HA1J9T6AVMYVX77VTX3HFX", [16]uint8{0x1, 0xa2, 0x22, 0xa0, 0xc9, 0x3a, 0x32, 0xb7, 0x4f, 0x6f, 0xa7, 0x3e, 0xf5, 0xd1, 0xc5, 0xfd}, 1795877292346},
	{"7ZZZZZZZZZAWSV4SX9YT09FNTR", [16]uint8{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x57, 0x33, 0xb2, 0x67, 0xa9, 0xf6, 0x80, 0x97, 0xd7, 0x58}, 281474976710655},
}

func TestIDGolden(t *testing.T) {
	t.Parallel()
	var prev ID
	for i, g := range goldenIDs {
		id, err := ParseID(g.text)
		if err != nil || id != ID(g.bytes) {
			t.Fatalf("ParseID(%q) = %x, %v; want %x", g.text, id, err, g.bytes)
		}
		if lower, err := ParseID(lower(g.text)); err != nil || lower != id {
			t.Fatalf("ParseID(lower %q) = %x, %v", g.text, lower, err)
		}
		if s := ID(g.bytes).String(); s != g.text {
			t.Fatalf("String(%x) = %q, want %q", g.bytes, s, g.text)
		}
		if b, _ := id.AppendText([]byte("x")); string(b) != "x"+g.text {
			t.Fatalf("AppendText = %q", b)
		}
		if id.Ms() != g.ms || id.Time().UnixMilli() != g.ms {
			t.Fatalf("%s: Ms() = %d, want %d", g.text, id.Ms(), g.ms)
		}
		if MinID(id.Time()).Compare(id) > 0 || MaxID(id.Time()).Compare(id) < 0 {
			t.Fatalf("%s outside its millisecond's [MinID, MaxID]", g.text)
		}
		var back ID
		if err := json.Unmarshal([]byte(`"`+g.text+`"`), &back); err != nil || back != id {
			t.Fatalf("UnmarshalText(%q) = %x, %v", g.text, back, err)
		}
		if i > 0 && id.Compare(prev) <= 0 {
			t.Fatalf("%s does not sort after %s", id, prev)
		}
		prev = id
	}
}
