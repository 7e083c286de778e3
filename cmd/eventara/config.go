package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// config is every setting of the service. Each flag has an EVENTARA_*
// environment twin (--data-dir ↔ EVENTARA_DATA_DIR); a flag given on the
// command line wins over the environment, which wins over the default.
type config struct {
	Addr               string
	DataDir            string
	LogLevel           string
	LogFormat          string
	Retention          time.Duration
	IdempotencyWindow  time.Duration
	CheckpointInterval time.Duration
	ShutdownTimeout    time.Duration
	SockJSTestServices bool
	// Version: print the build's version and exit.
	Version  bool
	Security securityConfig // config_security.go
	Ops      opsConfig      // config_ops.go
	Queues   queuesConfig   // config_queues.go
	Disk     diskConfig     // config_disk.go
	Cluster  clusterConfig  // config_cluster.go
}

// flagRegistrar registers flags on fs that write into c. Settings of one
// area (security, operations, ...) live in their own file and add their
// registrar to extraFlags in an init function, so areas do not edit one
// shared list.
type flagRegistrar func(fs *flagSet, c *config)

var extraFlags []flagRegistrar

// flagSet wraps flag.FlagSet so every flag's usage names its env twin.
type flagSet struct{ *flag.FlagSet }

func (fs *flagSet) String(p *string, name, def, usage string) {
	fs.StringVar(p, name, def, fmt.Sprintf("%s (env %s)", usage, envName(name)))
}

func (fs *flagSet) Duration(p *time.Duration, name string, def time.Duration, usage string) {
	fs.DurationVar(p, name, def, fmt.Sprintf("%s (env %s)", usage, envName(name)))
}

func (fs *flagSet) Bool(p *bool, name string, def bool, usage string) {
	fs.BoolVar(p, name, def, fmt.Sprintf("%s (env %s)", usage, envName(name)))
}

func (fs *flagSet) Int(p *int, name string, def int, usage string) {
	fs.IntVar(p, name, def, fmt.Sprintf("%s (env %s)", usage, envName(name)))
}

func envName(flagName string) string {
	return "EVENTARA_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parseConfig reads flags and their environment twins.
func parseConfig(args []string, getenv func(string) string, out io.Writer) (*config, error) {
	c := &config{}
	fs := &flagSet{flag.NewFlagSet("eventara", flag.ContinueOnError)}
	fs.SetOutput(out)
	str, dur, boolean := fs.String, fs.Duration, fs.Bool
	str(&c.Addr, "addr", ":8080", "HTTP listen address")
	str(&c.DataDir, "data-dir", "./data", "directory of the embedded journal and checkpoints")
	str(&c.LogLevel, "log-level", "info", "log level: debug, info, warn, error")
	str(&c.LogFormat, "log-format", "json", "log format: json or console")
	dur(&c.Retention, "retention", 7*24*time.Hour, "how long events stay queryable")
	dur(&c.IdempotencyWindow, "idempotency-window", 24*time.Hour, "how long an ingest request's Idempotency-Key is remembered: a retry with it within this time is answered from the first request and stores nothing")
	dur(&c.CheckpointInterval, "checkpoint-interval", 30*time.Second, "how often metrics state is checkpointed")
	dur(&c.ShutdownTimeout, "shutdown-timeout", 5*time.Second, "how long a graceful shutdown may take")
	boolean(&c.SockJSTestServices, "sockjs-test-services", false, "mount the SockJS conformance suite's services (/echo, /close, ...) at the root")
	fs.BoolVar(&c.Version, "version", false, "print the version, commit and Go version, and exit")
	for _, register := range extraFlags {
		register(fs, c)
	}
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: eventara [flags]\n       eventara logs [flags] [FILE...]   read its logs: the supervision tree, timeline and storms (eventara logs --help)\n       eventara import --from DIR --nats-url URL   copy a stopped single node's events into a cluster (eventara import --help)\n\nEventara ingests events over HTTP and pushes live metrics over STOMP (SockJS or WebSocket at /ws).\n\nFlags:\n")
		fs.PrintDefaults()
	}

	// Environment first, so explicit flags override it.
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		if v := getenv(envName(f.Name)); v != "" && envErr == nil {
			if err := f.Value.Set(v); err != nil {
				envErr = fmt.Errorf("%s=%q: %w", envName(f.Name), v, err)
			}
		}
	})
	if envErr != nil {
		return nil, envErr
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	return c, c.validate()
}

func (c *config) validate() error {
	switch c.LogFormat {
	case "json", "console":
	default:
		return fmt.Errorf("--log-format must be json or console, not %q", c.LogFormat)
	}
	if c.IdempotencyWindow <= 0 {
		return fmt.Errorf("--idempotency-window must be positive")
	}
	if c.Retention <= 0 {
		return fmt.Errorf("--retention must be positive")
	}
	if c.CheckpointInterval <= 0 {
		return fmt.Errorf("--checkpoint-interval must be positive")
	}
	if err := c.Cluster.validate(); err != nil {
		return err
	}
	if err := c.Cluster.validateRetention(c.Retention); err != nil {
		return err
	}
	return c.Queues.validate()
}
