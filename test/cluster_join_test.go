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
// then go out every 5 s, a quarter of it). A rule and a webhook channel
// made through node 1 before, and the alert the rule fired and whose
// notification was sent, are on the joiner as on the others (the same
// lists, IDs and states: from the shared checkpoint, as the stream no
// longer holds them), and the receiver never gets that notification
// again.
func TestClusterLateJoiner(t *testing.T) {
	const retention = 20 * time.Second
	c := startCluster(t, 3, "--retention", retention.String(), "--cluster-duplicate-window", "10s")
	hook := newReceiver(t)
	code, ch := postJSON(t, c.nodes[0].url("/api/v1/notifications/channels"), `{"channelType":"WEBHOOK","name":"ops-hook",
		"config":{"url":"`+hook.URL+`/alerts","signingSecret":"`+hookSecret+`"}}`)
	if code != http.StatusCreated {
		t.Fatalf("create channel through node 1: %d %v", code, ch)
	}
	code, rule := postJSON(t, c.nodes[0].url("/api/v1/rules"), `{"name":"any source","ruleType":"THRESHOLD","severity":"WARNING",
		"notificationChannels":["ops-hook"],"ruleConfig":{"metricType":"UNIQUE_SOURCES","condition":"GREATER_THAN","thresholdValue":0}}`)
	if code != http.StatusCreated {
		t.Fatalf("create rule through node 1: %d %v", code, rule)
	}
	ruleID := rule["id"].(string)
	if code, r := postJSON(t, c.nodes[0].url("/api/v1/rules/"+ruleID+"/enable"), ``); code != http.StatusOK || r["status"] != "ACTIVE" {
		t.Fatalf("enable through node 1: %d %v", code, r)
	}
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
	alertID := ruleID + "-1"
	firing := alertID + ":firing"
	hook.waitProcessed(t, firing)
	sentEverywhere := func(nodes []*server) {
		t.Helper()
		testutil.WaitFor(t, testutil.Patience, "every node's delivery log says SENT", func() error {
			for _, s := range nodes {
				if got := logStatuses(t, s, alertID); got != "WEBHOOK/FIRING/SENT" {
					return fmt.Errorf("%s: %q", s.addr, got)
				}
			}
			return nil
		})
	}
	sentEverywhere(c.nodes)
	alerting := []string{"/api/v1/rules", "/api/v1/rules/" + ruleID, "/api/v1/notifications/channels", "/api/v1/alerts", "/api/v1/alerts/" + alertID}
	for _, p := range alerting {
		sameOnEvery(t, c, p, nil)
	}
	_, h := c.nodes[0].health(t)
	lastRecord, _ := path(h, "cluster.streamSeq").(float64) // past the rule's, the channel's and the delivery's notes

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
	code, h = joiner.health(t)
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
	if w := path(h, "cluster.joinWarning"); w != nil {
		t.Fatalf("join warning: %v", w)
	}
	if !strings.Contains(joiner.logs.String(), "rules, alerts and notification channels installed from the shared checkpoint") {
		t.Fatalf("the joiner's log does not say it installed the rules:\n%s", joiner.logs)
	}
	for _, p := range alerting {
		sameOnEvery(t, c, p, nil)
	}
	sameOnEvery(t, c, "/api/v1/alerts/"+alertID, func(a map[string]any) error {
		if a["status"] != "FIRING" || a["ruleId"] != ruleID {
			return fmt.Errorf("alert %v", a)
		}
		return nil
	})
	sentEverywhere([]*server{joiner})

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
	// Whichever node delivers, the joiner included, the firing went out
	// once, before the wipe.
	if _, n := hook.got(firing); n != 1 {
		t.Fatalf("%d POSTs of %s; want 1", n, firing)
	}
}
