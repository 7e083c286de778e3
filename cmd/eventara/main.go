// Command eventara is the Eventara service: event ingestion over HTTP, a
// durable journal, and live metrics pushed over STOMP (SockJS or WebSocket).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/eventara/eventara/actors"
	"github.com/eventara/eventara/journal"
	"github.com/eventara/eventara/notify"
	"github.com/eventara/eventara/telemetry"
	"github.com/eventara/eventara/transport"
	"github.com/eventara/eventara/transport/sockjs"
	"github.com/eventara/eventara/web"
)

// version and commit are set at build time (make build:
// -ldflags "-X main.version=... -X main.commit=..."); a plain go build says
// "dev" and the commit the Go toolchain recorded, if any.
var version, commit = "dev", ""

// buildInfo is the running build.
func buildInfo() telemetry.BuildInfo {
	b := telemetry.ReadBuildInfo(version)
	if commit != "" {
		b.Commit = commit
	}
	return b
}

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	// Subcommands, checked before the service's flags are parsed (which
	// they leave as they were: eventara --help, eventara --addr ...).
	if len(args) > 0 && args[0] == logsCommand {
		return runLogs(args[1:], stdin, stdout, stderr, getenv)
	}
	if len(args) > 0 && args[0] == importCommand {
		return runImport(args[1:], stdout, stderr, getenv)
	}
	cfg, err := parseConfig(args, getenv, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "eventara:", err)
		return 2
	}
	if cfg.Version {
		fmt.Fprintln(stdout, buildInfo())
		return 0
	}
	log, err := newLogger(cfg, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "eventara:", err)
		return 2
	}
	if err := serve(cfg, log); err != nil {
		log.Error().Err(err).Msg("eventara stopped with an error")
		return 1
	}
	return 0
}

func newLogger(cfg *config, out io.Writer) (zerolog.Logger, error) {
	level, err := zerolog.ParseLevel(cfg.LogLevel)
	if err != nil {
		return zerolog.Logger{}, fmt.Errorf("--log-level: %w", err)
	}
	// protoactor logs a "message" attribute of its own; keep ours apart.
	zerolog.MessageFieldName = "msg"
	zerolog.TimeFieldFormat = time.RFC3339Nano
	if cfg.LogFormat == "console" {
		out = zerolog.ConsoleWriter{Out: out, TimeFormat: "15:04:05.000"}
	}
	return zerolog.New(out).Level(level).With().Timestamp().Logger(), nil
}

func serve(cfg *config, log zerolog.Logger) error {
	sec, err := newSecurity(cfg.Security, log)
	if err != nil {
		return err
	}
	j, err := journal.Open(cfg.Disk.journalConfig(journal.Config{Dir: cfg.DataDir, Log: log.With().Str("component", "journal").Logger()}))
	if err != nil {
		return fmt.Errorf("open journal in %s: %w", cfg.DataDir, err)
	}
	defer j.Close()
	var cn *clusterNode
	if cfg.Cluster.enabled() {
		if cn, err = startCluster(cfg, log); err != nil {
			return err
		}
		defer cn.node.Shutdown() // after the actors stopped, before the journal closes
	}
	build := buildInfo()
	ops := newOps(cfg.Ops)
	ops.metrics.SetBuildInfo(build)
	ops.metrics.ObserveDisk(diskUsage(j))
	acfg := actors.Config{
		Log:                log.With().Str("component", "actors").Logger(),
		Journal:            j,
		Retention:          cfg.Retention,
		IdempotencyWindow:  cfg.IdempotencyWindow,
		CheckpointInterval: cfg.CheckpointInterval,
		Sessions:           sec.sessionConfig(actors.SessionConfig{ServerName: "Eventara/" + version}),
	}
	if cn != nil {
		acfg.Cluster = cn.cfg
	}
	// Listen before the actors start: the notifier refuses webhooks to
	// the address actually bound (a port 0 becomes the real one).
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	if acfg.Notifications.Self, err = selfAddresses(cfg.Addr, ln.Addr().String()); err != nil {
		_ = ln.Close()
		return err
	}
	sys, err := actors.Start(cfg.Queues.actorsConfig(ops.actorsConfig(acfg)))
	if err != nil {
		_ = ln.Close()
		return fmt.Errorf("start actors: %w", err)
	}
	if cn != nil {
		ops.metrics.ObserveCluster(sys)
	}
	pushLog := log.With().Str("component", "push").Logger()
	push := sockjs.NewHandler(cfg.Queues.pushConfig(sec.pushConfig(sockjs.Config{Prefix: "/ws", Log: pushLog})), sys.Sessions())
	tcfg := sec.transportConfig(ops.transportConfig(sys, transport.Config{Log: log, Push: push, Dashboard: web.Handler(), Docs: web.Docs(), Build: build}))
	if cfg.SockJSTestServices {
		tcfg.TestServices = sockjs.TestServices(sockjs.Config{Log: pushLog})
	}
	srv := &http.Server{
		Handler:           transport.NewHandler(sys, tcfg),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          nil,
	}
	sec.configureServer(srv)
	log.Info().Str("addr", ln.Addr().String()).Str("data_dir", cfg.DataDir).Str("version", build.Version).Str("commit", build.Commit).
		Str("go_version", build.GoVersion).Msg("eventara listening")

	serveErr := make(chan error, 1)
	go func() { serveErr <- sec.serve(srv, ln) }()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sig)
	select {
	case s := <-sig:
		log.Info().Str("signal", s.String()).Msg("shutting down")
	case err := <-serveErr:
		_ = sys.Stop(context.Background())
		return fmt.Errorf("serve: %w", err)
	}

	// Graceful shutdown: close push clients with a proper close, stop
	// accepting and let in-flight requests finish, then stop the actors in
	// order (a last checkpoint included) and close the journal.
	ctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	push.Close(3000, "Go away!")
	if c, ok := tcfg.TestServices.(interface{ Close(int, string) }); ok {
		c.Close(3000, "Go away!")
	}
	var errs []error
	if err := srv.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("http shutdown: %w", err))
	}
	if err := sys.Stop(ctx); err != nil {
		errs = append(errs, err)
	}
	log.Info().Msg("stopped")
	return errors.Join(errs...)
}

// selfAddresses is the service's own addresses for the notifier
// (notify.Self): the listen address as configured and as bound, the
// machine's interface addresses when it listens on all of them, and its
// host name. A webhook to any of these on the service's port is refused;
// other ports on the same machine (a receiver beside it) are not.
func selfAddresses(configured, bound string) (notify.Self, error) {
	self, err := notify.SelfFromListen(configured, bound)
	if err != nil {
		return notify.Self{}, fmt.Errorf("--addr: %w", err)
	}
	if host, _, _ := net.SplitHostPort(configured); host == "" || host == "0.0.0.0" || host == "::" {
		self.Addrs = append(self.Addrs, notify.LocalAddrs()...)
	}
	if name, err := os.Hostname(); err == nil && name != "" {
		self.Hosts = append(self.Hosts, name)
	}
	return self, nil
}
