package test

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/eventara/eventara/internal/testutil"
)

// TestClusterAlerting: three real nodes. A webhook channel made through
// node 2 and a rule naming it made through node 1 are listed alike by
// every node; the rule enabled through node 3 fires on events ingested
// through node 2, and every node shows the same alert (same id, same
// body); acknowledged through node 3, it is acknowledged everywhere. The
// receiver gets the firing once, in exactly one POST, though three nodes
// evaluate the rule, and every node's delivery log says SENT.
func TestClusterAlerting(t *testing.T) {
	c := startCluster(t, 3)
	n1, n2, n3 := c.nodes[0], c.nodes[1], c.nodes[2]
	hook := newReceiver(t)

	code, ch := postJSON(t, n2.url("/api/v1/notifications/channels"), `{"channelType":"WEBHOOK","name":"ops-hook",
		"config":{"url":"`+hook.URL+`/alerts","signingSecret":"`+hookSecret+`"}}`)
	if code != http.StatusCreated {
		t.Fatalf("create channel through node 2: %d %v", code, ch)
	}
	code, rule := postJSON(t, n1.url("/api/v1/rules"), `{"name":"any source","ruleType":"THRESHOLD","severity":"WARNING",
		"notificationChannels":["ops-hook"],"ruleConfig":{"metricType":"UNIQUE_SOURCES","condition":"GREATER_THAN","thresholdValue":0}}`)
	if code != http.StatusCreated {
		t.Fatalf("create rule through node 1: %d %v", code, rule)
	}
	ruleID := rule["id"].(string)
	// The node that took a change answers once it applied it; the others
	// follow.
	if code, _ := getJSON(t, n1.url("/api/v1/rules/"+ruleID)); code != http.StatusOK {
		t.Fatalf("node 1 does not list the rule it created: %d", code)
	}
	sameOnEvery(t, c, "/api/v1/rules/"+ruleID, nil)
	sameOnEvery(t, c, "/api/v1/notifications/channels/"+ch["id"].(string), nil)

	if code, r := postJSON(t, n3.url("/api/v1/rules/"+ruleID+"/enable"), ``); code != http.StatusOK || r["status"] != "ACTIVE" {
		t.Fatalf("enable through node 3: %d %v", code, r)
	}
	if code, _ := postJSON(t, n2.url("/api/v1/events"), `{"eventType":"order","source":"shop"}`); code != http.StatusAccepted {
		t.Fatalf("ingest through node 2: %d", code)
	}
	alertID := ruleID + "-1"
	sameOnEvery(t, c, "/api/v1/alerts/"+alertID, func(a map[string]any) error {
		if a["status"] != "FIRING" {
			return fmt.Errorf("status %v", a["status"])
		}
		return nil
	})

	code, acked := send(t, http.MethodPost, n3.url("/api/v1/alerts/"+alertID+"/acknowledge"), `{"acknowledgedBy":"carol","acknowledgmentNotes":"on it"}`)
	if code != http.StatusOK || acked["acknowledgedBy"] != "carol" {
		t.Fatalf("acknowledge through node 3: %d %v", code, acked)
	}
	sameOnEvery(t, c, "/api/v1/alerts/"+alertID, func(a map[string]any) error {
		if a["acknowledgedBy"] != "carol" || a["status"] != "FIRING" {
			return fmt.Errorf("not acknowledged: %v", a)
		}
		return nil
	})

	key := alertID + ":firing"
	if body := hook.waitProcessed(t, key); body["alertId"] != alertID {
		t.Fatalf("webhook body: %v", body)
	}
	testutil.WaitFor(t, testutil.Patience, "every node's delivery log says SENT", func() error {
		for i, s := range c.nodes {
			if got := logStatuses(t, s, alertID); got != "WEBHOOK/FIRING/SENT" {
				return fmt.Errorf("node %d: %q", i+1, got)
			}
		}
		return nil
	})
	if _, n := hook.got(key); n != 1 {
		t.Fatalf("%d POSTs of the firing from three nodes; want 1", n)
	}
}

// sameOnEvery polls path on every node until each answers 200 with the
// same body, which check (when set) accepts.
func sameOnEvery(t *testing.T, c *clusterOf, path string, check func(map[string]any) error) {
	t.Helper()
	sameOn(t, c.nodes, path, check)
}

// sameOn is sameOnEvery for some of the nodes (those running).
func sameOn(t *testing.T, nodes []*server, path string, check func(map[string]any) error) {
	t.Helper()
	testutil.WaitFor(t, testutil.Patience, path+" the same on "+nodeAddrs(nodes), func() error {
		var first []byte
		for i, s := range nodes {
			code, body := do(t, http.MethodGet, s.url(path), "", nil)
			if code != http.StatusOK {
				return fmt.Errorf("%s: %d %s", s.addr, code, body)
			}
			if i == 0 {
				first = body
				continue
			}
			if !bytes.Equal(first, body) {
				return fmt.Errorf("%s and %s differ:\n%s\n%s", nodes[0].addr, s.addr, first, body)
			}
		}
		if check == nil {
			return nil
		}
		_, m := getJSON(t, nodes[0].url(path))
		return check(m)
	})
}

// nodeAddrs names nodes by their HTTP addresses.
func nodeAddrs(nodes []*server) string {
	addrs := make([]string, len(nodes))
	for i, s := range nodes {
		addrs[i] = s.addr
	}
	return strings.Join(addrs, ", ")
}
