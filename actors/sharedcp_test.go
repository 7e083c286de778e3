package actors

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/eventara/eventara/cluster"
	"github.com/eventara/eventara/internal/testutil"
	"github.com/eventara/eventara/journal"
	"github.com/eventara/eventara/snapshots"
)

// startShortStream starts a one-node NATS whose stream keeps records for
// maxAge only, and returns its cluster config with shared checkpoints
// every second.
func startShortStream(t *testing.T, maxAge time.Duration) *ClusterConfig {
	t.Helper()
	ctx := context.Background()
	node, err := cluster.Start(ctx, cluster.Config{Name: "t1", Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(node.Shutdown)
	stream, err := node.Stream(ctx, cluster.StreamConfig{MaxAge: maxAge, Duplicates: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := stream.Publisher(cluster.PublisherConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return &ClusterConfig{Node: node, Stream: stream, Publisher: pub, SharedCheckpointInterval: time.Second}
}

// startCheckpointingNode starts a System in cluster mode on its own journal in dir,
// checkpointing every 200 ms.
func startCheckpointingNode(t *testing.T, cc ClusterConfig, dir string) *clusterSystem {
	t.Helper()
	return startClusterSystem(t, &cc, dir, func(cfg *Config) { cfg.CheckpointInterval = 200 * time.Millisecond })
}

// waitRetained waits until the stream's retention has removed every
// message up to seq.
func waitRetained(t *testing.T, s *cluster.Stream, seq uint64, patience time.Duration) uint64 {
	t.Helper()
	var first uint64
	testutil.WaitFor(t, patience, fmt.Sprintf("the stream's retention past sequence %d", seq), func() error {
		var err error
		if first, err = s.FirstRetained(context.Background()); err != nil {
			return err
		}
		if first <= seq {
			return fmt.Errorf("first retained %d", first)
		}
		return nil
	})
	return first
}

// waitShared waits until node cs knows a shared checkpoint covering seq.
func waitShared(t *testing.T, cs *clusterSystem, seq uint64) {
	t.Helper()
	testutil.WaitFor(t, testutil.Patience, fmt.Sprintf("a shared checkpoint at or after %d", seq), func() error {
		h, _ := cs.sys.Cluster()
		if h.Shared == nil || h.Shared.Seq < seq {
			return fmt.Errorf("newest shared checkpoint %+v (error %q, gap %q, first %d)", h.Shared, h.SharedError, h.RetentionGap, h.First)
		}
		return nil
	})
}

// TestJoinFromSharedCheckpoint: a node that starts with an empty data
// directory after the stream's retention removed records it needs starts
// from the shared checkpoint another node published: the same totals and
// byte-identical snapshots for the same ticks, healthy, no retention gap;
// its local journal still gets the records the stream retains (counted
// once), and it takes events on. A quiet stream's ticks alone still move
// the shared checkpoints on.
func TestJoinFromSharedCheckpoint(t *testing.T) {
	const maxAge = 8 * time.Second
	cc := startShortStream(t, maxAge)
	a := startCheckpointingNode(t, *cc, t.TempDir())
	ingestN(t, a.sys, 30, "old")
	oldSeq := a.sys.cluster.acked.Load()
	waitRetained(t, cc.Stream, oldSeq, maxAge+testutil.Patience)

	// Events the stream still holds, covered by a shared checkpoint.
	recent, err := a.sys.Ingest(context.Background(), newEvents(10, "recent"))
	if err != nil {
		t.Fatal(err)
	}
	recentSeq := a.sys.cluster.acked.Load()
	waitShared(t, a, recentSeq)
	first, err := cc.Stream.FirstRetained(context.Background())
	if err != nil || first > recentSeq-9 {
		t.Fatalf("first retained %d (%v): the recent events (up to %d) aged out already; the test needs a longer MaxAge", first, err, recentSeq)
	}

	b := startCheckpointingNode(t, *cc, t.TempDir())
	h, _ := b.sys.Cluster()
	if h.StartedFrom == nil || h.StartedFrom.Seq < recentSeq || h.StartedFrom.Node != "t1" || h.StartedFrom.At.IsZero() {
		t.Fatalf("started from %+v, want the shared checkpoint at or after %d", h.StartedFrom, recentSeq)
	}
	waitSnapshot(t, b.sys, "40 events", func(s *snapshots.Snapshot) bool { return total(s) == 40 })
	for _, e := range recent {
		testutil.WaitFor(t, testutil.Patience, "recent event in b's journal", func() error {
			_, err := b.j.Get(e.ID)
			return err
		})
	}
	sameTicks(t, a, b, 3)
	if h, _ := b.sys.Cluster(); h.RetentionGap != "" {
		t.Fatalf("retention gap after a join: %s", h.RetentionGap)
	}
	if hh := b.sys.Health(); !hh.Up {
		t.Fatalf("b down: %s", hh.Reason)
	}
	// No events since: the ticks alone still move the checkpoints on, or
	// they would age out of the stream and leave a later joiner nothing.
	waitShared(t, a, a.sys.cluster.handed.Load()+2)
	ingestN(t, b.sys, 5, "new")
	for _, cs := range []*clusterSystem{a, b} {
		waitSnapshot(t, cs.sys, "45 events", func(s *snapshots.Snapshot) bool { return total(s) == 45 })
	}
	if total(b.sys.Latest()) != 45 {
		t.Fatalf("b counted %d events, want 45: retained records applied twice", total(b.sys.Latest()))
	}
}

// sameTicks waits until a and b built n snapshots for the same ticks,
// failing t if any two differ.
func sameTicks(t *testing.T, a, b *clusterSystem, n int) {
	t.Helper()
	same := 0
	var last time.Time
	testutil.WaitFor(t, 3*testutil.Patience, fmt.Sprintf("%d ticks built alike by both nodes", n), func() error {
		sa, sb := a.sys.Latest(), b.sys.Latest()
		if sa.BuiltAt.Equal(sb.BuiltAt) && !sa.BuiltAt.Equal(last) {
			if !bytes.Equal(sa.JSON, sb.JSON) {
				t.Fatalf("tick %s: different snapshots:\n%s\n%s", sa.BuiltAt, sa.JSON, sb.JSON)
			}
			same, last = same+1, sa.BuiltAt
		}
		if same < n {
			return errors.New("not yet")
		}
		return nil
	})
}

// TestJoinWithoutSharedCheckpointIsRefused: when no shared checkpoint
// covers what the stream's retention removed (its publisher's interval
// is longer than the retention), the joiner keeps today's refusal: health
// down with a reason that says what to do, no checkpoint of its own (so
// its next start tries again), and its state is never shared.
func TestJoinWithoutSharedCheckpointIsRefused(t *testing.T) {
	const maxAge = 3 * time.Second
	cc := startShortStream(t, maxAge)
	slow := *cc
	slow.SharedCheckpointInterval = time.Hour // the first one only
	a := startCheckpointingNode(t, slow, t.TempDir())
	ingestN(t, a.sys, 10, "old")
	seq := a.sys.cluster.acked.Load()
	waitShared(t, a, seq)
	shared, _ := a.sys.Cluster()
	waitRetained(t, cc.Stream, shared.Shared.Seq+2, maxAge+testutil.Patience)

	dir := t.TempDir()
	b := startCheckpointingNode(t, *cc, dir)
	h, _ := b.sys.Cluster()
	if h.StartedFrom != nil {
		t.Fatalf("started from %+v, which does not cover the gap", h.StartedFrom)
	}
	for _, want := range []string{"older than the cluster stream's retention", "does not cover them", "restart this node once"} {
		if !strings.Contains(h.RetentionGap, want) {
			t.Fatalf("retention gap %q, want it to say %q", h.RetentionGap, want)
		}
	}
	testutil.WaitFor(t, testutil.Patience, "b down for the gap", func() error {
		if hh := b.sys.Health(); hh.Up || !strings.Contains(hh.Reason, "retention") {
			return fmt.Errorf("health up %v, reason %q", hh.Up, hh.Reason)
		}
		return nil
	})
	// Ticks go by: b writes no checkpoint and publishes nothing.
	first := waitSnapshot(t, b.sys, "a stream tick", func(s *snapshots.Snapshot) bool { return true })
	waitSnapshot(t, b.sys, "two more ticks", func(s *snapshots.Snapshot) bool { return s.BuiltAt.Sub(first.BuiltAt) >= 2*time.Second })
	b.stop()
	j, err := journal.Open(journal.Config{Dir: dir, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	_, ok, err := j.LoadCheckpoint()
	j.Close()
	if err != nil || ok {
		t.Fatalf("b wrote a checkpoint (%v, %v) though its totals miss records", ok, err)
	}
	infos, err := cc.Stream.SharedCheckpoints(context.Background())
	if err != nil || len(infos) != 1 || infos[0].Seq != shared.Shared.Seq {
		t.Fatalf("shared checkpoints %+v (%v): want a's alone, at %d", infos, err, shared.Shared.Seq)
	}
}
