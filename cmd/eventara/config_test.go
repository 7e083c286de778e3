package main

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/eventara/eventara/journal"
)

func TestParseConfig(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		args    []string
		env     map[string]string
		check   func(*config) bool
		wantErr string
	}{
		{"defaults", nil, nil, func(c *config) bool {
			return c.Addr == ":8080" && c.DataDir == "./data" && c.LogFormat == "json" && c.Retention == 7*24*time.Hour && !c.SockJSTestServices
		}, ""},
		{"env twin", nil, map[string]string{"EVENTARA_ADDR": ":9090", "EVENTARA_DATA_DIR": "/tmp/x", "EVENTARA_SOCKJS_TEST_SERVICES": "true"},
			func(c *config) bool { return c.Addr == ":9090" && c.DataDir == "/tmp/x" && c.SockJSTestServices }, ""},
		{"flag beats env", []string{"--addr", ":7070"}, map[string]string{"EVENTARA_ADDR": ":9090"},
			func(c *config) bool { return c.Addr == ":7070" }, ""},
		{"retention", []string{"--retention", "48h"}, nil, func(c *config) bool { return c.Retention == 48*time.Hour }, ""},
		{"bad log format", []string{"--log-format", "xml"}, nil, nil, "--log-format"},
		{"bad env duration", nil, map[string]string{"EVENTARA_RETENTION": "soon"}, nil, "EVENTARA_RETENTION"},
		{"zero retention", []string{"--retention", "0s"}, nil, nil, "--retention"},
		{"stray argument", []string{"serve"}, nil, nil, "unexpected"},
		{"queue defaults", nil, nil, func(c *config) bool {
			q := c.Queues
			return q.MaxPendingEvents == 200_000 && q.SessionQueueLength == 64 && q.WriteTimeout == 10*time.Second &&
				q.SockJSHeartbeat == 25*time.Second && q.SockJSDisconnectDelay == 5*time.Second && q.StompHeartbeat == 10*time.Second
		}, ""},
		{"session queue length", []string{"--session-queue-length", "8"}, nil, func(c *config) bool { return c.Queues.SessionQueueLength == 8 }, ""},
		{"zero pending events", []string{"--max-pending-events", "0"}, nil, nil, "--max-pending-events"},
		{"disk free limit default", nil, nil, func(c *config) bool { return c.Disk.FreeLimit == journal.DefaultDiskFreeLimit }, ""},
		{"disk free limit env percentage", nil, map[string]string{"EVENTARA_DISK_FREE_LIMIT": "5%"},
			func(c *config) bool { return c.Disk.FreeLimit == journal.DiskLimit{Percent: 5} }, ""},
		{"disk free limit size", []string{"--disk-free-limit", "1GB"}, nil,
			func(c *config) bool { return c.Disk.FreeLimit == journal.DiskLimit{Bytes: 1e9} }, ""},
		{"disk free limit off", []string{"--disk-free-limit", "0"}, nil,
			func(c *config) bool { return c.Disk.FreeLimit == journal.DiskLimit{Off: true} }, ""},
		{"bad disk free limit", []string{"--disk-free-limit", "lots"}, nil, nil, "disk-free-limit"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			cfg, err := parseConfig(c.args, func(k string) string { return c.env[k] }, &out)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error()+out.String(), c.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !c.check(cfg) {
				t.Fatalf("config = %+v", cfg)
			}
		})
	}
}

func TestHelpListsEveryFlagWithItsEnvTwin(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	_, err := parseConfig([]string{"--help"}, func(string) string { return "" }, &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("err = %v", err)
	}
	// Every registered flag, whichever file registers it.
	var names []string
	fs := &flagSet{flag.NewFlagSet("x", flag.ContinueOnError)}
	c := &config{}
	for _, register := range extraFlags {
		register(fs, c)
	}
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	names = append(names, "addr", "data-dir", "log-level", "log-format", "retention", "checkpoint-interval", "shutdown-timeout", "sockjs-test-services")
	for _, name := range names {
		if !strings.Contains(out.String(), "-"+name) || !strings.Contains(out.String(), envName(name)) {
			t.Errorf("--help lacks %s or %s:\n%s", name, envName(name), out.String())
		}
	}
}

// TestReadmeListsEveryFlag: the README's configuration tables name every
// flag --help lists.
func TestReadmeListsEveryFlag(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	fs := &flagSet{flag.NewFlagSet("x", flag.ContinueOnError)}
	fs.SetOutput(io.Discard)
	c := &config{}
	for _, register := range extraFlags {
		register(fs, c)
	}
	fs.VisitAll(func(f *flag.Flag) {
		if !regexp.MustCompile(`--` + regexp.QuoteMeta(f.Name) + `([^a-z-]|$)`).Match(readme) {
			t.Errorf("README.md does not mention --%s", f.Name)
		}
	})
}

// TestVersionFlag: --version prints the build and exits 0 without starting.
func TestVersionFlag(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	if code := run([]string{"--version"}, func(string) string { return "" }, strings.NewReader(""), &out, &errOut); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut.String())
	}
	if !strings.HasPrefix(out.String(), "eventara "+version) || !strings.Contains(out.String(), "go1.") {
		t.Fatalf("--version printed %q", out.String())
	}
}
