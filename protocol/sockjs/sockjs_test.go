package sockjs

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

type decodeCase struct {
	Name string   `json:"name"`
	In   string   `json:"in"`
	Want []string `json:"want"`
	Err  string   `json:"err"`
}

func loadJSON(t testing.TB, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func TestDecodeMessagesGolden(t *testing.T) {
	t.Parallel()
	var cases []decodeCase
	loadJSON(t, "decode.json", &cases)
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			got, err := DecodeMessages([]byte(tc.In))
			if tc.Err != "" {
				if err == nil || err.Error() != tc.Err {
					t.Fatalf("DecodeMessages(%q) error = %v, want %q", tc.In, err, tc.Err)
				}
				return
			}
			if err != nil {
				t.Fatalf("DecodeMessages(%q): %v", tc.In, err)
			}
			if len(got) != len(tc.Want) {
				t.Fatalf("DecodeMessages(%q) = %q, want %q", tc.In, got, tc.Want)
			}
			for i := range got {
				if string(got[i]) != tc.Want[i] {
					t.Fatalf("DecodeMessages(%q)[%d] = %q, want %q", tc.In, i, got[i], tc.Want[i])
				}
			}
		})
	}
}

func TestDecodeMessagesIndependentBuffers(t *testing.T) {
	t.Parallel()
	in := []byte(`["ab","cd"]`)
	msgs, err := DecodeMessages(in)
	if err != nil {
		t.Fatal(err)
	}
	copy(in, "xxxxxxxxxxx")
	_ = append(msgs[0], "ZZZ"...)
	if string(msgs[0]) != "ab" || string(msgs[1]) != "cd" {
		t.Fatalf("messages changed: %q", msgs)
	}
}

func TestDecodeMessagesErrors(t *testing.T) {
	t.Parallel()
	if _, err := DecodeMessages(nil); !errors.Is(err, ErrPayloadExpected) {
		t.Fatalf("nil payload: %v", err)
	}
	if _, err := DecodeMessages([]byte(`["x`)); !errors.Is(err, ErrBrokenJSON) {
		t.Fatalf("broken payload: %v", err)
	}
}

type escapeCase struct {
	Name string `json:"name"`
	In   string `json:"in"`
	Want string `json:"want"`
}

func TestEscapeGolden(t *testing.T) {
	t.Parallel()
	var cases []escapeCase
	loadJSON(t, "escape.json", &cases)
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			if got := EscapeString(tc.In); got != tc.Want {
				t.Fatalf("EscapeString(%q) = %q, want %q", tc.In, got, tc.Want)
			}
			if got := string(AppendEscaped([]byte("x"), []byte(tc.In))); got != "x"+tc.Want {
				t.Fatalf("AppendEscaped(%q) = %q", tc.In, got)
			}
		})
	}
}

// TestEscapeServerRanges checks every code point the protocol suite's
// JSONEncoding.test_xhr_server_encodes expects escaped, in lowercase hex.
func TestEscapeServerRanges(t *testing.T) {
	t.Parallel()
	for r := rune(0x100); r <= 0xffff; r++ {
		if r >= 0xd800 && r <= 0xdfff {
			continue
		}
		got := EscapeString(string(r))
		want := needsUnicodeEscape(r)
		if want && got != string(appendUnicodeEscape(nil, r)) {
			t.Fatalf("U+%04X escaped as %q", r, got)
		}
		if !want && got != string(r) {
			t.Fatalf("U+%04X escaped as %q, want verbatim", r, got)
		}
	}
}

func TestEscapeInvalidUTF8(t *testing.T) {
	t.Parallel()
	if got := EscapeString("a\xffb"); got != `a\ufffdb` {
		t.Fatalf("got %q", got)
	}
}

func TestFrames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{"close", AppendClose(nil, 3000, "Go away!"), `c[3000,"Go away!"]`},
		{"close escaped", AppendClose(nil, 2010, `a "b"`), `c[2010,"a \"b\""]`},
		{"array empty", AppendArray(nil), `a[]`},
		{"array", AppendArray(nil, []byte("x"), []byte(`\"y\"`)), `a["x","\"y\""]`},
		{"info", AppendInfo(nil, Info{WebSocket: true, Entropy: 42}),
			`{"websocket":true,"origins":["*:*"],"cookie_needed":false,"entropy":42}`},
		{"info cookie", AppendInfo(nil, Info{CookieNeeded: true, Entropy: 4294967295}),
			`{"websocket":false,"origins":["*:*"],"cookie_needed":true,"entropy":4294967295}`},
		{"quoted", AppendQuoted(nil, []byte("a\nb")), `"a\nb"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if string(tc.got) != tc.want {
				t.Fatalf("got %s, want %s", tc.got, tc.want)
			}
		})
	}
}

// TestEscapeMatchesJSON checks that escaped output is valid JSON that
// decodes back to the input, with encoding/json and with DecodeMessages.
func TestEscapeMatchesJSON(t *testing.T) {
	t.Parallel()
	var in []string
	for r := rune(0); r < 0x3000; r++ {
		in = append(in, string(r))
	}
	in = append(in, "\uffee\ufff0\uffff", "\U0001F600", "mixed \x01 \u2028 é")
	for _, s := range in {
		frame := AppendArray(nil, AppendEscaped(nil, []byte(s)))
		var got []string
		if err := json.Unmarshal(frame[1:], &got); err != nil || len(got) != 1 || got[0] != s {
			t.Fatalf("encoding/json of %q (%s) = %q, %v", s, frame, got, err)
		}
		msgs, err := DecodeMessages(frame[1:])
		if err != nil || len(msgs) != 1 || string(msgs[0]) != s {
			t.Fatalf("DecodeMessages of %q = %q, %v", s, msgs, err)
		}
	}
}
