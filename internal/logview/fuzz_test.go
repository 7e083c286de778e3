package logview

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// FuzzReadLog: no input makes the reader, the analysis or the renderers
// panic or hang. Each input is read as two nodes, split where its first
// byte says (so one may be empty), with a small line limit so that long
// lines are met too. The seeds are lines of the golden logs (real runs):
// the first line of each message (and directive) there, its stack cut
// short, and an escalation with its parent's decision; then shapes worth
// trying. Seeds stay small: the fuzzer minimizes each new input it finds,
// in time quadratic in its length.
func FuzzReadLog(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.log"))
	stacks := regexp.MustCompile(`"stack":"(?:[^"\\]|\\.)*"`)
	seen := map[string]bool{}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		b = stacks.ReplaceAll(b, []byte(`"stack":"goroutine 1 [running]:\n"`))
		var prev []byte
		for _, l := range bytes.SplitAfter(b, []byte("\n")) {
			var v struct{ Msg, Directive string }
			_ = json.Unmarshal(l, &v)
			if !seen[v.Msg+v.Directive] {
				seen[v.Msg+v.Directive] = true
				f.Add(l)
			}
			if bytes.Contains(l, []byte(`"reason":"escalated from`)) {
				f.Add(append(append([]byte(nil), prev...), l...))
			}
			prev = l
		}
	}
	for _, s := range []string{
		"",
		"\n\n\r\n",
		"{",
		`{"level":"warn","time":"2026-12-07T20:42:45Z","msg":"supervision decision","actor":"a","directive":"escalate","reason":"escalated from a/b: x"}`,
		`{"level":"warn","time":"2026-12-07T20:42:45Z","msg":"supervision decision","actor":"a/b","directive":"escalate"}` + "\n" +
			`{"level":"warn","time":"2026-12-07T20:42:45Z","msg":"supervision decision","actor":"a","directive":"restart","backoff":1e300,"reason":"escalated from a/b: x"}`,
		`{"level":"info","time":-1,"msg":"x","actor":"root"}`,
		`{"level":"info","time":"2026-12-07T20:42:45Z","msg":"state recovered"}` + "\n" + `{"level":"info","time":"2026-12-07T20:42:44Z","msg":"state recovered","actor":"a/b/c"}`,
		`x {"level":"info","time":1e12,"message":"session closed","actor":{"Id":"sessions/conn-1"},"code":1e99}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		split := 0
		if len(data) > 0 {
			split = int(data[0]) % (len(data) + 1)
		}
		inputs := []Input{{Name: "a.log", R: bytes.NewReader(data[:split])}, {Name: "b.log", R: bytes.NewReader(data[split:])}}
		l, err := Read(inputs, ReadOptions{MaxLine: 2048, Stacks: true})
		if err != nil {
			t.Fatal(err)
		}
		opts := Options{} // every other input with filters: they prune the tree and the timeline
		if split%2 == 1 {
			opts = Options{Actor: "a", Since: TimeSpec{kind: specFromStart, rel: time.Millisecond}, At: TimeSpec{kind: specFromEnd}}
		}
		a := Analyze(l, opts)
		if err := a.WriteText(io.Discard, TextOptions{Timeline: true, Color: true, Stacks: true}); err != nil {
			t.Fatal(err)
		}
		if err := a.WriteText(io.Discard, TextOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := a.WriteJSON(io.Discard); err != nil {
			t.Fatal(err)
		}
	})
}
