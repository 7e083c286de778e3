package test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/eventara/eventara/internal/testutil"
	"github.com/eventara/eventara/notify"
)

// TestClusterDelivererKilled: three real nodes; the deliverer (the stream
// leader) is SIGKILLed while its first attempt of a firing notification
// hangs at the receiver. A new leader is elected and, as the new
// deliverer, takes the interrupted attempt over (2 × SendTimeout + 5 s
// after it began) and sends the notification again with the same
// Idempotency-Key: its first try gets a 500, the next a 200. The receiver
// processes the firing once (de-duplicating by key); the survivors show
// the same alert and the same delivery log, ending in SENT. The alert
// resolved by hand through a survivor: the resolution goes out in one
// POST. The killed node, restarted, catches up to the same alert and
// delivery log and sends nothing again.
func TestClusterDelivererKilled(t *testing.T) {
	c := startCluster(t, 3)
	t.Cleanup(func() {
		if t.Failed() {
			for i, s := range c.nodes {
				t.Logf("--- %s (tail) ---\n%s", nodeName(i), tail(s.logs.String(), 30))
			}
		}
	})
	hook := newReceiver(t)
	hung := make(chan struct{})
	release := sync.OnceFunc(func() { close(hung) })
	t.Cleanup(release) // runs before hook.Close, which waits for the held request

	if code, ch := postJSON(t, c.nodes[0].url("/api/v1/notifications/channels"), `{"channelType":"WEBHOOK","name":"ops-hook",
		"config":{"url":"`+hook.URL+`/alerts","signingSecret":"`+hookSecret+`"}}`); code != http.StatusCreated {
		t.Fatalf("create channel: %d %v", code, ch)
	}
	// A cooldown longer than the test: the alert resolved by hand below
	// does not fire again while the condition still holds.
	code, rule := postJSON(t, c.nodes[0].url("/api/v1/rules"), `{"name":"any source","ruleType":"THRESHOLD","severity":"WARNING",
		"notificationChannels":["ops-hook"],"ruleConfig":{"metricType":"UNIQUE_SOURCES","condition":"GREATER_THAN","thresholdValue":0,
		"cooldownMinutes":60}}`)
	if code != http.StatusCreated {
		t.Fatalf("create rule: %d %v", code, rule)
	}
	ruleID := rule["id"].(string)
	alertID := ruleID + "-1"
	firing, resolved := alertID+":firing", alertID+":resolved"
	sameOnEvery(t, c, "/api/v1/rules/"+ruleID, nil) // the others apply it within their lag

	// The receiver holds every request until told otherwise, and answers
	// the second request of the firing 500.
	arrived := make(chan string, 16)
	hook.mu.Lock()
	hook.hold, hook.arrived = hung, arrived
	hook.failing = func(key string, n int) bool { return key == firing && n == 2 }
	hook.mu.Unlock()

	d := streamLeader(t, c.nodes, "")
	via := c.nodes[(d+1)%3]
	if code, r := postJSON(t, via.url("/api/v1/rules/"+ruleID+"/enable"), ``); code != http.StatusOK || r["status"] != "ACTIVE" {
		t.Fatalf("enable: %d %v", code, r)
	}
	if code, _ := postJSON(t, via.url("/api/v1/events"), `{"eventType":"order","source":"shop"}`); code != http.StatusAccepted {
		t.Fatalf("ingest: %d", code)
	}
	if key := testutil.Recv(t, arrived, 2*testutil.Patience, "the deliverer's first attempt at the receiver"); key != firing {
		t.Fatalf("first request's Idempotency-Key %q, want %q", key, firing)
	}
	if now := streamLeader(t, c.nodes, ""); now != d {
		t.Fatalf("the leader moved from %s to %s before the kill: which node sent the attempt is not known", nodeName(d), nodeName(now))
	}

	// The attempt hangs at the receiver: kill the node that made it.
	victim := c.nodes[d]
	victim.kill()
	hook.mu.Lock()
	hook.hold = nil // requests from now on are answered (the held one stays held)
	hook.mu.Unlock()
	var survivors []*server
	for i, s := range c.nodes {
		if i != d {
			survivors = append(survivors, s)
		}
	}
	next := streamLeader(t, survivors, nodeName(d))
	t.Logf("deliverer %s killed during its attempt; %s leads now", nodeName(d), nodeName(next))

	// The new deliverer takes the attempt over and sends it again.
	if body := hook.waitProcessed(t, firing); body["alertId"] != alertID || body["event"] != "firing" {
		t.Fatalf("firing body processed: %v", body)
	}
	wantFiring := "WEBHOOK/FIRING/RETRYING WEBHOOK/FIRING/RETRYING WEBHOOK/FIRING/SENT"
	logs := sameDeliveryLog(t, survivors, alertID, wantFiring)
	if msg, _ := logs[0]["errorMessage"].(string); !strings.Contains(msg, "interrupted") {
		t.Errorf("the killed node's attempt is logged as %v, want it interrupted", logs[0])
	}
	if logs[1]["responseCode"] != 500.0 || logs[2]["responseCode"] != 200.0 {
		t.Errorf("the new deliverer's attempts: %v / %v, want 500 then 200", logs[1]["responseCode"], logs[2]["responseCode"])
	}
	release() // the killed node's request, held till now, ends (answered to nobody)
	posts := hook.postsFor(alertID, "firing")
	if len(posts) != 3 {
		t.Fatalf("%d POSTs of the firing, want 3: the killed node's, the new deliverer's 500 and its 200", len(posts))
	}
	for i, p := range posts {
		if k := p.header.Get(notify.HeaderIdempotencyKey); k != firing {
			t.Errorf("firing POST %d: Idempotency-Key %q, want %q", i+1, k, firing)
		}
		var b map[string]any
		if err := json.Unmarshal(p.body, &b); err != nil || b["alertId"] != alertID {
			t.Errorf("firing POST %d: body %s (%v)", i+1, p.body, err)
		}
	}
	sameOn(t, survivors, "/api/v1/alerts/"+alertID, func(a map[string]any) error {
		if a["id"] != alertID || a["status"] != "FIRING" {
			return fmt.Errorf("alert %v %v", a["id"], a["status"])
		}
		return nil
	})

	// A resolution after the take-over goes out once.
	code, r := postJSON(t, survivors[1].url("/api/v1/alerts/"+alertID+"/resolve"), `{"resolvedBy":"dave","resolutionNotes":"failover drill"}`)
	if code != http.StatusOK || r["status"] != "RESOLVED" {
		t.Fatalf("resolve through %s: %d %v", survivors[1].addr, code, r)
	}
	if body := hook.waitProcessed(t, resolved); body["event"] != "resolved" || body["resolvedAt"] == nil {
		t.Fatalf("resolution body: %v", body)
	}
	wantAll := wantFiring + " WEBHOOK/RESOLVED/SENT"
	sameDeliveryLog(t, survivors, alertID, wantAll)
	isResolved := func(a map[string]any) error {
		if a["status"] != "RESOLVED" || a["resolvedBy"] != "dave" {
			return fmt.Errorf("alert %v resolved by %v", a["status"], a["resolvedBy"])
		}
		return nil
	}
	sameOn(t, survivors, "/api/v1/alerts/"+alertID, isResolved)

	// The killed node, restarted, catches up.
	victim.startAt(victim.addr)
	sameOnEvery(t, c, "/api/v1/alerts/"+alertID, isResolved)
	sameDeliveryLog(t, c.nodes, alertID, wantAll)
	if n := len(hook.postsFor(alertID, "firing")); n != 3 {
		t.Errorf("%d POSTs of the firing in the end, want 3", n)
	}
	if n := len(hook.postsFor(alertID, "resolved")); n != 1 {
		t.Errorf("%d POSTs of the resolution, want 1", n)
	}
	if _, n := hook.got(resolved); n != 1 {
		t.Errorf("%d requests with Idempotency-Key %s, want 1", n, resolved)
	}
}

// nodeName is the --node-name startCluster gives node i (0-based).
func nodeName(i int) string { return "n" + strconv.Itoa(i+1) }

// streamLeader polls GET /api/v1/system/cluster on nodes until they all
// name the same leader, other than not, and returns its index (as
// startCluster numbers them).
func streamLeader(t *testing.T, nodes []*server, not string) int {
	t.Helper()
	idx := -1
	testutil.WaitFor(t, 2*testutil.Patience, "a stream leader other than "+strconv.Quote(not), func() error {
		var leader string
		for i, s := range nodes {
			code, v := getJSON(t, s.url("/api/v1/system/cluster"))
			if code != http.StatusOK {
				return fmt.Errorf("%s: %d %v", s.addr, code, v)
			}
			l, _ := v["leader"].(string)
			if i > 0 && l != leader {
				return fmt.Errorf("%s says %q, %s says %q", nodes[0].addr, leader, s.addr, l)
			}
			leader = l
		}
		n, err := strconv.Atoi(strings.TrimPrefix(leader, "n"))
		if leader == not || err != nil || n < 1 {
			return fmt.Errorf("leader %q", leader)
		}
		idx = n - 1
		return nil
	})
	return idx
}

// sameDeliveryLog waits until the delivery log of alertID is the same on
// every one of nodes and reads, as "TYPE/TRANSITION/STATUS" oldest first,
// want; it returns its entries, oldest first.
func sameDeliveryLog(t *testing.T, nodes []*server, alertID, want string) []map[string]any {
	t.Helper()
	var entries []map[string]any
	sameOn(t, nodes, "/api/v1/notifications/logs?sortDir=ASC&alertId="+url.QueryEscape(alertID), func(page map[string]any) error {
		entries = entries[:0]
		var got []string
		content, _ := page["content"].([]any)
		for _, e := range content {
			m := e.(map[string]any)
			entries = append(entries, m)
			got = append(got, fmt.Sprint(m["channelType"], "/", m["transition"], "/", m["status"]))
		}
		if s := strings.Join(got, " "); s != want {
			return fmt.Errorf("delivery log %q, want %q", s, want)
		}
		return nil
	})
	return entries
}
