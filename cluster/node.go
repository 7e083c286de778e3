package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// Config configures a Node. Zero values are the documented defaults.
type Config struct {
	// URL connects to an external NATS server (one URL, or several
	// separated by commas) instead of embedding one: Start then starts no
	// server, and Dir, ClientAddr, ClusterAddr, Routes, ClusterName and
	// SyncInterval must be empty. The external cluster's own
	// configuration decides durability (sync_interval) and membership.
	URL string

	// Name is the embedded server's name, which a JetStream cluster
	// requires: its raft peer ID is a hash of it, so it must stay the same
	// across restarts and differ between nodes. Required when embedding;
	// with URL it only names the client connection.
	Name string
	// Dir is the JetStream store directory, created if missing. Required
	// when embedding.
	Dir string
	// ClientAddr is the client listener, "host:port" (port 0: a random
	// one), for external tools such as the nats CLI. Empty means none on a
	// single node. A clustered node always has one, because nats-server
	// starts its routes only once its client listener accepts (pitfall P1
	// of research/scale-out-nats.md): empty means 127.0.0.1 on a random
	// port there. The node itself uses an in-process connection either way.
	ClientAddr string
	// ClusterAddr is the route listener, "host:port", which makes the node
	// part of a cluster. Empty means a single node.
	ClusterAddr string
	// Routes are the route addresses ("host:port") of every node of the
	// cluster, this one's included: nats-server ignores the route to
	// itself, and JetStream expects max(2, len(Routes)) peers, so all must
	// be listed. Required with ClusterAddr.
	Routes []string
	// ClusterName is the cluster's name, the same on every node. Zero
	// means "eventara".
	ClusterName string
	// SyncInterval is how often JetStream fsyncs its files. Zero means
	// before every acknowledgement ("sync always"): an acknowledged record
	// is on disk on a quorum. A positive interval trades that for speed
	// (about 4x on R1, 1.5x on R3 here): acks stop waiting for the disk,
	// and a crash of a quorum of machines within the interval loses
	// acknowledged records (the server's own default is 2 minutes).
	SyncInterval time.Duration
	// ReadyTimeout bounds Start's wait for the server, its connection and
	// a JetStream meta leader, and Node.Stream's wait for the stream's
	// leader. Zero means 30 s: a first meta-leader election sometimes
	// takes 5–6 s, and a cluster whose peers start one by one waits for a
	// quorum of them.
	ReadyTimeout time.Duration
	// OpTimeout bounds each JetStream API call (create a stream or a
	// consumer, read stream info). A call that lands during an election
	// is dropped by the server and would otherwise wait out its whole
	// context (pitfall P3), so every call gets its own and is retried.
	// Zero means 2 s.
	OpTimeout time.Duration
	// Log receives the node's and nats-server's logs (component "nats").
	// The zero value discards them.
	Log zerolog.Logger
}

func (c *Config) setDefaults() {
	if c.ClusterName == "" {
		c.ClusterName = "eventara"
	}
	if c.ReadyTimeout <= 0 {
		c.ReadyTimeout = 30 * time.Second
	}
	if c.OpTimeout <= 0 {
		c.OpTimeout = 2 * time.Second
	}
}

// Node is one Eventara node's NATS: an embedded nats-server with
// JetStream and an in-process connection to it, or a connection to an
// external NATS. Its streams, publishers and consumers use that
// connection. Close it with Shutdown.
type Node struct {
	cfg  Config
	log  zerolog.Logger
	srv  *server.Server // nil with Config.URL
	slog *serverLog     // nil with Config.URL
	nc   *nats.Conn
	js   jetstream.JetStream

	shutdown sync.Once
}

// Start starts the node and returns once it is ready: the embedded server
// accepts connections, the connection is up and JetStream has a meta
// leader (on a cluster: a quorum of peers is up) that an embedded server
// is current with. It gives up after
// cfg.ReadyTimeout or when ctx ends, with an error matching ErrNotReady
// or ErrInvalidConfig, and then leaves nothing running.
func Start(ctx context.Context, cfg Config) (*Node, error) {
	cfg.setDefaults()
	n := &Node{cfg: cfg, log: cfg.Log.With().Str("component", "cluster").Str("node", cfg.Name).Logger()}
	ctx, cancel := context.WithTimeout(ctx, cfg.ReadyTimeout)
	defer cancel()
	var err error
	if cfg.URL != "" {
		err = n.connectExternal()
	} else {
		err = n.startEmbedded(ctx)
	}
	if err == nil {
		n.js, err = jetstream.New(n.nc, jetstream.WithDefaultTimeout(cfg.OpTimeout))
	}
	if err == nil {
		err = n.waitMetaLeader(ctx)
	}
	if err != nil {
		n.Shutdown()
		return nil, fmt.Errorf("start cluster node %q: %w", cfg.Name, err)
	}
	n.log.Info().Str("client_url", n.ClientURL()).Bool("embedded", n.srv != nil).Msg("cluster: node ready")
	return n, nil
}

// serverOptions maps cfg onto nats-server's options.
func serverOptions(cfg *Config) (*server.Options, error) {
	if cfg.Name == "" || strings.ContainsAny(cfg.Name, " \t\r\n.*>") {
		return nil, fmt.Errorf("%w: Name %q must be set, without spaces, '.', '*' or '>'", ErrInvalidConfig, cfg.Name)
	}
	if cfg.Dir == "" {
		return nil, fmt.Errorf("%w: Dir is required", ErrInvalidConfig)
	}
	if cfg.SyncInterval < 0 {
		return nil, fmt.Errorf("%w: negative SyncInterval", ErrInvalidConfig)
	}
	o := &server.Options{
		ServerName:             cfg.Name,
		JetStream:              true,
		StoreDir:               cfg.Dir,
		SyncAlways:             cfg.SyncInterval == 0,
		SyncInterval:           cfg.SyncInterval,
		NoSigs:                 true,
		DisableJetStreamBanner: true,
	}
	clientAddr := cfg.ClientAddr
	if clientAddr == "" && cfg.ClusterAddr != "" {
		clientAddr = "127.0.0.1:0"
	}
	if clientAddr == "" {
		o.DontListen = true
	} else {
		host, port, err := splitAddr("ClientAddr", clientAddr)
		if err != nil {
			return nil, err
		}
		o.Host, o.Port = host, port
	}
	if cfg.ClusterAddr == "" {
		if len(cfg.Routes) > 0 {
			return nil, fmt.Errorf("%w: Routes without ClusterAddr", ErrInvalidConfig)
		}
		return o, nil
	}
	host, port, err := splitAddr("ClusterAddr", cfg.ClusterAddr)
	if err != nil {
		return nil, err
	}
	o.Cluster = server.ClusterOpts{Name: cfg.ClusterName, Host: host, Port: port}
	if len(cfg.Routes) == 0 {
		return nil, fmt.Errorf("%w: ClusterAddr without Routes (list every node, this one included)", ErrInvalidConfig)
	}
	for _, r := range cfg.Routes {
		if _, _, err := splitAddr("Routes", r); err != nil {
			return nil, err
		}
		o.Routes = append(o.Routes, &url.URL{Scheme: "nats-route", Host: r})
	}
	return o, nil
}

// splitAddr parses "host:port"; port 0 becomes nats-server's RANDOM_PORT.
func splitAddr(field, addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("%w: %s %q: %v", ErrInvalidConfig, field, addr, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("%w: %s %q: bad port", ErrInvalidConfig, field, addr)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	return host, port, nil
}

func (n *Node) startEmbedded(ctx context.Context) error {
	o, err := serverOptions(&n.cfg)
	if err != nil {
		return err
	}
	srv, err := server.NewServer(o)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidConfig, err)
	}
	n.srv = srv
	n.slog = newServerLog(n.cfg.Log.With().Str("node", n.cfg.Name).Logger())
	// nats-server formats debug and trace lines only when asked to.
	srv.SetLoggerV2(n.slog, n.cfg.Log.Debug().Enabled(), n.cfg.Log.Trace().Enabled(), false)
	srv.Start()

	// A listener that fails is a Fatalf, which ReadyForConnections does
	// not see: look for one between short waits.
	for !srv.ReadyForConnections(100 * time.Millisecond) {
		if err := n.slog.err(); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%w: nats-server not accepting connections: %v", ErrNotReady, ctx.Err())
		}
	}
	if err := n.slog.err(); err != nil {
		return err
	}
	if !srv.JetStreamEnabled() {
		return fmt.Errorf("%w: JetStream did not start", ErrNotReady)
	}
	// In-process: a net.Pipe to this server, no TCP, and it cannot fail
	// over to another node (a node-local role stays on its node: pitfall
	// P6).
	n.nc, err = nats.Connect("", nats.InProcessServer(srv), nats.Name(n.cfg.Name),
		nats.ErrorHandler(n.asyncError))
	if err != nil {
		return fmt.Errorf("%w: in-process connection: %v", ErrNotReady, err)
	}
	return nil
}

func (n *Node) connectExternal() error {
	c := &n.cfg
	if c.Dir != "" || c.ClientAddr != "" || c.ClusterAddr != "" || len(c.Routes) > 0 || c.SyncInterval != 0 {
		return fmt.Errorf("%w: URL connects to an external NATS; Dir, ClientAddr, ClusterAddr, Routes and SyncInterval configure an embedded one", ErrInvalidConfig)
	}
	// A server that is not there yet is waited for (RetryOnFailedConnect)
	// by waitMetaLeader, up to ReadyTimeout; later outages are ridden out
	// by reconnecting, to this or another server of that cluster.
	var err error
	n.nc, err = nats.Connect(c.URL, nats.Name(c.Name), nats.Timeout(c.OpTimeout),
		nats.RetryOnFailedConnect(true), nats.MaxReconnects(-1), nats.ErrorHandler(n.asyncError))
	if err != nil {
		return fmt.Errorf("%w: URL %q: %v", ErrInvalidConfig, c.URL, err)
	}
	return nil
}

func (n *Node) asyncError(_ *nats.Conn, sub *nats.Subscription, err error) {
	ev := n.log.Warn().Err(err)
	if sub != nil {
		ev = ev.Str("subject", sub.Subject)
	}
	ev.Msg("cluster: asynchronous NATS error")
}

// waitMetaLeader polls JetStream's account info, which only a meta leader
// answers, each call under its own OpTimeout, until it answers or ctx
// ends; an embedded server must also be current with the meta leader. A
// server back with an empty store (its disk lost) is not at first: right
// after its start, one reported the stream as beginning at sequence 3
// though the leader's began past 100, and listed no shared checkpoint
// (TestClusterLateJoiner, before this wait).
func (n *Node) waitMetaLeader(ctx context.Context) error {
	return n.retry(ctx, "JetStream meta leader", func(ctx context.Context) error {
		if _, err := n.js.AccountInfo(ctx); err != nil {
			return err
		}
		if n.srv != nil && !n.srv.JetStreamIsCurrent() {
			return errors.New("not current with the JetStream meta leader yet")
		}
		return nil
	})
}

// retry calls op under its own OpTimeout until it returns nil, backing
// off from 50 ms to 1 s, and gives up with ErrNotReady when ctx ends or
// with ErrClosed once the node is shut down.
func (n *Node) retry(ctx context.Context, what string, op func(context.Context) error) error {
	pause := 50 * time.Millisecond
	for {
		opCtx, cancel := context.WithTimeout(ctx, n.cfg.OpTimeout)
		err := op(opCtx)
		cancel()
		if err == nil {
			return nil
		}
		if n.nc.IsClosed() {
			return fmt.Errorf("%s: %w", what, ErrClosed)
		}
		if errors.Is(err, ErrInvalidConfig) {
			return err
		}
		n.log.Debug().Err(err).Str("waiting_for", what).Msg("cluster: not ready yet")
		timer := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			timer.Stop()
			return fmt.Errorf("%w: %s: %v", ErrNotReady, what, err)
		case <-timer.C:
		}
		pause = min(2*pause, time.Second)
	}
}

// Name returns the node's name (Config.Name).
func (n *Node) Name() string { return n.cfg.Name }

// ClientURL returns the URL a NATS client reaches this node at: the
// embedded server's client listener, or Config.URL; "" for a single node
// without a listener.
func (n *Node) ClientURL() string {
	switch {
	case n.srv == nil:
		return n.cfg.URL
	case n.srv.Addr() == nil:
		return ""
	default:
		return n.srv.ClientURL()
	}
}

// Err returns the first fatal error the embedded server logged (it does
// not exit for one; see serverLog), or nil.
func (n *Node) Err() error {
	if n.slog == nil {
		return nil
	}
	return n.slog.err()
}

// Shutdown closes the connection and stops the embedded server, waiting
// until its goroutines are gone. The embedded server steps down from
// every raft leadership first (a graceful hand-off, not a crash). It is
// safe to call more than once; consumers of the node end with ErrClosed
// and appends fail with it.
func (n *Node) Shutdown() {
	n.shutdown.Do(func() {
		if n.nc != nil {
			n.nc.Close()
		}
		if n.srv != nil {
			n.srv.Shutdown()
			n.srv.WaitForShutdown()
		}
	})
}
