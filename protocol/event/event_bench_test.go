package event

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func readSeed(b *testing.B, name string) []byte {
	b.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// BenchmarkDecode decodes the typical ~230-byte event of testdata.
func BenchmarkDecode(b *testing.B) {
	data := readSeed(b, "events/typical.json")
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, fe := Decode(data); len(fe) != 0 {
			b.Fatal(fe)
		}
	}
}

func BenchmarkDecodeMinimal(b *testing.B) {
	data := readSeed(b, "events/minimal.json")
	b.ReportAllocs()
	for b.Loop() {
		if _, fe := Decode(data); len(fe) != 0 {
			b.Fatal(fe)
		}
	}
}

func BenchmarkDecodeBatch1000(b *testing.B) {
	one := string(readSeed(b, "events/typical.json"))
	data := []byte("[" + strings.TrimSuffix(strings.Repeat(one+",", 1000), ",") + "]")
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeBatch(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMarshalJSON(b *testing.B) {
	e, _ := Decode(readSeed(b, "events/typical.json"))
	e.ReceivedAt = time.Now()
	e.ID = NewGenerator().New(e.ReceivedAt)
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf = e.AppendJSON(buf[:0])
	}
}

func BenchmarkAppendRecord(b *testing.B) {
	r := goldenRecord()
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendRecord(buf[:0], &r)
	}
}

func BenchmarkDecodeRecord(b *testing.B) {
	r := goldenRecord()
	data := AppendRecord(nil, &r)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeRecord(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGeneratorNew(b *testing.B) {
	g := NewGenerator()
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		sinkID = g.New(now)
	}
}

func BenchmarkIDString(b *testing.B) {
	id := NewGenerator().New(time.Now())
	b.ReportAllocs()
	for b.Loop() {
		sinkString = id.String()
	}
}

func BenchmarkParseID(b *testing.B) {
	s := NewGenerator().New(time.Now()).String()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseID(s); err != nil {
			b.Fatal(err)
		}
	}
}

// Sinks keep the compiler from dropping what a benchmark measures.
var (
	sinkString string
	sinkID     ID
)
