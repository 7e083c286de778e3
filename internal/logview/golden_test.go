package logview

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The logs in testdata/ come from real runs of the binary with injected
// faults (test/logs_test.go, TestGenerateLogviewTestdata, writes them);
// messy.log is window-storm.log with what real logs also hold mixed in
// (makeMessy). Each case's tree, timeline and JSON are compared with the
// files in testdata/golden/; -update writes them (and messy.log) anew.
var update = flag.Bool("update", false, "rewrite testdata/golden/* (and testdata/messy.log) from the current output")

var goldenCases = []struct {
	name   string
	inputs []string
	opts   Options
}{
	{name: "window-storm", inputs: []string{"window-storm.log"}},
	{name: "subscription-stops", inputs: []string{"subscription-stops.log"}},
	{name: "connection-fails", inputs: []string{"connection-fails.log"}},
	{name: "cluster", inputs: []string{"cluster-a.log", "cluster-b.log"}},
	{name: "messy", inputs: []string{"messy.log"}},
	{name: "cluster-subscriptions", inputs: []string{"cluster-a.log", "cluster-b.log"}, opts: Options{Actor: "sessions/conn-1"}},
}

func TestGolden(t *testing.T) {
	if *update {
		writeMessy(t)
	}
	for _, c := range goldenCases {
		t.Run(c.name, func(t *testing.T) {
			a := analyzeFiles(t, c.opts, ReadOptions{}, c.inputs...)
			var tree, timeline, js bytes.Buffer
			if err := a.WriteText(&tree, TextOptions{}); err != nil {
				t.Fatal(err)
			}
			if err := a.WriteText(&timeline, TextOptions{Timeline: true}); err != nil {
				t.Fatal(err)
			}
			if err := a.WriteJSON(&js); err != nil {
				t.Fatal(err)
			}
			golden(t, c.name+".tree.txt", tree.Bytes())
			golden(t, c.name+".timeline.txt", timeline.Bytes())
			golden(t, c.name+".json", js.Bytes())
		})
	}
}

// analyzeFiles reads testdata files (named as given, so that the output
// does not depend on where the test runs).
func analyzeFiles(t testing.TB, opts Options, ro ReadOptions, names ...string) *Analysis {
	t.Helper()
	var inputs []Input
	for _, n := range names {
		f, err := os.Open(filepath.Join("testdata", n))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		inputs = append(inputs, Input{Name: n, R: f})
	}
	l, err := Read(inputs, ro)
	if err != nil {
		t.Fatal(err)
	}
	return Analyze(l, opts)
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./internal/logview -update writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test ./internal/logview -run TestGolden -update rewrites it):\n%s",
			path, lineDiff(string(want), string(got)))
	}
}

// lineDiff shows the first lines that differ.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < max(len(w), len(g)) && shown < 10; i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  want %q\n  got  %q\n", i+1, wl, gl)
			shown++
		}
	}
	return b.String()
}

// writeMessy makes testdata/messy.log: window-storm.log with the things a
// real log holds besides Eventara's lines, each where a reader meets it.
func writeMessy(t *testing.T) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "window-storm.log"))
	if err != nil {
		t.Fatal(err)
	}
	src := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	var first time.Time
	for _, l := range src {
		var v struct{ Time time.Time }
		if json.Unmarshal([]byte(l), &v) == nil && !v.Time.IsZero() {
			first = v.Time
			break
		}
	}
	at := func(d time.Duration) string { return first.Add(d).Format(time.RFC3339Nano) }
	older, _ := json.Marshal(map[string]any{ // an older version's decision: every field spelt otherwise
		"level": "warn", "component": "actors", "message": "supervision decision",
		"time":   float64(first.Add(5*time.Millisecond).UnixMicro()) / 1e6,
		"actor":  map[string]string{"Address": "nonhost", "Id": "aggregator/window-last5Minutes"},
		"reason": "boom (an older version's line)", "directive": "restart", "restarts": 1, "backoff": "10ms", "msg_type": "applyBatch",
	})
	var out []string
	out = append(out, "Dec 07 20:43:05 node1 systemd[1]: Started eventara.service - Eventara.")
	out = append(out, src[:6]...)
	out = append(out,
		"",
		`{"ts":"`+at(time.Millisecond)+`","severity":"INFO","text":"a sidecar writing JSON of its own"}`,
		"20:43:05.900 WRN supervision decision actor=aggregator/window-last5Minutes directive=restart (--log-format console)",
		"Dec 07 20:43:05 node1 eventara[4242]: "+src[6], // journalctl's prefix
	)
	out = append(out, src[7:12]...)
	out = append(out,
		src[12]+"\r", // a CRLF line end
		string(older),
		`{"level":"warn","time":"`+at(6*time.Millisecond)+`","msg":"supervision decision","actor":"ingest","reason":"no directive"}`,
		`{"level":"info","component":"protoactor","time":"`+at(7*time.Millisecond)+`","msg":"[ACTOR] Recovering"}`,
		`{"level":"info","time":"`+at(8*time.Millisecond)+`","msg":"hello","actor":"sessions//conn-1"}`,
		`{"level":"info","msg":"a line without a time","actor":"ingest"}`,
	)
	out = append(out, src[13:len(src)-1]...)
	out = append(out, "\x00\x01 binary noise \x1b[31m")
	last := src[len(src)-1]
	text := strings.Join(out, "\n") + "\n" + last[:len(last)/2] // cut short, no newline
	if err := os.WriteFile(filepath.Join("testdata", "messy.log"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
