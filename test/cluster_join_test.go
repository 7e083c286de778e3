package test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/eventara/eventara/internal/testutil"
)

// TestClusterLateJoiner: a node whose data directory is wiped (NATS store
// included) and that comes back after the stream's retention removed the
// records it would need starts from a shared checkpoint another node
// published: the same totalEvents as the others, identical STOMP bodies
// for the ticks both push, healthy, no retention gap, and its health
// says which checkpoint it started from. The retention is 20 s (the
// least the flags allow is the 10 s duplicate window; shared checkpoints
// then go out every 5 s, a quarter of it).
func TestClusterLateJoiner(t *testing.T) {
	const retention = 20 * time.Second
	c := startCluster(t, 3, "--retention", retention.String(), "--cluster-duplicate-window", "10s")
	in := &ingester{}
	for i := range 60 {
		in.post(t, c.nodes[i%3], i)
	}
	in.mu.Lock()
	acked := len(in.acked)
	in.mu.Unlock()
	if acked == 0 || in.other.Load() != 0 {
		t.Fatalf("acknowledged %d events of %d sent; other answers %d", acked, in.sent.Load(), in.other.Load())
	}
	for _, s := range c.nodes {
		s.waitTotal(t, float64(acked))
	}
	_, h := c.nodes[0].health(t)
	lastRecord, _ := path(h, "cluster.streamSeq").(float64)

	// Node 3 is lost with its disk.
	joiner := c.nodes[2]
	joiner.kill()
	if err := os.RemoveAll(joiner.dataDir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(joiner.dataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	// This waits past the retention on purpose: the records must go.
	testutil.WaitFor(t, retention+testutil.Patience, "the stream's retention past the events", func() error {
		_, h := c.nodes[0].health(t)
		first, _ := path(h, "cluster.firstSeq").(float64)
		if first <= lastRecord {
			return fmt.Errorf("first retained %v, events up to %v", first, lastRecord)
		}
		return nil
	})

	joiner.launch()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("joiner's log:\n%s", tail(joiner.logs.String(), 60))
			for _, line := range strings.Split(c.nodes[0].logs.String(), "\n") {
				if strings.Contains(line, "shared") {
					t.Logf("n1: %s", line)
				}
			}
		}
	})
	joiner.waitHealthy(t)
	code, h := joiner.health(t)
	from, _ := path(h, "cluster.startedFrom").(map[string]any)
	if code != http.StatusOK || from == nil || path(h, "cluster.retentionGap") != nil {
		t.Fatalf("joiner health %d: startedFrom %v, retentionGap %v\n%s", code, from, path(h, "cluster.retentionGap"), joiner.logs)
	}
	if seq, _ := from["seq"].(float64); seq <= lastRecord || (from["node"] != "n1" && from["node"] != "n2") {
		t.Fatalf("started from %v: want n1's or n2's checkpoint past the events (sequence %v)", from, lastRecord)
	}
	if !strings.Contains(joiner.logs.String(), "this node starts from a shared checkpoint") {
		t.Fatalf("the joiner's log does not say it started from a shared checkpoint:\n%s", joiner.logs)
	}
	for _, s := range c.nodes {
		s.waitTotal(t, float64(acked))
	}
	if age, ok := joiner.promSum(t, "eventara_cluster_shared_checkpoint_age_seconds"); !ok || age < 0 || age > retention.Seconds() {
		t.Fatalf("eventara_cluster_shared_checkpoint_age_seconds = %v (present %v)", age, ok)
	}

	// Live: the same bodies for the same ticks on an old node and the
	// joiner, while events come through both.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logA, logB := subscribe(t, ctx, c.nodes[0]), subscribe(t, ctx, joiner)
	for i := range 30 {
		in.post(t, c.nodes[[]int{0, 2}[i%2]], 100+i)
	}
	in.mu.Lock()
	acked = len(in.acked)
	in.mu.Unlock()
	for _, s := range c.nodes {
		s.waitTotal(t, float64(acked))
	}
	testutil.WaitFor(t, testutil.Patience, "ticks pushed by both nodes", func() error {
		if n := compareTicks(t, logA, logB); n < 5 {
			return fmt.Errorf("%d ticks in common", n)
		}
		return nil
	})
	if code, h := joiner.health(t); code != http.StatusOK || path(h, "cluster.retentionGap") != nil {
		t.Fatalf("joiner health %d, retention gap %v", code, path(h, "cluster.retentionGap"))
	}
}
