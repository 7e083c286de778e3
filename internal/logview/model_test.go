package logview

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 7, 20, 0, 0, 0, time.UTC)

// entry is a log line to write: its fields, and its time as an offset
// from t0.
type entry struct {
	after  time.Duration
	fields map[string]any
}

func line(after time.Duration, msg string, kv ...any) entry {
	f := map[string]any{"level": "info", "msg": msg}
	for i := 0; i+1 < len(kv); i += 2 {
		f[kv[i].(string)] = kv[i+1]
	}
	return entry{after, f}
}

func started(after time.Duration, path string) entry {
	return line(after, msgStarted, "actor", path, "parent", parentOf(path), "kind", inferKind(path))
}

func decided(after time.Duration, path, directive string, n int, backoff time.Duration, reason string) entry {
	e := line(after, msgDecision, "actor", path, "parent", parentOf(path), "kind", inferKind(path), "directive", directive,
		"restarts", n, "backoff", float64(backoff)/float64(time.Millisecond), "reason", reason, "msg_type", "applyBatch")
	e.fields["level"] = "warn"
	return e
}

// render writes entries as Eventara writes its lines.
func render(entries ...entry) string {
	var b strings.Builder
	for _, e := range entries {
		f := map[string]any{"time": t0.Add(e.after).Format(time.RFC3339Nano)} // entries are shared: no writes to them
		for k, v := range e.fields {
			f[k] = v
		}
		js, _ := json.Marshal(f)
		b.Write(js)
		b.WriteByte('\n')
	}
	return b.String()
}

func analyze(t *testing.T, opts Options, logs ...string) *Analysis {
	t.Helper()
	var in []Input
	for i, l := range logs {
		in = append(in, Input{Name: "node" + itoa(i+1) + ".log", R: strings.NewReader(l)})
	}
	l, err := Read(in, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return Analyze(l, opts)
}

func find(t *testing.T, a *Analysis, node, path string) *Actor {
	t.Helper()
	for _, n := range a.Nodes {
		if n.Name != node {
			continue
		}
		var walk func(x *Actor) *Actor
		walk = func(x *Actor) *Actor {
			if x.Path == path {
				return x
			}
			for _, c := range x.Children {
				if f := walk(c); f != nil {
					return f
				}
			}
			return nil
		}
		if f := walk(n.Root); f != nil {
			return f
		}
	}
	t.Fatalf("no %s in node %s", path, node)
	return nil
}

func spec(t *testing.T, s string) TimeSpec {
	t.Helper()
	ts, err := ParseTimeSpec(s)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func TestStateNeedsEvidence(t *testing.T) {
	t.Parallel()
	const w = "aggregator/window-last1Minute"
	start := func(more ...entry) []entry {
		return append([]entry{line(0, msgRecovered), started(1*time.Millisecond, "aggregator"), started(2*time.Millisecond, w)}, more...)
	}

	t.Run("a restart within its backoff at the end of the log", func(t *testing.T) {
		t.Parallel()
		log := render(start(decided(time.Second, w, "restart", 1, time.Second, "boom"))...)
		if got := find(t, analyze(t, Options{}, log), "node1.log", w); got.State != StateRestarting || got.Restarts != 1 {
			t.Fatalf("got %+v", got)
		}
	})
	t.Run("a restart whose backoff passed", func(t *testing.T) {
		t.Parallel()
		log := render(start(decided(time.Second, w, "restart", 1, 10*time.Millisecond, "boom"), started(2*time.Second, "ingest"))...)
		if got := find(t, analyze(t, Options{}, log), "node1.log", w); got.State != StateRunning {
			t.Fatalf("got %+v", got)
		}
	})
	t.Run("at a moment inside the backoff", func(t *testing.T) {
		t.Parallel()
		log := render(start(decided(time.Second, w, "restart", 1, time.Second, "boom"), started(2*time.Second, w))...)
		a := analyze(t, Options{At: spec(t, "+1500ms")}, log)
		if got := find(t, a, "node1.log", w); got.State != StateRestarting {
			t.Fatalf("at +1.5s: %+v", got)
		}
		if got := find(t, analyze(t, Options{}, log), "node1.log", w); got.State != StateRunning {
			t.Fatalf("at the end: %+v", got)
		}
	})
	t.Run("a parent's restart stops its children until they start again", func(t *testing.T) {
		t.Parallel()
		log := render(start(decided(time.Second, "aggregator", "restart", 1, time.Millisecond, "boom"))...)
		if got := find(t, analyze(t, Options{}, log), "node1.log", w); got.State != StateStopped || got.Cause != "stopped with the restart of aggregator" {
			t.Fatalf("before: %+v", got)
		}
		log = render(start(decided(time.Second, "aggregator", "restart", 1, time.Millisecond, "boom"), started(time.Second+2*time.Millisecond, w))...)
		if got := find(t, analyze(t, Options{}, log), "node1.log", w); got.State != StateRunning {
			t.Fatalf("after: %+v", got)
		}
	})
	t.Run("a stopped connection's own last lines do not bring it back", func(t *testing.T) {
		t.Parallel()
		log := render(start(
			decided(time.Second, "sessions/conn-1", "stop", 1, 0, "boom"),
			line(time.Second+time.Millisecond, "session closed", "actor", "sessions/conn-1", "code", 1011, "reason", "connection actor failed"),
			line(time.Second+2*time.Millisecond, "something else", "actor", "sessions/conn-1"),
		)...)
		a := analyze(t, Options{}, log)
		if got := find(t, a, "node1.log", "sessions/conn-1"); got.State != StateStopped || !strings.HasPrefix(got.Cause, "stopped by sessions on failure 1: boom") {
			t.Fatalf("got %+v", got)
		}
	})
	t.Run("a closed session stops its subscriptions", func(t *testing.T) {
		t.Parallel()
		log := render(start(
			line(time.Second, "x", "actor", "sessions/conn-1/sub-1"),
			line(2*time.Second, "session closed", "actor", "sessions/conn-1", "code", 1000, "reason", "bye"),
		)...)
		a := analyze(t, Options{}, log)
		if got := find(t, a, "node1.log", "sessions/conn-1"); got.State != StateStopped || got.Cause != "session closed 1000 (bye)" {
			t.Fatalf("connection: %+v", got)
		}
		if got := find(t, a, "node1.log", "sessions/conn-1/sub-1"); got.State != StateStopped || got.Cause != "stopped with sessions/conn-1" {
			t.Fatalf("subscription: %+v", got)
		}
	})
	t.Run("an escalation its parent never answered", func(t *testing.T) {
		t.Parallel()
		log := render(start(decided(time.Second, w, "escalate", 6, 0, "boom"))...)
		a := analyze(t, Options{}, log)
		if got := find(t, a, "node1.log", w); got.State != StateEscalated || got.Escalations != 1 {
			t.Fatalf("got %+v", got)
		}
		var out bytes.Buffer
		if err := a.WriteText(&out, TextOptions{Timeline: true}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), "└▶ ?") || !strings.Contains(out.String(), "(no decision of aggregator on it in the log)") {
			t.Fatalf("timeline:\n%s", out.String())
		}
	})
}

func TestProcessRestartsInOneLog(t *testing.T) {
	t.Parallel()
	log := render(
		line(0, msgRecovered), started(time.Millisecond, "ingest"), started(time.Millisecond, "sessions"),
		line(time.Second, "client error", "actor", "sessions/conn-5"),
		// killed; systemd starts it again, into the same file
		line(time.Minute, msgRecovered), started(time.Minute+time.Millisecond, "ingest"),
		line(2*time.Minute, msgShuttingDown), line(2*time.Minute+time.Second, msgStopped),
	)
	a := analyze(t, Options{}, log)
	n := a.Nodes[0]
	if n.Runs != 2 || n.StoppedAt.IsZero() {
		t.Fatalf("runs %d, stopped at %v", n.Runs, n.StoppedAt)
	}
	if got := find(t, a, "node1.log", "ingest"); got.State != StateRunning {
		t.Errorf("ingest, started again: %+v", got)
	}
	for _, p := range []string{"sessions", "sessions/conn-5"} {
		if got := find(t, a, "node1.log", p); got.State != StateStopped || !strings.HasPrefix(got.Cause, "gone with its process") {
			t.Errorf("%s, not seen in the second run: %+v", p, got)
		}
	}
	// A line of the new run brings an actor (and its ancestors) back.
	log2 := log + render(line(2*time.Minute, "client error", "actor", "sessions/conn-5"))
	if got := find(t, analyze(t, Options{}, log2), "node1.log", "sessions"); got.State != StateRunning {
		t.Errorf("sessions, seen again: %+v", got)
	}
}

func TestFiltersAndStorms(t *testing.T) {
	t.Parallel()
	const sub = "sessions/conn-1/sub-1"
	var es []entry
	es = append(es, line(0, msgRecovered))
	// Four failures a minute apart (no storm in a minute), then four within
	// a second (a storm).
	for i := 0; i < 4; i++ {
		es = append(es, decided(time.Duration(i)*61*time.Second, sub, "restart", 1, time.Millisecond, "slow"))
	}
	for i := 0; i < 4; i++ {
		es = append(es, decided(10*time.Minute+time.Duration(i)*100*time.Millisecond, "sessions/conn-12", "restart", i+1, time.Millisecond, "fast"))
	}
	log := render(es...)

	a := analyze(t, Options{}, log)
	if len(a.Storms) != 1 || a.Storms[0].Actor != "sessions/conn-12" || a.Storms[0].Failures != 4 ||
		!reflect.DeepEqual(a.Storms[0].Directives, map[string]int{"restart": 4}) {
		t.Fatalf("storms %+v", a.Storms)
	}
	if a := analyze(t, Options{StormWindow: 5 * time.Minute}, log); len(a.Storms) != 2 {
		t.Fatalf("with a 5 minute window: storms %+v", a.Storms)
	}

	// --actor is a path prefix: conn-1 is not conn-12.
	a = analyze(t, Options{Actor: "sessions/conn-1"}, log)
	if len(a.Timeline) != 4 || a.Timeline[0].Actor != sub || len(a.Storms) != 0 {
		t.Fatalf("--actor sessions/conn-1: timeline %v, storms %v", a.Timeline, a.Storms)
	}
	if kids := a.Nodes[0].Root.Children; len(kids) != 1 || len(kids[0].Children) != 1 || kids[0].Children[0].Path != "sessions/conn-1" {
		t.Fatalf("--actor sessions/conn-1: tree %+v", kids)
	}

	// --since counts from then on; --until stops reading.
	a = analyze(t, Options{Since: spec(t, "+2m")}, log)
	if got := find(t, a, "node1.log", sub); got.Failures != 2 || len(a.Timeline) != 6 || a.Timeline[0].Seq != 1 {
		t.Fatalf("--since +2m: %+v, %d decisions", got, len(a.Timeline))
	}
	a = analyze(t, Options{Until: spec(t, "20:05")}, log)
	if len(a.Timeline) != 4 || len(a.Nodes[0].Root.Children[0].Children) != 1 {
		t.Fatalf("--until 20:05: %v", a.Timeline)
	}
}

func TestNodesMergeByTime(t *testing.T) {
	t.Parallel()
	a := render(decided(time.Second, "ingest", "restart", 1, time.Millisecond, "a1"), decided(3*time.Second, "ingest", "restart", 2, time.Millisecond, "a2"))
	b := render(decided(2*time.Second, "ingest", "restart", 1, time.Millisecond, "b1"),
		line(4*time.Second, "x", "actor", "topic", "node", "named"))
	an := analyze(t, Options{}, a, b)
	var got []string
	for _, d := range an.Timeline {
		got = append(got, d.Node+":"+d.Reason)
	}
	if want := []string{"node1.log:a1", "node2.log:b1", "node1.log:a2"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("timeline %v, want %v", got, want)
	}
	var names []string
	for _, n := range an.Nodes {
		names = append(names, n.Name)
	}
	if want := []string{"named", "node1.log", "node2.log"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("nodes %v, want %v (a line's node field names its node)", names, want)
	}
}

func TestNodeNames(t *testing.T) {
	t.Parallel()
	got := nodeNames([]Input{{Name: "a/eventara.log"}, {Name: "./b/eventara.log"}, {Name: "c.log"}, {Name: "-"}})
	if want := []string{"a/eventara.log", "b/eventara.log", "c.log", "stdin"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestColorOnlyWhenAsked(t *testing.T) {
	t.Parallel()
	a := analyzeFiles(t, Options{}, ReadOptions{}, "subscription-stops.log")
	var plain, colored bytes.Buffer
	if err := a.WriteText(&plain, TextOptions{Timeline: true}); err != nil {
		t.Fatal(err)
	}
	if err := a.WriteText(&colored, TextOptions{Timeline: true, Color: true}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(plain.String(), "\x1b[") {
		t.Errorf("escape sequences without Color")
	}
	if !strings.Contains(colored.String(), "\x1b[31mstop") {
		t.Errorf("no red stop with Color:\n%s", colored.String())
	}
}

func TestStacks(t *testing.T) {
	t.Parallel()
	a := analyzeFiles(t, Options{}, ReadOptions{Stacks: true}, "connection-fails.log")
	if len(a.Timeline) != 1 || !strings.Contains(a.Timeline[0].Stack, "runtime/debug.Stack") {
		t.Fatalf("timeline %v", a.Timeline)
	}
	var out bytes.Buffer
	if err := a.WriteText(&out, TextOptions{Timeline: true, Stacks: true}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "      runtime/debug.Stack()") {
		t.Fatalf("no stack under the decision:\n%s", out.String())
	}
	if a := analyzeFiles(t, Options{}, ReadOptions{}, "connection-fails.log"); a.Timeline[0].Stack != "" {
		t.Fatalf("a stack kept without Stacks")
	}
}

// TestLongEscalationChainStaysLinear: a log can claim an escalation chain
// as long as it is (decisions on "root", each escalated from "root"); the
// output stays about as large as the log, not its square.
func TestLongEscalationChainStaysLinear(t *testing.T) {
	t.Parallel()
	var es []entry
	for i := 0; i < 5000; i++ {
		es = append(es, decided(time.Duration(i)*time.Millisecond, "root", "escalate", 1, 0, "escalated from root: x"))
	}
	log := render(es...)
	a := analyze(t, Options{Actor: "root"}, log)
	if n := len(a.Timeline); n != 5000 || len(a.Timeline[0].Chain()) != 5000 {
		t.Fatalf("%d decisions, a chain of %d", n, len(a.Timeline[0].Chain()))
	}
	var text, js bytes.Buffer
	if err := a.WriteText(&text, TextOptions{Timeline: true}); err != nil {
		t.Fatal(err)
	}
	if err := a.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	if text.Len() > 2*len(log) || js.Len() > 4*len(log) {
		t.Fatalf("a %d-byte log gave %d bytes of timeline and %d of JSON", len(log), text.Len(), js.Len())
	}
}
