package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eventara/eventara/internal/testutil"
	"github.com/eventara/eventara/protocol/event"
)

// waitTickAfter reads c until a tick with a sequence above seq comes, and
// returns that tick's sequence.
func waitTickAfter(t *testing.T, c *Consumer, seq uint64) uint64 {
	t.Helper()
	for {
		m := testutil.Recv(t, c.Messages(), testutil.Patience, fmt.Sprintf("a tick after seq %d", seq))
		if m.Tick && m.Seq > seq {
			return m.Seq
		}
	}
}

// sameMessages fails t unless a and b hold the same messages up to and
// including seq last.
func sameMessages(t *testing.T, what string, a, b []Msg, last uint64) {
	t.Helper()
	cut := func(ms []Msg) []Msg {
		i := slices.IndexFunc(ms, func(m Msg) bool { return m.Seq > last })
		if i < 0 {
			return ms
		}
		return ms[:i]
	}
	a, b = cut(a), cut(b)
	if len(a) != len(b) {
		t.Fatalf("%s: %d messages against %d up to seq %d", what, len(a), len(b), last)
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.Seq != y.Seq || x.Subject != y.Subject || !x.Time.Equal(y.Time) || x.Tick != y.Tick || string(x.Data) != string(y.Data) {
			t.Fatalf("%s: message %d differs: seq %d %s %s tick=%v (%d bytes) against seq %d %s %s tick=%v (%d bytes)",
				what, i, x.Seq, x.Subject, x.Time.Format(time.RFC3339Nano), x.Tick, len(x.Data),
				y.Seq, y.Subject, y.Time.Format(time.RFC3339Nano), y.Tick, len(y.Data))
		}
	}
}

// recordIDs counts each record ID in ms, failing t on one that does not
// decode.
func recordIDs(t *testing.T, ms []Msg) (map[event.ID]int, int) {
	t.Helper()
	ids := make(map[event.ID]int)
	ticks := 0
	for _, m := range ms {
		if m.Tick {
			ticks++
			continue
		}
		r, err := m.Record()
		if err != nil {
			t.Fatal(err)
		}
		ids[r.Event.ID]++
	}
	return ids, ticks
}

// TestClusterSameOrderOnEveryNode: three nodes, R3. Records appended
// through every node, single and batched, in rounds a tick apart, and
// appended again through every node as retries would; the consumer on
// each node sees the same messages at the same sequences, ticks included
// with the same stream times, and each record once.
func TestClusterSameOrderOnEveryNode(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 3)
	streams := c.streams(StreamConfig{})
	if r := streams[0].Config().Replicas; r != 3 {
		t.Fatalf("default replicas with 3 routes = %d, want 3", r)
	}
	info, err := streams[0].Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Replicas) != 2 {
		t.Fatalf("stream info: leader %q, replicas %+v; want two followers", info.Leader, info.Replicas)
	}
	cons := make([]*Consumer, 3)
	for i, s := range streams {
		if cons[i], err = s.Consume(1, ConsumerConfig{Buffer: 64}); err != nil {
			t.Fatal(err)
		}
		defer cons[i].Stop()
	}
	pubs := make([]*Publisher, 3)
	for i, s := range streams {
		if pubs[i], err = s.Publisher(PublisherConfig{}); err != nil {
			t.Fatal(err)
		}
	}

	var mk recordMaker
	var appended []event.Record
	var last uint64
	var watch []Msg // what node 1's consumer read while waiting for ticks
	for round := range 3 {
		var wg sync.WaitGroup
		var mu sync.Mutex
		for i, p := range pubs {
			for _, size := range []int{1, 40} {
				recs := mk.make(size, fmt.Sprintf("r%d-n%d-%d", round, i+1, size))
				wg.Go(func() {
					seq, err := p.Append(context.Background(), recs)
					if err != nil {
						t.Errorf("append %d through node %d: %v", size, i+1, err)
						return
					}
					mu.Lock()
					appended = append(appended, recs...)
					last = max(last, seq)
					mu.Unlock()
				})
			}
		}
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
		// A retry through another node, as after a lost ack: the
		// duplicate window answers with the first sequence and stores
		// nothing (each record is checked to be read once below).
		mu.Lock()
		retry := slices.Clone(appended[len(appended)-40:])
		mu.Unlock()
		for i, p := range pubs {
			if _, err := p.Append(context.Background(), retry); err != nil {
				t.Fatalf("append again through node %d: %v", i+1, err)
			}
		}
		// The next round only after a tick, so ticks sit between rounds.
		for {
			m := testutil.Recv(t, cons[0].Messages(), testutil.Patience, "a tick after the round")
			watch = append(watch, m)
			if m.Tick && m.Seq > last {
				break
			}
		}
	}
	end := watch[len(watch)-1].Seq

	got := [][]Msg{watch}
	got[0] = append(got[0], collect(t, cons[0], end, "node 1 to read everything")...)
	for i := 1; i < 3; i++ {
		got = append(got, collect(t, cons[i], end, fmt.Sprintf("node %d to read everything", i+1)))
	}
	for i := 1; i < 3; i++ {
		sameMessages(t, fmt.Sprintf("node 1 against node %d", i+1), got[0], got[i], end)
	}
	ids, ticks := recordIDs(t, got[0])
	if ticks < 3 {
		t.Errorf("%d ticks among the records, want at least 3 (one after each round)", ticks)
	}
	if len(ids) != len(appended) {
		t.Errorf("read %d distinct records, appended %d", len(ids), len(appended))
	}
	for _, r := range appended {
		if n := ids[r.Event.ID]; n != 1 {
			t.Fatalf("record %s read %d times", r.Event.ID, n)
		}
	}
	// Ticks are a second apart in stream time, give or take the
	// scheduler's timer.
	var prev time.Time
	for _, m := range got[0] {
		if !m.Tick {
			continue
		}
		if !prev.IsZero() {
			if d := m.Time.Sub(prev); d < 500*time.Millisecond {
				t.Errorf("ticks %s apart at seq %d", d, m.Seq)
			}
		}
		prev = m.Time
	}
}

// writer appends batches until stopped, each through the next node that
// is up; a batch that fails is appended again, same IDs, through the next
// node, until it is acknowledged.
type writer struct {
	pubs  func(i int) *Publisher
	mk    *recordMaker
	mu    sync.Mutex
	acked []event.ID
	times []time.Time // when each acknowledged batch was
	lastS atomic.Uint64
	retry atomic.Int64
}

func (w *writer) run(stop <-chan struct{}, id int) {
	node := id
	for k := 0; ; k++ {
		select {
		case <-stop:
			return
		default:
		}
		size := 1
		if k%2 == 1 {
			size = 20
		}
		recs := w.mk.make(size, fmt.Sprintf("w%d", id))
		for {
			node = (node + 1) % 3
			p := w.pubs(node)
			if p == nil {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			seq, err := p.Append(ctx, recs)
			cancel()
			if err == nil {
				w.mu.Lock()
				for _, r := range recs {
					w.acked = append(w.acked, r.Event.ID)
				}
				w.times = append(w.times, time.Now())
				w.mu.Unlock()
				for {
					old := w.lastS.Load()
					if seq <= old || w.lastS.CompareAndSwap(old, seq) {
						break
					}
				}
				break
			}
			w.retry.Add(1)
			select {
			case <-stop:
				return // unacknowledged: it may or may not be stored
			default:
			}
		}
	}
}

func (w *writer) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.acked)
}

// TestClusterLeaderShutdownLosesNothing: three nodes, R3, six writers
// spread over the nodes; the stream leader's node is shut down while they
// write. Appends resume on the survivors within a bounded time; every
// acknowledged record is read exactly once on both survivors, which read
// the same messages; none is stored twice despite the retries; the node,
// restarted on its directory, catches up with the same messages.
func TestClusterLeaderShutdownLosesNothing(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 3)
	streams := c.streams(StreamConfig{})
	var pubMu sync.Mutex
	pubs := make([]*Publisher, 3)
	for i, s := range streams {
		p, err := s.Publisher(PublisherConfig{AttemptTimeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		pubs[i] = p
	}
	cons := make([]*Consumer, 3)
	for i, s := range streams {
		var err error
		if cons[i], err = s.Consume(1, ConsumerConfig{}); err != nil {
			t.Fatal(err)
		}
		defer cons[i].Stop()
	}
	// Readers drain the consumers as they go, as the aggregator would.
	var readMu sync.Mutex
	read := make([][]Msg, 3)
	var readers sync.WaitGroup
	for i, cn := range cons {
		readers.Go(func() {
			for m := range cn.Messages() {
				readMu.Lock()
				read[i] = append(read[i], m)
				readMu.Unlock()
			}
		})
	}

	w := &writer{mk: &recordMaker{}, pubs: func(i int) *Publisher {
		pubMu.Lock()
		defer pubMu.Unlock()
		return pubs[i]
	}}
	stop := make(chan struct{})
	var writers sync.WaitGroup
	for id := range 6 {
		writers.Go(func() { w.run(stop, id) })
	}
	stopWriters := sync.OnceFunc(func() { close(stop); writers.Wait() })
	defer stopWriters()

	testutil.Eventually(t, "300 records acknowledged", func() bool { return w.count() >= 300 })
	leader := streamLeader(t, streams[0])
	dead := c.index(leader)
	pubMu.Lock()
	pubs[dead] = nil
	pubMu.Unlock()
	before := w.count()
	killed := time.Now()
	c.shutdown(dead)
	t.Logf("shut down the stream leader %s with %d records acknowledged", leader, before)

	testutil.Eventually(t, "300 more records acknowledged after the shutdown", func() bool { return w.count() >= before+300 })
	stopWriters()
	// The longest time without an acknowledgement from the shutdown on
	// says how long appends stopped.
	w.mu.Lock()
	var stall time.Duration
	prev := killed
	for _, at := range w.times {
		if at.After(killed) {
			stall = max(stall, at.Sub(prev))
			prev = at
		}
	}
	acked := slices.Clone(w.acked)
	w.mu.Unlock()
	t.Logf("longest wait for an ack after the shutdown %s; %d records acknowledged, %d appends retried",
		stall.Round(time.Millisecond), len(acked), w.retry.Load())
	if stall > 10*time.Second {
		t.Errorf("appends stalled %s after the leader's graceful shutdown", stall)
	}

	last := w.lastS.Load()
	survivors := []int{}
	for i := range 3 {
		if i != dead {
			survivors = append(survivors, i)
		}
	}
	// Read means drained from Messages into read[i], not only received by
	// the consumer (NextSeq): the reader goroutines lag behind it.
	testutil.WaitFor(t, testutil.Patience, "the survivors to read everything acknowledged", func() error {
		readMu.Lock()
		defer readMu.Unlock()
		for _, i := range survivors {
			if n := len(read[i]); n == 0 || read[i][n-1].Seq < last {
				return fmt.Errorf("node %d read %d messages, consumer at %d of %d (%d restarts)", i+1, n, cons[i].NextSeq()-1, last, cons[i].Restarts())
			}
		}
		return nil
	})
	// Ticks go on after the shutdown: the new leader fires the schedule.
	testutil.WaitFor(t, testutil.Patience, "a tick stored after the shutdown on both survivors", func() error {
		readMu.Lock()
		defer readMu.Unlock()
		for _, i := range survivors {
			if !slices.ContainsFunc(read[i], func(m Msg) bool { return m.Tick && m.Time.After(killed) }) {
				return fmt.Errorf("node %d: none yet", i+1)
			}
		}
		return nil
	})
	readMu.Lock()
	a, b := slices.Clone(read[survivors[0]]), slices.Clone(read[survivors[1]])
	readMu.Unlock()
	last = min(a[len(a)-1].Seq, b[len(b)-1].Seq)
	sameMessages(t, "the two survivors", a, b, last)
	ids, _ := recordIDs(t, a)
	for id, n := range ids {
		if n != 1 {
			t.Fatalf("record %s stored %d times", id, n)
		}
	}
	for _, id := range acked {
		if ids[id] != 1 {
			t.Fatalf("acknowledged record %s read %d times", id, ids[id])
		}
	}
	t.Logf("%d acknowledged records, %d stored (unacknowledged attempts included); consumer restarts %d/%d",
		len(acked), len(ids), cons[survivors[0]].Restarts(), cons[survivors[1]].Restarts())

	// The node comes back as itself and catches up.
	if err := c.start(dead); err != nil {
		t.Fatalf("restart %s: %v", leader, err)
	}
	s, err := c.node(dead).Stream(context.Background(), StreamConfig{})
	if err != nil {
		t.Fatal(err)
	}
	back, err := s.Consume(1, ConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer back.Stop()
	sameMessages(t, "the restarted node against a survivor", a, collect(t, back, last, "the restarted node to catch up"), last)
	testutil.WaitFor(t, testutil.Patience, "the restarted node's replica to be current", func() error {
		info, err := s.Info(context.Background())
		if err != nil {
			return err
		}
		for _, r := range info.Replicas {
			if r.Name == leader && r.Current {
				return nil
			}
		}
		return fmt.Errorf("replicas %+v (leader %s)", info.Replicas, info.Leader)
	})
	for _, cn := range cons {
		cn.Stop()
	}
	readers.Wait()
}

// TestClusterQuorumLost: with two of three nodes down, Append fails with
// ErrUnavailable within its Timeout instead of hanging; with one of them
// back, appends go through again.
func TestClusterQuorumLost(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 3)
	streams := c.streams(StreamConfig{})
	p, err := streams[0].Publisher(PublisherConfig{AttemptTimeout: 500 * time.Millisecond, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var mk recordMaker
	if _, err := p.Append(context.Background(), mk.make(10, "before")); err != nil {
		t.Fatal(err)
	}
	c.shutdown(1)
	c.shutdown(2)

	for _, size := range []int{1, 10} {
		start := time.Now()
		_, err := p.Append(context.Background(), mk.make(size, "no quorum"))
		took := time.Since(start)
		var ae *AppendError
		if !errors.Is(err, ErrUnavailable) || !errors.As(err, &ae) {
			t.Fatalf("append %d without quorum = %v, want an *AppendError matching ErrUnavailable", size, err)
		}
		t.Logf("append of %d without quorum failed after %s: %v", size, took.Round(time.Millisecond), err)
		if took > 2*time.Second+time.Second {
			t.Errorf("append of %d without quorum took %s, Timeout is 2s", size, took)
		}
		if ae.Failed != size || ae.Attempts < 2 {
			t.Errorf("AppendError %+v: want %d failed after several attempts", ae, size)
		}
	}
	// A caller's own deadline wins when it is earlier.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	start := time.Now()
	_, err = p.Append(ctx, mk.make(1, "short deadline"))
	cancel()
	if !errors.Is(err, ErrUnavailable) || time.Since(start) > 1500*time.Millisecond {
		t.Errorf("append under a 300ms deadline = %v after %s", err, time.Since(start))
	}

	if err := c.start(1); err != nil {
		t.Fatal(err)
	}
	recs := mk.make(5, "after")
	testutil.WaitFor(t, testutil.Patience, "an append with the quorum back", func() error {
		_, err := p.Append(context.Background(), recs)
		return err
	})
}
