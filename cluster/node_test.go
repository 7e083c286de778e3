package cluster

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/eventara/eventara/internal/testutil"
	"github.com/eventara/eventara/protocol/event"
)

func startSingle(t *testing.T, cfg Config) *Node {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = "solo"
	}
	if cfg.Dir == "" && cfg.URL == "" {
		cfg.Dir = t.TempDir()
	}
	cfg.Log = newTestLog(t)
	n, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Shutdown)
	return n
}

// TestSingleNodeAppendConsume: one node, R1, no TCP listener. Records come
// back in append order with their bytes, ticks come interleaved with
// increasing stream times, a record appended again is stored once, and a
// consumer resumes at a given sequence.
func TestSingleNodeAppendConsume(t *testing.T) {
	t.Parallel()
	n := startSingle(t, Config{})
	if n.ClientURL() != "" {
		t.Errorf("ClientURL = %q, want none without ClientAddr", n.ClientURL())
	}
	ctx := context.Background()
	s, err := n.Stream(ctx, StreamConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Config(); got.Replicas != 1 || got.Name != "EVENTARA" || got.Tick != time.Second {
		t.Errorf("defaults: %+v", got)
	}
	p, err := s.Publisher(PublisherConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var mk recordMaker
	one := mk.make(1, "one")
	seqOne, err := p.Append(ctx, one)
	if err != nil {
		t.Fatal(err)
	}
	batch := mk.make(100, "batch")
	seqBatch, err := p.Append(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	if seqBatch < seqOne+100 {
		t.Fatalf("batch's last seq %d, want ≥ %d", seqBatch, seqOne+100)
	}
	// The same records again, as a retry would: acknowledged with their
	// first sequences, not stored again.
	if again, err := p.Append(ctx, batch); err != nil || again != seqBatch {
		t.Fatalf("append again = %d, %v; want %d (the first ack's seq)", again, err, seqBatch)
	}

	c, err := s.Consume(0, ConsumerConfig{Buffer: 16})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	// Wait for records and then two ticks after them.
	var msgs []Msg
	ticksAfter := 0
	for ticksAfter < 2 {
		m := testutil.Recv(t, c.Messages(), testutil.Patience, "a message")
		msgs = append(msgs, m)
		if m.Tick && m.Seq > seqBatch {
			ticksAfter++
		}
	}
	want := append(one, batch...)
	var recs []event.Record
	var lastSeq uint64
	var lastTick time.Time
	for _, m := range msgs {
		if m.Seq <= lastSeq {
			t.Fatalf("seq %d after %d", m.Seq, lastSeq)
		}
		lastSeq = m.Seq
		if m.Tick {
			if m.Subject != "eventara.tick" || len(m.Data) != 0 {
				t.Errorf("tick %d: subject %q, %d bytes", m.Seq, m.Subject, len(m.Data))
			}
			if !lastTick.IsZero() && !m.Time.After(lastTick) {
				t.Errorf("tick %d at %s, not after the previous one at %s", m.Seq, m.Time, lastTick)
			}
			lastTick = m.Time
			continue
		}
		r, err := m.Record()
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	if len(recs) != len(want) {
		t.Fatalf("read %d records, want %d", len(recs), len(want))
	}
	for i := range want {
		if recs[i].Event.ID != want[i].Event.ID || recs[i].Event.Type != want[i].Event.Type {
			t.Fatalf("record %d: %s %q, want %s %q", i, recs[i].Event.ID, recs[i].Event.Type, want[i].Event.ID, want[i].Event.Type)
		}
	}

	// Resume in the middle: the first message is the one at that seq.
	from := seqBatch - 10
	c2, err := s.Consume(from, ConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Stop()
	if m := testutil.Recv(t, c2.Messages(), testutil.Patience, "the resumed message"); m.Seq != from {
		t.Fatalf("resumed at %d, want %d", m.Seq, from)
	}
	c2.Stop()
	if _, ok := <-c2.Messages(); ok {
		// Stop closes the channel; whatever was buffered may still come.
		for range c2.Messages() {
		}
	}
	if c2.Err() != nil {
		t.Fatalf("Err after Stop = %v", c2.Err())
	}
}

// TestShutdownEndsConsumerAndAppend: after Shutdown a consumer's channel
// closes with ErrClosed and Append fails at once with it.
func TestShutdownEndsConsumerAndAppend(t *testing.T) {
	t.Parallel()
	n := startSingle(t, Config{})
	ctx := context.Background()
	s, err := n.Stream(ctx, StreamConfig{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Publisher(PublisherConfig{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Consume(1, ConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	n.Shutdown()
	testutil.WaitFor(t, testutil.Patience, "the consumer to close", func() error {
		for range c.Messages() {
		}
		return nil
	})
	if !errors.Is(c.Err(), ErrClosed) {
		t.Errorf("consumer Err = %v, want ErrClosed", c.Err())
	}
	var mk recordMaker
	start := time.Now()
	_, err = p.Append(ctx, mk.make(3, "late"))
	if !errors.Is(err, ErrClosed) {
		t.Errorf("Append after Shutdown = %v, want ErrClosed", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Append after Shutdown took %s", d)
	}
	if _, err := n.Stream(ctx, StreamConfig{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Stream after Shutdown = %v, want ErrClosed", err)
	}
}

// TestExternalURL: a node with Config.URL starts no server and works
// through another node's client listener.
func TestExternalURL(t *testing.T) {
	t.Parallel()
	server := startSingle(t, Config{Name: "server", ClientAddr: "127.0.0.1:0"})
	if server.ClientURL() == "" {
		t.Fatal("no client URL with ClientAddr set")
	}
	client := startSingle(t, Config{Name: "client", URL: server.ClientURL()})
	if client.srv != nil {
		t.Fatal("a node with URL started a server")
	}
	ctx := context.Background()
	s, err := client.Stream(ctx, StreamConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if r := s.Config().Replicas; r != 1 {
		t.Fatalf("a new stream through the URL of a lone server: %d replicas, want 1", r)
	}
	p, err := s.Publisher(PublisherConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var mk recordMaker
	recs := mk.make(5, "ext")
	last, err := p.Append(ctx, recs)
	if err != nil {
		t.Fatal(err)
	}
	// Read through the embedding node: it is the same stream.
	s2, err := server.Stream(ctx, StreamConfig{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := s2.Consume(1, ConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	var ids []event.ID
	for _, m := range collect(t, c, last, "the records through the other node") {
		if !m.Tick {
			r, err := m.Record()
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, r.Event.ID)
		}
	}
	if len(ids) != len(recs) {
		t.Fatalf("read %d records, want %d", len(ids), len(recs))
	}
	for i := range recs {
		if ids[i] != recs[i].Event.ID {
			t.Fatalf("record %d: %s, want %s", i, ids[i], recs[i].Event.ID)
		}
	}
}

// TestStartRefusesBadConfig: configurations that cannot work are refused
// before anything starts.
func TestStartRefusesBadConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"no name", Config{Dir: dir}},
		{"dotted name", Config{Name: "a.b", Dir: dir}},
		{"no dir", Config{Name: "a"}},
		{"routes without cluster address", Config{Name: "a", Dir: dir, Routes: []string{"127.0.0.1:1"}}},
		{"cluster address without routes", Config{Name: "a", Dir: dir, ClusterAddr: "127.0.0.1:0"}},
		{"bad client address", Config{Name: "a", Dir: dir, ClientAddr: "localhost"}},
		{"bad route", Config{Name: "a", Dir: dir, ClusterAddr: "127.0.0.1:0", Routes: []string{"x:y"}}},
		{"negative sync interval", Config{Name: "a", Dir: dir, SyncInterval: -time.Second}},
		{"URL and Dir", Config{Name: "a", Dir: dir, URL: "nats://127.0.0.1:4222"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			n, err := Start(context.Background(), tc.cfg)
			if err == nil {
				n.Shutdown()
				t.Fatal("started")
			}
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("err = %v, want ErrInvalidConfig", err)
			}
		})
	}
}

// TestStreamAndAppendRefuseBadInput: a stream configuration that cannot
// work and a record without an ID are refused with typed errors.
func TestStreamAndAppendRefuseBadInput(t *testing.T) {
	t.Parallel()
	n := startSingle(t, Config{})
	ctx := context.Background()
	for _, cfg := range []StreamConfig{
		{Tick: 500 * time.Millisecond},
		{Replicas: 3}, // one server, not clustered: the server refuses it
		{Replicas: -1},
		{Replicas: 6},
		{Name: "A.B"},
		{Duplicates: time.Hour, MaxAge: time.Minute},
	} {
		if _, err := n.Stream(ctx, cfg); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("Stream(%+v) = %v, want ErrInvalidConfig", cfg, err)
		}
	}
	s, err := n.Stream(ctx, StreamConfig{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Publisher(PublisherConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var mk recordMaker
	recs := mk.make(2, "x")
	recs[1].Event.ID = event.ID{}
	if _, err := p.Append(ctx, recs); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("Append with a zero ID = %v, want ErrInvalidArgument", err)
	}
	if _, err := s.Consume(0, ConsumerConfig{Heartbeat: 100 * time.Millisecond}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("Consume with a 100ms heartbeat = %v, want ErrInvalidConfig", err)
	}
}

// TestFatalfFailsStart: a route port that is taken makes nats-server call
// Fatalf, which must fail Start (not exit the process, not be dropped).
func TestFatalfFailsStart(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	taken := l.Addr().String()
	start := time.Now()
	n, err := Start(context.Background(), Config{Name: "a", Dir: t.TempDir(), ClusterAddr: taken,
		Routes: []string{taken}, ReadyTimeout: testutil.Patience, Log: newTestLog(t)})
	if err == nil {
		n.Shutdown()
		t.Fatal("started on a taken route port")
	}
	t.Logf("Start failed after %s: %v", time.Since(start).Round(time.Millisecond), err)
	if errors.Is(err, ErrNotReady) {
		t.Fatalf("err = %v: the Fatalf was not seen, Start waited out its deadline", err)
	}
}

// TestTickOutlivesMaxAge: the stream's retention removes old ticks but not
// the tick's schedule, whose message says it never expires; without that,
// MaxAge would delete the schedule and the ticks would stop for good.
func TestTickOutlivesMaxAge(t *testing.T) {
	t.Parallel()
	n := startSingle(t, Config{})
	ctx := context.Background()
	s, err := n.Stream(ctx, StreamConfig{MaxAge: 2 * time.Second, Duplicates: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Consume(0, ConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	start := time.Now()
	// This waits past MaxAge on purpose: the schedule must outlive it.
	ticks := 0
	for {
		m := testutil.Recv(t, c.Messages(), testutil.Patience, "a tick")
		ticks++
		if m.Tick && m.Time.After(start.Add(3*2*time.Second)) {
			break
		}
	}
	// The schedule is at seq 1 and stays; old ticks went.
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.FirstSeq != 1 || info.Msgs >= uint64(ticks) {
		t.Errorf("first seq %d, %d messages after %d ticks: want the schedule at 1 and old ticks removed", info.FirstSeq, info.Msgs, ticks)
	}
}
