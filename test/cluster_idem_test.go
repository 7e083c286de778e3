package test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/eventara/eventara/internal/testutil"
)

// postKeyed posts body to s's single-event endpoint with an
// Idempotency-Key and returns the status, the JSON answer and whether it
// says it was replayed.
func postKeyed(t *testing.T, s *server, key, body string) (int, map[string]any, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Patience)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url("/api/v1/events"), bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", s.addr, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("POST %s: %d, body not JSON: %q", s.addr, resp.StatusCode, b)
	}
	return resp.StatusCode, m, resp.Header.Get("Idempotent-Replayed") == "true"
}

// TestClusterIdempotencyKey: three real nodes. A keyed request taken by
// node 1 is answered from the first one when retried through node 2 and
// node 3 once they have applied it (the same eventId, Idempotent-Replayed:
// true, nothing stored or counted twice on any node); the key with another
// request through node 3 is a 422.
func TestClusterIdempotencyKey(t *testing.T) {
	c := startCluster(t, 3)
	n1, n2, n3 := c.nodes[0], c.nodes[1], c.nodes[2]
	const key, one = "k-cluster-1", `{"eventType":"order","source":"shop"}`

	code, first, replayed := postKeyed(t, n1, key, one)
	if code != 202 || replayed {
		t.Fatalf("first through node 1: %d %v, replayed %v", code, first, replayed)
	}
	// A marker through node 1 is in the stream after the key: a node that
	// counts it has applied the key.
	marker := func(want float64) {
		t.Helper()
		if code, m := postJSON(t, n1.url("/api/v1/events"), `{"eventType":"marker","source":"test"}`); code != 202 {
			t.Fatalf("marker: %d %v", code, m)
		}
		for _, s := range c.nodes {
			s.waitTotal(t, want)
		}
	}
	marker(2)

	for i, s := range []*server{n2, n3, n1} {
		code, again, replayed := postKeyed(t, s, key, one)
		if code != 202 || !replayed || again["eventId"] != first["eventId"] || again["receivedAt"] != first["receivedAt"] {
			t.Fatalf("retry %d through %s: %d %v, replayed %v; first answered %v", i+1, s.addr, code, again, replayed, first)
		}
	}
	code, reused, _ := postKeyed(t, n3, key, `{"eventType":"other","source":"shop"}`)
	if errs, _ := reused["errors"].(map[string]any); code != 422 || errs["Idempotency-Key"] == nil {
		t.Fatalf("the key with another request through node 3: %d %v, want 422 with the field error", code, reused)
	}
	// Counted once: after a second marker every node holds the first
	// request and the two markers, nothing more.
	marker(3)
	var ingested float64
	for _, s := range c.nodes {
		n, _ := s.promSum(t, "eventara_events_ingested_total")
		ingested += n
	}
	if ingested != 3 {
		t.Errorf("eventara_events_ingested_total over the nodes = %v, want 3 (a retry stores nothing)", ingested)
	}
}
