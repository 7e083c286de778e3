package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const logsTestdata = "../../internal/logview/testdata"

func noEnv(string) string { return "" }

// runCmd runs the binary's entry point with args and stdin.
func runCmd(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, noEnv, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestLogsSubcommandHelp(t *testing.T) {
	t.Parallel()
	code, out, _ := runCmd(t, "", "logs", "--help")
	if code != 0 {
		t.Fatalf("eventara logs --help: exit %d", code)
	}
	for _, want := range []string{"Usage: eventara logs [flags] [FILE...]", "-timeline", "-json", "-at", "-since", "-until", "-actor", "-level", "-storm", "-storm-window", "-color", "-stacks"} {
		if !strings.Contains(out, want) {
			t.Errorf("eventara logs --help lacks %q:\n%s", want, out)
		}
	}
	// The service's own help is as it was, and names the subcommand.
	code, out, _ = runCmd(t, "", "--help")
	if code != 0 || !strings.Contains(out, "Usage: eventara [flags]") || !strings.Contains(out, "-addr") || !strings.Contains(out, "eventara logs [flags] [FILE...]") {
		t.Fatalf("eventara --help: exit %d\n%s", code, out)
	}
	if strings.Contains(out, "-timeline") {
		t.Errorf("eventara --help lists the logs flags:\n%s", out)
	}
}

func TestLogsFlagsAnywhere(t *testing.T) {
	t.Parallel()
	c, err := parseLogsConfig([]string{"a.log", "--timeline", "b.log", "--actor", "aggregator", "-", "--json"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if !c.timeline || !c.json || c.actor != "aggregator" || !reflect.DeepEqual(c.files, []string{"a.log", "b.log", "-"}) {
		t.Fatalf("config %+v", c)
	}
}

func TestLogsSubcommand(t *testing.T) {
	t.Parallel()
	storm := filepath.Join(logsTestdata, "window-storm.log")
	raw, err := os.ReadFile(storm)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name     string
		stdin    string
		args     []string
		code     int
		out, err string
	}{
		{name: "tree", args: []string{storm}, out: "└── topic"},
		{name: "timeline", args: []string{"--timeline", storm}, out: "└▶ aggregator"},
		{name: "stdin", stdin: string(raw), args: nil, out: "Node stdin:"},
		{name: "filters", args: []string{storm, "--actor", "ingest", "--since", "+1s", "--until", "-0s", "--at", "-0s", "--level", "warn", "--storm", "5", "--storm-window", "10s"},
			out: "showing since "},
		{name: "no such file", args: []string{"nowhere.log"}, code: 1, err: "nowhere.log"},
		{name: "bad time", args: []string{"--since", "yesterday", storm}, code: 2, err: "--since"},
		{name: "bad level", args: []string{"--level", "loud", storm}, code: 2, err: "--level"},
		{name: "bad storm", args: []string{"--storm", "0", storm}, code: 2, err: "--storm"},
		{name: "bad window", args: []string{"--storm-window", "soon", storm}, code: 2, err: "--storm-window"},
		{name: "bad color", args: []string{"--color", "pink", storm}, code: 2, err: "--color"},
		{name: "unknown flag", args: []string{"--tree", storm}, code: 2, err: "-tree"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runCmd(t, c.stdin, append([]string{"logs"}, c.args...)...)
			if code != c.code || !strings.Contains(out, c.out) || !strings.Contains(errOut, c.err) {
				t.Fatalf("exit %d (want %d)\nstdout:\n%s\nstderr:\n%s", code, c.code, out, errOut)
			}
			if code == 0 && strings.Contains(out, "\x1b[") {
				t.Errorf("colour on a buffer:\n%s", out)
			}
		})
	}
}

func TestLogsJSON(t *testing.T) {
	t.Parallel()
	code, out, errOut := runCmd(t, "", "logs", "--json", filepath.Join(logsTestdata, "subscription-stops.log"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var doc struct {
		Timeline []struct {
			Actor, Directive string
		}
		Nodes []struct {
			StoppedAt string `json:"stopped_at"`
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if len(doc.Timeline) != 4 || doc.Timeline[3].Directive != "stop" || len(doc.Nodes) != 1 || doc.Nodes[0].StoppedAt == "" {
		t.Fatalf("document %+v", doc)
	}
}

func TestLogsColor(t *testing.T) {
	t.Parallel()
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	if useColor("auto", &bytes.Buffer{}, noEnv) {
		t.Error("auto: colour on a buffer")
	}
	if !useColor("always", &bytes.Buffer{}, env(map[string]string{"NO_COLOR": "1"})) {
		t.Error("always: no colour")
	}
	if useColor("auto", os.Stdout, env(map[string]string{"NO_COLOR": "1"})) {
		t.Error("auto: colour despite NO_COLOR")
	}
}
