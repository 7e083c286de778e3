package stomp

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzDecoder checks that no input panics the decoder, that the result
// does not depend on where the bytes are split, and that every decoded
// frame re-encodes to bytes that decode to the same frame. Seeds are the
// golden frames in testdata/ (real stompjs frames among them); crashers
// found by `go test -fuzz FuzzDecoder` land in testdata/fuzz/FuzzDecoder.
func FuzzDecoder(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.stomp"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds: %v", err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint16(len(b)/2))
	}
	f.Fuzz(func(t *testing.T, in []byte, split uint16) {
		lim := Limits{MaxFrameSize: 4096, MaxHeaders: 16, MaxLineSize: 256}
		whole, errWhole := decodeAll(NewDecoder(lim), in)
		cut := int(split) % (len(in) + 1)
		parts, errParts := decodeAll(NewDecoder(lim), in[:cut], in[cut:])
		if (errWhole == nil) != (errParts == nil) {
			// A limit may trip earlier on a partial read, but only for
			// an input that fails anyway; a clean input must not fail
			// because of the split.
			if errWhole == nil {
				t.Fatalf("split at %d fails (%v) where the whole passes", cut, errParts)
			}
		}
		if errWhole == nil && !reflect.DeepEqual(whole, parts) {
			t.Fatalf("split at %d: %s vs %s", cut, dump(parts), dump(whole))
		}
		for _, ev := range whole {
			if ev.hb {
				continue
			}
			enc := AppendFrame(nil, ev.frame, V12)
			again, err := decodeAll(NewDecoder(Limits{}), enc)
			if err != nil || len(again) != 1 {
				t.Fatalf("re-decode %q: %v %s", enc, err, dump(again))
			}
			if !bytes.Equal(again[0].frame.Body, ev.frame.Body) || again[0].frame.Command != ev.frame.Command {
				t.Fatalf("re-decode %q: %s vs %s", enc, dump(again), dump([]event{ev}))
			}
		}
	})
}
