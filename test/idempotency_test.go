package test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/eventara/eventara/internal/testutil"
)

// TestIdempotencyKey: a request retried with its Idempotency-Key is
// answered from the first one, stores nothing and counts nothing twice,
// also after kill -9; the key with another request is a 422; every answer
// is the OpenAPI document's.
func TestIdempotencyKey(t *testing.T) {
	s := startServer(t)
	c := loadContract(t, s, nil)
	keyed := func(path, key, body string, status int) call {
		return call{method: http.MethodPost, path: path, body: []byte(body), status: status,
			header: http.Header{"Idempotency-Key": {key}}}
	}
	const one = `{"eventType":"order","source":"shop"}`
	const batch = `[{"eventType":"order","source":"shop"},{"source":"no type"},{"eventType":"refund","source":"shop"}]`

	first := c.do(t, keyed("/api/v1/events", "k-1", one, 202))
	if first.header.Get("Idempotent-Replayed") != "" {
		t.Fatal("the first request says it was replayed")
	}
	again := c.do(t, keyed("/api/v1/events", "k-1", one, 202))
	if again.header.Get("Idempotent-Replayed") != "true" {
		t.Fatal("the retry does not say it was replayed")
	}
	if a, b := first.json(t), again.json(t); a["eventId"] != b["eventId"] || a["receivedAt"] != b["receivedAt"] {
		t.Fatalf("retry answered %v, first %v", b, a)
	}
	// The quoted form of the draft names the same key.
	if q := c.do(t, keyed("/api/v1/events", `"k-1"`, one, 202)); q.json(t)["eventId"] != first.json(t)["eventId"] {
		t.Fatalf("quoted key answered %v", q.json(t))
	}

	// A partly valid batch (the document describes only fully valid ones).
	partly := keyed("/api/v1/events/batch", "k-2", batch, 202)
	partly.invalidRequest = true
	firstBatch := c.do(t, partly)
	againBatch := c.do(t, partly)
	if a, b := fmt.Sprint(firstBatch.json(t)), fmt.Sprint(againBatch.json(t)); a != b {
		t.Fatalf("batch retry answered %s, first %s", b, a)
	}

	// The key with another request, or at the other endpoint.
	for _, cl := range []call{
		keyed("/api/v1/events", "k-1", `{"eventType":"other","source":"shop"}`, 422),
		keyed("/api/v1/events/batch", "k-1", `[`+one+`]`, 422),
	} {
		if e := c.do(t, cl).json(t)["errors"].(map[string]any); e["Idempotency-Key"] == nil {
			t.Fatalf("422 without the field error: %v", e)
		}
	}
	bad := keyed("/api/v1/events", strings.Repeat("x", 300), one, 400)
	bad.invalidRequest = true
	c.do(t, bad)
	c.do(t, keyed("/api/v1/events", "tab\tinside", one, 400))

	// Stored: the first single event and the batch's two valid ones.
	const stored = 3
	waitStored := func(what string) {
		testutil.WaitFor(t, testutil.Patience, what, func() error {
			if n := path(s.metrics(t), "summary.totalEvents"); n != float64(stored) {
				return fmt.Errorf("totalEvents = %v", n)
			}
			if n, _ := s.promSum(t, "eventara_events_ingested_total"); n != stored {
				return fmt.Errorf("eventara_events_ingested_total = %v", n)
			}
			return nil
		})
	}
	waitStored("3 events counted")

	s.kill()
	s.start()
	c = loadContract(t, s, nil) // the new process's address
	after := c.do(t, keyed("/api/v1/events", "k-1", one, 202))
	if after.header.Get("Idempotent-Replayed") != "true" || after.json(t)["eventId"] != first.json(t)["eventId"] {
		t.Fatalf("retry after kill -9 answered %v (%v)", after.json(t), after.header)
	}
	testutil.WaitFor(t, testutil.Patience, "3 events after the restart", func() error {
		if n := path(s.metrics(t), "summary.totalEvents"); n != float64(stored) {
			return fmt.Errorf("totalEvents = %v", n)
		}
		return nil
	})
}
