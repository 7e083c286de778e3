package cluster

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/eventara/eventara/internal/testutil"
	"github.com/eventara/eventara/protocol/event"
)

// testLog collects the logs of a test's nodes and prints them if the test
// fails (nats-server keeps logging from its goroutines after a test ends,
// where t.Log would panic).
type testLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *testLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func newTestLog(t testing.TB) zerolog.Logger {
	l := &testLog{}
	t.Cleanup(func() {
		if t.Failed() {
			l.mu.Lock()
			defer l.mu.Unlock()
			t.Logf("node logs:\n%s", l.buf.String())
		}
	})
	return zerolog.New(zerolog.ConsoleWriter{Out: l, NoColor: true, TimeFormat: "15:04:05.000"}).
		Level(zerolog.InfoLevel).With().Timestamp().Logger()
}

// freeAddrs returns n loopback addresses whose ports were free a moment
// ago (listened on, then closed).
func freeAddrs(t testing.TB, n int) []string {
	t.Helper()
	addrs := make([]string, n)
	for i := range addrs {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addrs[i] = "127.0.0.1:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
		defer l.Close()
	}
	return addrs
}

// testCluster is n embedded nodes in this process, routed to each other
// over loopback, each with its own directory and fixed ports so that a
// node restarts as itself.
type testCluster struct {
	t     testing.TB
	cfgs  []Config
	mu    sync.Mutex
	nodes []*Node // nil for a node that is down
}

var clusterSerial atomic.Int64

func startCluster(t testing.TB, n int) *testCluster {
	t.Helper()
	return startClusterWith(t, n, nil)
}

// startClusterWith is startCluster with node i's Config changed by
// change (nil: none) before it starts.
func startClusterWith(t testing.TB, n int, change func(i int, cfg *Config)) *testCluster {
	t.Helper()
	log := newTestLog(t)
	dir := t.TempDir()
	routes := freeAddrs(t, n)
	c := &testCluster{t: t, cfgs: make([]Config, n), nodes: make([]*Node, n)}
	// Each test cluster has its own name: should a port be handed to two
	// parallel tests, nats-server refuses a route between clusters of
	// different names instead of merging them.
	name := fmt.Sprintf("test%d", clusterSerial.Add(1))
	for i := range n {
		c.cfgs[i] = Config{
			ClusterName: name,
			Name:        fmt.Sprintf("n%d", i+1),
			Dir:         filepath.Join(dir, fmt.Sprintf("n%d", i+1)),
			ClusterAddr: routes[i],
			Routes:      routes,
			Log:         log,
		}
		if change != nil {
			change(i, &c.cfgs[i])
		}
	}
	t.Cleanup(c.shutdownAll)
	// Concurrently: a node is ready only once a quorum of its peers is up.
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { errs[i] = c.start(i) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("start node %d: %v", i+1, err)
		}
	}
	return c
}

func (c *testCluster) start(i int) error {
	n, err := Start(context.Background(), c.cfgs[i])
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.nodes[i] = n
	c.mu.Unlock()
	return nil
}

func (c *testCluster) node(i int) *Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[i]
}

func (c *testCluster) index(name string) int {
	for i, cfg := range c.cfgs {
		if cfg.Name == name {
			return i
		}
	}
	c.t.Fatalf("no node named %q", name)
	return -1
}

func (c *testCluster) shutdown(i int) {
	c.mu.Lock()
	n := c.nodes[i]
	c.nodes[i] = nil
	c.mu.Unlock()
	if n != nil {
		n.Shutdown()
	}
}

func (c *testCluster) shutdownAll() {
	for i := range c.nodes {
		c.shutdown(i)
	}
}

// streams opens the default stream on every running node, concurrently,
// as nodes starting together would.
func (c *testCluster) streams(cfg StreamConfig) []*Stream {
	c.t.Helper()
	out := make([]*Stream, len(c.nodes))
	errs := make([]error, len(c.nodes))
	var wg sync.WaitGroup
	for i := range c.nodes {
		if n := c.node(i); n != nil {
			wg.Go(func() { out[i], errs[i] = n.Stream(context.Background(), cfg) })
		}
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			c.t.Fatalf("open stream on node %d: %v", i+1, err)
		}
	}
	return out
}

// records makes n records with fresh IDs; type names the batch.
type recordMaker struct {
	mu  sync.Mutex
	gen event.Generator
}

func (m *recordMaker) make(n int, typ string) []event.Record {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now().UTC()
	recs := make([]event.Record, n)
	for i := range recs {
		recs[i] = event.Record{Kind: event.KindEvent, Event: event.Event{
			ID: m.gen.New(now), ReceivedAt: now, Timestamp: now, Type: typ,
			Source: "cluster-test", Severity: event.SeverityInfo,
			Tags: map[string]string{"i": strconv.Itoa(i)},
		}}
	}
	return recs
}

// collect reads c until it has delivered every sequence up to last,
// failing t after Patience. It returns the messages read, in order.
func collect(t testing.TB, c *Consumer, last uint64, what string) []Msg {
	t.Helper()
	var got []Msg
	testutil.WaitFor(t, testutil.Patience, what, func() error {
		for {
			select {
			case m, ok := <-c.Messages():
				if !ok {
					return fmt.Errorf("consumer closed: %v", c.Err())
				}
				got = append(got, m)
				continue
			default:
			}
			if c.NextSeq() > last {
				return nil
			}
			return fmt.Errorf("read up to seq %d of %d (%d restarts)", c.NextSeq()-1, last, c.Restarts())
		}
	})
	return got
}

// streamLeader waits until the stream has a leader and returns its name.
func streamLeader(t testing.TB, s *Stream) string {
	t.Helper()
	var leader string
	testutil.WaitFor(t, testutil.Patience, "a stream leader", func() error {
		info, err := s.Info(context.Background())
		if err != nil {
			return err
		}
		if info.Leader == "" {
			return fmt.Errorf("no leader")
		}
		leader = info.Leader
		return nil
	})
	return leader
}
