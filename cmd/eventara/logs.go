package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/eventara/eventara/internal/logview"
)

// logsCommand is the name of the subcommand that reads Eventara's logs
// (`eventara logs`); the service itself takes flags only.
const logsCommand = "logs"

// logsConfig is what `eventara logs` is asked for.
type logsConfig struct {
	timeline, json, stacks bool
	at, since, until       string
	actor, level, color    string
	stormFailures          int
	stormWindow            string
	files                  []string
}

func parseLogsConfig(args []string, out io.Writer) (*logsConfig, error) {
	c := &logsConfig{}
	fs := flag.NewFlagSet("eventara logs", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.BoolVar(&c.timeline, "timeline", false, "print each supervision decision in order (escalations as chains) instead of the tree")
	fs.BoolVar(&c.json, "json", false, "print one JSON document (storms, trees, timeline, skipped lines) for machines")
	fs.BoolVar(&c.stacks, "stacks", false, "keep each decision's stack: under it in --timeline, in --json")
	fs.StringVar(&c.at, "at", "", "show the tree as it was at `TIME` (lines after it are not read)")
	fs.StringVar(&c.since, "since", "", "count and list only decisions from `TIME` on (earlier lines still tell the state)")
	fs.StringVar(&c.until, "until", "", "read only lines up to `TIME`")
	fs.StringVar(&c.actor, "actor", "", "only the actor at `PATH` and below, as a fault's path prefix (aggregator, sessions/conn-3)")
	fs.StringVar(&c.level, "level", "", "read only lines at `LEVEL` or above: debug, info, warn, error")
	fs.IntVar(&c.stormFailures, "storm", logview.DefaultStormFailures, "a storm is an actor that failed more than `N` times within --storm-window")
	fs.StringVar(&c.stormWindow, "storm-window", logview.DefaultStormWindow.String(), "how long a storm's window is (a `DURATION` such as 30s)")
	fs.StringVar(&c.color, "color", "auto", "colour `MODE`: auto (when the output is a terminal and NO_COLOR is unset), always or never")
	fs.Usage = func() {
		fmt.Fprint(out, `Usage: eventara logs [flags] [FILE...]

Reads Eventara's JSON logs (stdin when no FILE is given; several files, such as
the logs of several nodes, are merged by time and told apart by node) and prints
the supervision tree: every actor seen, under its parent, with its kind, its
failures and restarts, and whether it is stopped, at the end of the log or --at
TIME. Storms come first; --timeline prints the decisions in order instead.
Lines that are not Eventara's (not JSON, other programs, protoactor's own, a last
line cut short) are skipped and counted at the end.

TIME is RFC 3339 (2026-12-07T20:42:45Z), a date and time in the log's zone
("2026-12-07 20:42:45"), a time of day on the log's first day (20:42:45.5),
+DURATION after the log's first line or -DURATION before its last (-2m).

Flags:
`)
		fs.PrintDefaults()
	}
	// Flags may come before, between or after the files.
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			break
		}
		c.files = append(c.files, fs.Arg(0))
		args = fs.Args()[1:]
	}
	return c, nil
}

// options turns the flags into the analysis' options.
func (c *logsConfig) options() (logview.ReadOptions, logview.Options, error) {
	ro := logview.ReadOptions{Stacks: c.stacks}
	o := logview.Options{Actor: strings.TrimSpace(c.actor), StormFailures: c.stormFailures}
	if c.level != "" {
		if ro.MinLevel = logview.ParseLevel(c.level); ro.MinLevel == logview.LevelUnknown {
			return ro, o, fmt.Errorf("--level %q: want debug, info, warn or error", c.level)
		}
	}
	for _, t := range []struct {
		name string
		val  string
		dst  *logview.TimeSpec
	}{{"at", c.at, &o.At}, {"since", c.since, &o.Since}, {"until", c.until, &o.Until}} {
		spec, err := logview.ParseTimeSpec(t.val)
		if err != nil {
			return ro, o, fmt.Errorf("--%s %w", t.name, err)
		}
		*t.dst = spec
	}
	if c.stormFailures < 1 {
		return ro, o, errors.New("--storm must be at least 1")
	}
	d, err := time.ParseDuration(c.stormWindow)
	if err != nil || d <= 0 {
		return ro, o, fmt.Errorf("--storm-window %q: want a positive duration such as 30s or 1m", c.stormWindow)
	}
	o.StormWindow = d
	switch c.color {
	case "auto", "always", "never":
	default:
		return ro, o, fmt.Errorf("--color %q: want auto, always or never", c.color)
	}
	return ro, o, nil
}

// runLogs is `eventara logs`: it exits 0 when it could read every input,
// 1 when one could not be opened or read, 2 on a usage error.
func runLogs(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	c, err := parseLogsConfig(args, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "eventara logs:", err)
		return 2
	}
	ro, o, err := c.options()
	if err != nil {
		fmt.Fprintln(stderr, "eventara logs:", err)
		return 2
	}
	var inputs []logview.Input
	if len(c.files) == 0 {
		inputs = append(inputs, logview.Input{Name: "-", R: stdin})
	}
	for _, name := range c.files {
		if name == "-" {
			inputs = append(inputs, logview.Input{Name: "-", R: stdin})
			continue
		}
		f, err := os.Open(name)
		if err != nil {
			fmt.Fprintln(stderr, "eventara logs:", err)
			return 1
		}
		defer f.Close()
		inputs = append(inputs, logview.Input{Name: name, R: f})
	}
	code := 0
	l, err := logview.Read(inputs, ro)
	if err != nil {
		fmt.Fprintln(stderr, "eventara logs:", err)
		code = 1 // what was read is still shown
	}
	a := logview.Analyze(l, o)
	if c.json {
		err = a.WriteJSON(stdout)
	} else {
		err = a.WriteText(stdout, logview.TextOptions{Timeline: c.timeline, Stacks: c.stacks, Color: useColor(c.color, stdout, getenv)})
	}
	if err != nil {
		fmt.Fprintln(stderr, "eventara logs:", err)
		return 1
	}
	return code
}

// useColor: always, never, or (auto) when out is a terminal, NO_COLOR is
// unset and TERM is not dumb.
func useColor(mode string, out io.Writer, getenv func(string) string) bool {
	switch mode {
	case "always":
		return true
	case "never":
		return false
	}
	if getenv("NO_COLOR") != "" || getenv("TERM") == "dumb" {
		return false
	}
	f, ok := out.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
