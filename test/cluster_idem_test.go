package test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/eventara/eventara/internal/testutil"
)

// postKeyedNoFatal is postKeyed for another goroutine: a failure to get
// a JSON answer is status 0 with the error under "error".
func postKeyedNoFatal(s *server, key, body string) (int, map[string]any, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Patience)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url("/api/v1/events"), bytes.NewReader([]byte(body)))
	if err != nil {
		return 0, map[string]any{"error": err.Error()}, false
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, map[string]any{"error": err.Error()}, false
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		return 0, map[string]any{"error": err.Error()}, false
	}
	return resp.StatusCode, m, resp.Header.Get("Idempotent-Replayed") == "true"
}

// postKeyed posts body to s's single-event endpoint with an
// Idempotency-Key and returns the status, the JSON answer and whether it
// says it was replayed.
func postKeyed(t *testing.T, s *server, key, body string) (int, map[string]any, bool) {
	t.Helper()
	code, m, replayed := postKeyedNoFatal(s, key, body)
	if code == 0 {
		t.Fatalf("POST %s: %v", s.addr, m["error"])
	}
	return code, m, replayed
}

// TestClusterIdempotencyKey: three real nodes. A keyed request taken by
// node 1 is answered from the first one when retried through node 2 and
// node 3, at once and after they have applied it (the same eventId,
// Idempotent-Replayed: true, nothing stored or counted twice on any node);
// the same request sent through all three at once is stored once; the key
// with another request through node 3 is a 422.
func TestClusterIdempotencyKey(t *testing.T) {
	c := startCluster(t, 3)
	n1, n2, n3 := c.nodes[0], c.nodes[1], c.nodes[2]
	const key, one = "k-cluster-1", `{"eventType":"order","source":"shop"}`

	code, first, replayed := postKeyed(t, n1, key, one)
	if code != 202 || replayed {
		t.Fatalf("first through node 1: %d %v, replayed %v", code, first, replayed)
	}
	// At once: node 2 and 3 may not have applied the first request yet.
	for _, s := range []*server{n2, n3} {
		code, again, replayed := postKeyed(t, s, key, one)
		if code != 202 || !replayed || again["eventId"] != first["eventId"] || again["receivedAt"] != first["receivedAt"] {
			t.Fatalf("immediate retry through %s: %d %v, replayed %v; first answered %v", s.addr, code, again, replayed, first)
		}
	}
	// The same request through the three nodes at once, five times.
	for round := range 5 {
		key := fmt.Sprint("k-race-", round)
		type answer struct {
			code     int
			body     map[string]any
			replayed bool
		}
		answers := make([]answer, len(c.nodes))
		var wg sync.WaitGroup
		for i, s := range c.nodes {
			wg.Go(func() {
				code, body, replayed := postKeyedNoFatal(s, key, one)
				answers[i] = answer{code, body, replayed}
			})
		}
		wg.Wait()
		firsts := 0
		for i, an := range answers {
			if an.code != 202 || an.body["eventId"] != answers[0].body["eventId"] {
				t.Fatalf("round %d, node %d: %d %v; node 1 answered %v", round, i+1, an.code, an.body, answers[0].body)
			}
			if !an.replayed {
				firsts++
			}
		}
		if firsts != 1 {
			t.Fatalf("round %d: %d answers not replayed, want 1", round, firsts)
		}
	}
	const stored = 1 + 5
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
	marker(stored + 1)

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
	marker(stored + 2)
	var ingested float64
	for _, s := range c.nodes {
		n, _ := s.promSum(t, "eventara_events_ingested_total")
		ingested += n
	}
	if ingested != stored+2 {
		t.Errorf("eventara_events_ingested_total over the nodes = %v, want %d (a retry stores nothing)", ingested, stored+2)
	}
}
