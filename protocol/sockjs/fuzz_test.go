package sockjs

import (
	"encoding/json"
	"errors"
	"testing"
	"unicode/utf8"
)

// FuzzDecodeMessages checks that DecodeMessages never panics, agrees with
// encoding/json on what it accepts, and that escaping its output decodes
// back to the same messages. Seeds: testdata/decode.json and
// testdata/fuzz/FuzzDecodeMessages.
func FuzzDecodeMessages(f *testing.F) {
	var cases []decodeCase
	loadJSON(f, "decode.json", &cases)
	for _, tc := range cases {
		f.Add([]byte(tc.In))
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		msgs, err := DecodeMessages(p)
		if err != nil {
			if !errors.Is(err, ErrBrokenJSON) && !errors.Is(err, ErrPayloadExpected) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if utf8.Valid(p) {
			var want []string
			var one string
			if json.Unmarshal(p, &want) != nil {
				if e := json.Unmarshal(p, &one); e != nil {
					t.Fatalf("DecodeMessages accepted %q, encoding/json did not: %v", p, e)
				}
				want = []string{one}
			}
			if len(want) != len(msgs) {
				t.Fatalf("%q: got %d messages, encoding/json %d", p, len(msgs), len(want))
			}
			for i := range want {
				if want[i] != string(msgs[i]) {
					t.Fatalf("%q: message %d = %q, encoding/json %q", p, i, msgs[i], want[i])
				}
			}
		}
		escaped := make([][]byte, len(msgs))
		for i, m := range msgs {
			escaped[i] = AppendEscaped(nil, m)
		}
		again, err := DecodeMessages(AppendArray(nil, escaped...)[1:])
		if err != nil {
			t.Fatalf("re-decode of %q: %v", msgs, err)
		}
		if len(again) != len(msgs) {
			t.Fatalf("re-decode count %d, want %d", len(again), len(msgs))
		}
		for i := range msgs {
			want := string(msgs[i])
			if !utf8.ValidString(want) {
				want = string([]rune(want)) // invalid bytes become U+FFFD each
			}
			if string(again[i]) != want {
				t.Fatalf("re-decode %d = %q, want %q", i, again[i], want)
			}
		}
	})
}
