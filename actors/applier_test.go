package actors

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/eventara/eventara/cluster"
	"github.com/eventara/eventara/internal/testutil"
	"github.com/eventara/eventara/journal"
	"github.com/eventara/eventara/protocol/event"
	"github.com/eventara/eventara/snapshots"
)

// startStream starts a one-node NATS (no routes: an R1 stream, ticks every
// second) and returns its cluster config; it shuts down when the test ends.
func startStream(t *testing.T) *ClusterConfig {
	t.Helper()
	ctx := context.Background()
	node, err := cluster.Start(ctx, cluster.Config{Name: "t1", Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(node.Shutdown)
	stream, err := node.Stream(ctx, cluster.StreamConfig{})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := stream.Publisher(cluster.PublisherConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return &ClusterConfig{Node: node, Stream: stream, Publisher: pub}
}

// clusterSystem is a System in cluster mode on its own local journal.
type clusterSystem struct {
	sys *System
	j   *journal.Journal
}

// startClusterSystem starts a System in cluster mode cc on its own
// journal in dir, its Config changed by opts; it is stopped at the end of t.
func startClusterSystem(t *testing.T, cc *ClusterConfig, dir string, opts ...func(*Config)) *clusterSystem {
	t.Helper()
	j, err := journal.Open(journal.Config{Dir: dir, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Log: zerolog.Nop(), Journal: j, Cluster: cc}
	for _, o := range opts {
		o(&cfg)
	}
	sys, err := Start(cfg)
	if err != nil {
		j.Close()
		t.Fatal(err)
	}
	cs := &clusterSystem{sys: sys, j: j}
	t.Cleanup(cs.stop)
	return cs
}

func (cs *clusterSystem) stop() {
	if cs.sys == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Patience)
	defer cancel()
	_ = cs.sys.Stop(ctx)
	_ = cs.j.Close()
	cs.sys = nil
}

func ingestN(t *testing.T, sys *System, n int, typ string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Patience)
	defer cancel()
	if _, err := sys.Ingest(ctx, newEvents(n, typ)); err != nil {
		t.Fatal(err)
	}
}

// TestApplierSameSnapshotsOnEveryNode: two nodes reading one stream, fed
// through both, build byte-identical snapshots for the same tick, even
// when one's aggregator fails on a batch and rewinds to its checkpoint.
func TestApplierSameSnapshotsOnEveryNode(t *testing.T) {
	cc := startStream(t)
	a := startClusterSystem(t, cc, t.TempDir())
	b := startClusterSystem(t, cc, t.TempDir())
	if err := a.sys.Faults().Arm(Fault{Actor: string(KindAggregator), Fault: FaultPanic, Message: "applyBatch", After: 1}); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		ingestN(t, a.sys, 6, fmt.Sprint("a", i%2))
		ingestN(t, b.sys, 4, fmt.Sprint("b", i%3))
	}
	for _, cs := range []*clusterSystem{a, b} {
		waitSnapshot(t, cs.sys, "50 events", func(s *snapshots.Snapshot) bool { return total(s) == 50 })
	}
	same := 0
	testutil.WaitFor(t, 3*testutil.Patience, "three ticks built alike by both nodes", func() error {
		sa, sb := a.sys.Latest(), b.sys.Latest()
		if sa.BuiltAt.Equal(sb.BuiltAt) {
			if !bytes.Equal(sa.JSON, sb.JSON) {
				t.Fatalf("tick %s: different snapshots:\n%s\n%s", sa.BuiltAt, sa.JSON, sb.JSON)
			}
			same++
		}
		if same < 3 {
			return errors.New("not yet")
		}
		return nil
	})
	if n := a.sys.SupervisionEvents(); len(n) == 0 {
		t.Fatal("the aggregator never failed: the rewind was not exercised")
	}
}

// TestApplierRecoversFromCheckpoint: a node restarted on its data reads
// the stream after its checkpoint's sequence: nothing lost, nothing
// counted twice, and it goes on taking events.
func TestApplierRecoversFromCheckpoint(t *testing.T) {
	cc := startStream(t)
	dir := t.TempDir()
	a := startClusterSystem(t, cc, dir)
	ingestN(t, a.sys, 10, "x")
	waitSnapshot(t, a.sys, "10 events", func(s *snapshots.Snapshot) bool { return total(s) == 10 })
	a.stop()

	j, err := journal.Open(journal.Config{Dir: dir, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	cp, ok, err := j.LoadCheckpoint()
	j.Close()
	if err != nil || !ok || cp.Seq == 0 {
		t.Fatalf("final checkpoint: %+v %v %v; want one with a stream sequence", cp.Seq, ok, err)
	}

	a = startClusterSystem(t, cc, dir)
	// Two ticks after the restart, still 10: the stream before the
	// checkpoint's sequence was not applied again.
	first := waitSnapshot(t, a.sys, "10 events after the restart", func(s *snapshots.Snapshot) bool { return total(s) == 10 })
	waitSnapshot(t, a.sys, "two more ticks", func(s *snapshots.Snapshot) bool {
		if total(s) != 10 {
			t.Fatalf("%d events after the restart, want 10", total(s))
		}
		return s.BuiltAt.Sub(first.BuiltAt) >= 2*time.Second
	})
	ingestN(t, a.sys, 5, "y")
	waitSnapshot(t, a.sys, "15 events", func(s *snapshots.Snapshot) bool { return total(s) == 15 })
	if h, ok := a.sys.Cluster(); !ok || h.Applied <= cp.Seq || !h.Consuming {
		t.Fatalf("cluster state %+v, want applied past %d", h, cp.Seq)
	}
}

// TestClusterRefusesSingleNodeData: a data directory a single node wrote
// is refused in cluster mode, with a clear error.
func TestClusterRefusesSingleNodeData(t *testing.T) {
	j, err := journal.Open(journal.Config{Dir: t.TempDir(), Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	// A single node's checkpoint: up to an event ID, no stream sequence.
	if err := j.SaveCheckpoint(journal.Checkpoint{UpTo: [16]byte{1}, At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	_, err = Start(Config{Log: zerolog.Nop(), Journal: j, Cluster: startStream(t)})
	if !errors.Is(err, ErrModeMismatch) {
		t.Fatalf("cluster mode on a single node's checkpoint: %v", err)
	}
}

// TestApplierKeyHoldsOnEveryNode: a keyed request taken by one node is
// answered from the first one through another node once that node has
// applied its key's note: the same IDs, replayed, nothing stored twice;
// the key with another request is refused there too; and a node started
// afterwards on an empty journal learns the key from the stream.
func TestApplierKeyHoldsOnEveryNode(t *testing.T) {
	ctx := context.Background()
	cc := startStream(t)
	a := startClusterSystem(t, cc, t.TempDir())
	b := startClusterSystem(t, cc, t.TempDir())
	first, replayed, err := a.sys.IngestKeyed(ctx, newEvents(3, "keyed"), testKey("k1", "req"))
	if err != nil || replayed {
		t.Fatalf("first through a: replayed %v, %v", replayed, err)
	}
	applied := func(cs *clusterSystem) func() error {
		return func() error {
			if _, ok, err := cs.j.LookupIdempotency("k1"); err != nil || !ok {
				return fmt.Errorf("key not in the local journal (%v)", err)
			}
			return nil
		}
	}
	testutil.WaitFor(t, testutil.Patience, "b applied k1's note", applied(b))
	again, replayed, err := b.sys.IngestKeyed(ctx, newEvents(3, "keyed"), testKey("k1", "req"))
	if err != nil || !replayed {
		t.Fatalf("retry through b: replayed %v, %v", replayed, err)
	}
	sameIDs(t, first, again)
	var reused *KeyReusedError
	if _, _, err := b.sys.IngestKeyed(ctx, newEvents(3, "keyed"), testKey("k1", "other")); !errors.As(err, &reused) {
		t.Fatalf("k1 with another request through b: %v, want a KeyReusedError", err)
	}

	c := startClusterSystem(t, cc, t.TempDir())
	testutil.WaitFor(t, testutil.Patience, "c applied k1's note", applied(c))
	late, replayed, err := c.sys.IngestKeyed(ctx, newEvents(3, "keyed"), testKey("k1", "req"))
	if err != nil || !replayed {
		t.Fatalf("retry through c: replayed %v, %v", replayed, err)
	}
	sameIDs(t, first, late)
	for _, cs := range []*clusterSystem{a, b, c} {
		waitSnapshot(t, cs.sys, "3 events", func(s *snapshots.Snapshot) bool { return total(s) == 3 })
	}
}

// TestApplierKeyRaceAcrossNodes: requests with one key sent through two
// nodes at once store once, whichever node each reaches and before either
// has applied the other's key (the cluster-wide claim); many keys at once
// through one node (several claims in a group) hold through the other; a
// retry of a first request that claimed its key but stored nothing (it
// failed after its claim) stores the first request's events under its
// IDs, once.
func TestApplierKeyRaceAcrossNodes(t *testing.T) {
	ctx := context.Background()
	cc := startStream(t)
	a := startClusterSystem(t, cc, t.TempDir())
	b := startClusterSystem(t, cc, t.TempDir())

	type answer struct {
		evs      []event.Event
		replayed bool
		err      error
	}
	for round := range 5 {
		key := fmt.Sprint("race-", round)
		answers := make([]answer, 2)
		var wg sync.WaitGroup
		for i, cs := range []*clusterSystem{a, b} {
			wg.Go(func() {
				evs, replayed, err := cs.sys.IngestKeyed(ctx, newEvents(2, "race"), testKey(key, "req"))
				answers[i] = answer{evs, replayed, err}
			})
		}
		wg.Wait()
		for i, an := range answers {
			if an.err != nil {
				t.Fatalf("round %d, node %d: %v", round, i, an.err)
			}
		}
		if answers[0].replayed == answers[1].replayed {
			t.Fatalf("round %d: replayed %v and %v, want exactly one first answer", round, answers[0].replayed, answers[1].replayed)
		}
		sameIDs(t, answers[0].evs, answers[1].evs)
	}

	// Many keys at once through one node (groups with several claims),
	// each retried through the other.
	burst := make([][]event.Event, 20)
	var wg sync.WaitGroup
	for i := range burst {
		wg.Go(func() {
			evs, replayed, err := a.sys.IngestKeyed(ctx, newEvents(1, "burst"), testKey(fmt.Sprint("burst-", i), "req"))
			if err != nil || replayed {
				t.Errorf("burst %d: replayed %v, %v", i, replayed, err)
			}
			burst[i] = evs
		})
	}
	wg.Wait()
	for i := range burst {
		evs, replayed, err := b.sys.IngestKeyed(ctx, newEvents(1, "burst"), testKey(fmt.Sprint("burst-", i), "req"))
		if err != nil || !replayed {
			t.Fatalf("burst %d retried through b: replayed %v, %v", i, replayed, err)
		}
		sameIDs(t, burst[i], evs)
	}

	// A first request that claimed its key and then failed: no events.
	g := event.NewGenerator()
	now := time.Now().UTC()
	lost := journal.Idempotency{Key: "lost", Fingerprint: testKey("lost", "req").Fingerprint, At: now,
		IDs: []event.ID{g.New(now), g.New(now)}}
	if _, _, taken, err := (streamAppender{c: a.sys.cluster, local: a.j}).ClaimKey(lost); err != nil || taken {
		t.Fatalf("claim: taken %v, %v", taken, err)
	}
	evs, replayed, err := b.sys.IngestKeyed(ctx, newEvents(2, "lost"), testKey("lost", "req"))
	if err != nil || !replayed || len(evs) != 2 || evs[0].ID != lost.IDs[0] || evs[1].ID != lost.IDs[1] {
		t.Fatalf("retry of the lost request: %v replayed %v, %v; want its IDs %v", evs, replayed, err, lost.IDs)
	}
	var reused *KeyReusedError
	if _, _, err := a.sys.IngestKeyed(ctx, newEvents(2, "lost"), testKey("lost", "other")); !errors.As(err, &reused) {
		t.Fatalf("the lost key with another request: %v, want a KeyReusedError", err)
	}
	for _, cs := range []*clusterSystem{a, b} {
		waitSnapshot(t, cs.sys, "32 events", func(s *snapshots.Snapshot) bool { return total(s) == 32 })
		for _, id := range lost.IDs {
			if _, err := cs.j.Get(id); err != nil {
				t.Fatalf("the lost request's event %s: %v", id, err)
			}
		}
	}
}
