package test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/eventara/eventara/internal/testutil"
)

var logviewTestdata = flag.String("logview-testdata", "",
	"write the fault scenarios' logs into this directory (internal/logview/testdata), as their golden tests' input")

// TestGenerateLogviewTestdata is not a check: with -logview-testdata DIR it
// runs each fault scenario on its own server, ends the server (SIGKILL,
// as after a crash, or SIGTERM) and writes its log into DIR. The golden
// tests of internal/logview read those logs:
//
//	make build && EVENTARA_BIN=$PWD/bin/eventara go test ./test/ -run TestGenerateLogviewTestdata \
//	    -args -logview-testdata=$PWD/internal/logview/testdata
func TestGenerateLogviewTestdata(t *testing.T) {
	if *logviewTestdata == "" {
		t.Skip("writes internal/logview's testdata when run with -args -logview-testdata=DIR")
	}
	t.Run("cluster", func(t *testing.T) {
		// Two nodes at once, so that their logs interleave in time.
		a, b := startServer(t, "--fault-injection"), startServer(t, "--fault-injection")
		scenarioWindowStorm(t, a)
		scenarioConnectionFails(t, b)
		scenarioSubscriptionStops(t, a)
		a.kill()
		b.kill()
		for name, s := range map[string]*server{"cluster-a": a, "cluster-b": b} {
			if err := os.WriteFile(filepath.Join(*logviewTestdata, name+".log"), []byte(s.logs.String()), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	})
	for _, sc := range []struct {
		name string
		run  func(testing.TB, *server) []injected
		kill bool
	}{
		{"window-storm", scenarioWindowStorm, true},
		{"subscription-stops", scenarioSubscriptionStops, false},
		{"connection-fails", scenarioConnectionFails, true},
	} {
		t.Run(sc.name, func(t *testing.T) {
			s := startServer(t, "--fault-injection")
			sc.run(t, s)
			if sc.kill {
				s.kill()
			} else if err := s.stop(); err != nil {
				t.Fatalf("stop: %v", err)
			}
			if err := os.WriteFile(filepath.Join(*logviewTestdata, sc.name+".log"), []byte(s.logs.String()), 0o644); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestLogsPostMortem is the post-mortem of the README: a server with
// --fault-injection goes through a window storm that escalates to the
// aggregator, a subscription that fails past its restarts and stops, and a
// connection that fails; it is killed with SIGKILL; `eventara logs` then
// finds each failure in the log it left, at its path, with its directive.
func TestLogsPostMortem(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--fault-injection")
	var injections []injected
	injections = append(injections, scenarioWindowStorm(t, s)...)
	injections = append(injections, scenarioSubscriptionStops(t, s)...)
	injections = append(injections, scenarioConnectionFails(t, s)...)
	s.kill()
	logFile := filepath.Join(t.TempDir(), "eventara.log")
	if err := os.WriteFile(logFile, []byte(s.logs.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	var doc logsDoc
	if err := json.Unmarshal(runLogsCmd(t, "--json", logFile), &doc); err != nil {
		t.Fatalf("eventara logs --json: %v", err)
	}
	if len(doc.Nodes) != 1 || doc.Nodes[0].StoppedAt != "" {
		t.Fatalf("nodes %+v: want one, not stopped cleanly (it was killed)", doc.Nodes)
	}
	for _, in := range injections {
		a := doc.Nodes[0].Tree.find(in.actor)
		if a == nil {
			t.Errorf("%s: not in the tree", in.actor)
			continue
		}
		var last *logsDecision
		for i := range doc.Timeline {
			if d := &doc.Timeline[i]; d.Actor == in.actor {
				last = d
			}
		}
		if last == nil || last.Directive != in.directive || a.Failures != in.failures {
			t.Errorf("%s: last decision %+v, %d failures; want %s after %d failures", in.actor, last, a.Failures, in.directive, in.failures)
		}
		if in.directive == "stop" && a.State != "stopped" {
			t.Errorf("%s: state %s, want stopped", in.actor, a.State)
		}
		if in.directive == "escalate" && (a.State != "running" || a.Escalations != 1 || !reflect.DeepEqual(last.Chain, []string{in.actor, "aggregator"})) {
			t.Errorf("%s: state %s, %d escalations, chain %v; want running again (its parent restarted it), one escalation to the aggregator",
				in.actor, a.State, a.Escalations, last.Chain)
		}
	}
	storms := map[string]bool{}
	for _, st := range doc.Storms {
		storms[st.Actor] = true
	}
	if !storms["aggregator/window-last1Minute"] || len(doc.Storms) != 2 {
		t.Errorf("storms %+v: want the window's and the subscription's", doc.Storms)
	}

	// The same for people: the escalation as a chain, each failed path.
	out := string(runLogsCmd(t, "--timeline", logFile))
	for _, want := range []string{"└▶ aggregator", "no shutdown: killed", "Storms: more than 3 failures within 1m"} {
		if !strings.Contains(out, want) {
			t.Errorf("eventara logs --timeline lacks %q:\n%s", want, out)
		}
	}
	for _, in := range injections {
		if !strings.Contains(out, in.actor) {
			t.Errorf("eventara logs --timeline lacks %s:\n%s", in.actor, out)
		}
	}
}

// runLogsCmd runs `eventara logs` with args and returns its output.
func runLogsCmd(t *testing.T, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Patience)
	defer cancel()
	cmd := exec.CommandContext(ctx, testutil.Binary(), append([]string{"logs"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("eventara logs %v: %v\n%s", args, err, stderr.String())
	}
	return out
}

// logsDoc is the part of `eventara logs --json` the test reads.
type logsDoc struct {
	Nodes []struct {
		StoppedAt string     `json:"stopped_at"`
		Tree      *logsActor `json:"tree"`
	} `json:"nodes"`
	Timeline []logsDecision `json:"timeline"`
	Storms   []struct {
		Actor string `json:"actor"`
	} `json:"storms"`
}

type logsDecision struct {
	Actor     string   `json:"actor"`
	Directive string   `json:"directive"`
	Chain     []string `json:"chain"`
}

type logsActor struct {
	Path        string       `json:"path"`
	State       string       `json:"state"`
	Failures    int          `json:"failures"`
	Escalations int          `json:"escalations"`
	Children    []*logsActor `json:"children"`
}

func (a *logsActor) find(path string) *logsActor {
	if a == nil {
		return nil
	}
	if a.Path == path {
		return a
	}
	for _, c := range a.Children {
		if f := c.find(path); f != nil {
			return f
		}
	}
	return nil
}
