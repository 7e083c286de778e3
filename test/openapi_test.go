package test

// The OpenAPI document (spec/openapi.json, served at /api/v1/openapi.json)
// against the real binary: every endpoint, its successes and its errors,
// judged request and answer by the document (openapi_contract_test.go).
// The route table itself is checked against the document in transport
// (TestRoutesAreTheOpenAPIDocument).

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/eventara/eventara/internal/testutil"
)

func TestOpenAPIContract(t *testing.T) {
	s := startServer(t, "--fault-injection")
	c := loadContract(t, s, nil)
	post := func(path, body string, status int, invalid bool) call {
		return call{method: http.MethodPost, path: path, body: []byte(body), status: status, invalidRequest: invalid}
	}
	get := func(path string, status int, invalid bool) call {
		return call{method: http.MethodGet, path: path, status: status, invalidRequest: invalid}
	}

	// Successes, in an order that gives the reads something to return.
	c.do(t, post("/api/v1/events", `{"eventType":"page_view","source":"web"}`, 202, false))
	full := c.do(t, post("/api/v1/events", `{"eventType":"checkout","source":"api","timestamp":"2026-11-28T14:48:12+01:00",
		"userId":"u1","sessionId":"s1","severity":"warning","tags":{"env":"prod","region":"eu"},"metadata":{"latency":"42.5","cart":[1,2]}}`, 202, false))
	id, _ := full.json(t)["eventId"].(string)
	c.do(t, post("/api/v1/events/batch", `[{"eventType":"page_view","source":"web"},{"eventType":"login","source":"web","severity":null}]`, 202, false))
	// A partly valid batch: the document describes the valid batch, the
	// server stores the valid elements and reports the others.
	partial := c.do(t, post("/api/v1/events/batch", `[{"eventType":"page_view","source":"web"},{"source":"web"}]`, 202, true))
	if rej, _ := partial.json(t)["rejected"].([]any); len(rej) != 1 {
		t.Errorf("partial batch: rejected %v, want one", rej)
	}
	c.do(t, get("/api/v1/events", 200, false))
	page := c.do(t, get("/api/v1/events?page=0&size=2", 200, false))
	if evs, _ := page.json(t)["events"].([]any); len(evs) != 2 {
		t.Errorf("size=2 gave %d events", len(evs))
	}
	c.do(t, get("/api/v1/events/type/checkout?size=100", 200, false))
	c.do(t, get("/api/v1/events/type/no%20such%20type", 200, false))
	one := c.do(t, get("/api/v1/events/"+id, 200, false)).json(t)
	if one["latency"] != 42.5 || one["severity"] != "WARNING" {
		t.Errorf("the full event came back as %v", one)
	}
	c.do(t, get("/api/v1/events/health", 200, false))
	// Wait for a snapshot that counts the events: the whole snapshot is
	// then judged by the bundled metrics schema.
	testutil.WaitFor(t, testutil.Patience, "a snapshot with the 5 events", func() error {
		if m := s.metrics(t); path(m, "summary.totalEvents") != 5.0 {
			return fmt.Errorf("totalEvents = %v", path(m, "summary.totalEvents"))
		}
		return nil
	})
	c.do(t, get("/api/v1/metrics", 200, false))
	c.do(t, post("/api/v1/metrics/reset", "", 200, false))
	c.do(t, get("/api/v1/openapi.json", 200, false))
	c.do(t, get("/api/v1/system/actors", 200, false))
	c.do(t, get("/metrics", 200, false))
	c.do(t, get("/debug/faults", 200, false))
	armed := c.do(t, post("/debug/faults", `{"actor":"sessions/conn-999999","fault":"drop","count":-1}`, 200, false))
	if f, _ := armed.json(t)["faults"].([]any); len(f) != 1 {
		t.Errorf("armed faults %v, want the one", f)
	}
	c.do(t, call{method: http.MethodDelete, path: "/debug/faults", status: 200})

	// Bad input: the server refuses it, and so does the document where a
	// schema can say why.
	for _, tc := range []struct {
		name string
		call call
	}{
		{"no eventType", post("/api/v1/events", `{"source":"web"}`, 400, true)},
		{"unknown field", post("/api/v1/events", `{"eventType":"a","source":"web","colour":"red"}`, 400, true)},
		{"unknown severity", post("/api/v1/events", `{"eventType":"a","source":"web","severity":"LOUD"}`, 400, true)},
		{"blank eventType", post("/api/v1/events", `{"eventType":"  ","source":"web"}`, 400, true)},
		{"control character", post("/api/v1/events", `{"eventType":"a\u0007b","source":"web"}`, 400, true)},
		{"eventType too long", post("/api/v1/events", `{"eventType":"`+strings.Repeat("x", 101)+`","source":"web"}`, 400, true)},
		{"tags not strings", post("/api/v1/events", `{"eventType":"a","source":"web","tags":{"n":1}}`, 400, true)},
		{"bad timestamp", post("/api/v1/events", `{"eventType":"a","source":"web","timestamp":"yesterday"}`, 400, true)},
		{"malformed JSON", post("/api/v1/events", `{"eventType":`, 400, true)},
		{"not JSON", call{method: http.MethodPost, path: "/api/v1/events", contentType: "text/plain", body: []byte("hello"), status: 415, invalidRequest: true}},
		// Over 1 MiB, yet valid by the schema: size limits are the server's.
		{"event too large", post("/api/v1/events", `{"eventType":"a","source":"web"}`+strings.Repeat(" ", 1<<20), 413, false)},
		{"batch not an array", post("/api/v1/events/batch", `{"eventType":"a","source":"web"}`, 400, true)},
		{"empty batch", post("/api/v1/events/batch", `[]`, 400, true)},
		{"batch of invalid events", post("/api/v1/events/batch", `[{"source":"web"},{"eventType":"a"}]`, 400, true)},
		{"batch too large", post("/api/v1/events/batch", "["+strings.Repeat(" ", 10<<20)+"]", 413, true)},
		{"size 0", get("/api/v1/events?size=0", 400, true)},
		{"size 101", get("/api/v1/events/type/checkout?size=101", 400, true)},
		{"page negative", get("/api/v1/events?page=-1", 400, true)},
		{"page not a number", get("/api/v1/events?page=first", 400, true)},
		{"id not a ULID", get("/api/v1/events/not-an-id", 404, false)},
		{"unknown id", get("/api/v1/events/01M8HH73MCX5X3AMCJ1QSTMP9P", 404, false)},
		{"fault of no kind", post("/debug/faults", `{"actor":"window","fault":"explode"}`, 400, true)},
		{"fault with an unknown field", post("/debug/faults", `{"actor":"window","fault":"panic","when":"now"}`, 400, true)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := c.do(t, tc.call)
			if tc.call.status == 400 && !bytes.Contains(a.body, []byte(`"status":"error"`)) {
				t.Errorf("400 without the error shape: %s", a.body)
			}
		})
	}

	// Rules: every endpoint's success and its errors (the alerts of a
	// firing rule are judged in TestAlertRuleLifecycle).
	rule := c.do(t, post("/api/v1/rules", `{"name":"Slow","ruleType":"threshold","severity":"warning",
		"ruleConfig":{"metricType":"P95_LATENCY","condition":"GREATER_THAN","thresholdValue":500,"timeWindowMinutes":5}}`, 201, false)).json(t)
	ruleID, _ := rule["id"].(string)
	c.do(t, call{method: http.MethodPut, path: "/api/v1/rules/" + ruleID, body: []byte(`{"priority":3,"notificationConfig":{"messageTemplate":"{ruleName}"}}`), status: 200})
	c.do(t, post("/api/v1/rules/"+ruleID+"/enable", "", 200, false))
	for _, p := range []string{"/api/v1/rules", "/api/v1/rules/" + ruleID, "/api/v1/rules/active", "/api/v1/rules/statistics",
		"/api/v1/rules/search?q=slow", "/api/v1/rules/top-triggered", "/api/v1/rules/type/THRESHOLD", "/api/v1/rules/status/active",
		"/api/v1/alerts", "/api/v1/alerts?status=firing,acknowledged&severity=CRITICAL&sortBy=triggeredAt&sortDirection=asc", "/api/v1/alerts/statistics"} {
		c.do(t, get(p, 200, false))
	}
	c.do(t, post("/api/v1/rules/test", `{"ruleType":"THRESHOLD","severity":"INFO","ruleConfig":{"metricType":"ERROR_RATE","condition":"GREATER_THAN","thresholdValue":5}}`, 200, false))
	c.do(t, post("/api/v1/rules/test/"+ruleID, "", 200, false))
	for _, tc := range []struct {
		name string
		call call
	}{
		{"rule without a name", post("/api/v1/rules", `{"ruleType":"THRESHOLD","severity":"INFO","ruleConfig":{"metricType":"ERROR_RATE","condition":"GREATER_THAN","thresholdValue":5}}`, 400, true)},
		{"rule with an unknown field", post("/api/v1/rules", `{"name":"x","ruleType":"THRESHOLD","severity":"INFO","ruleConfig":{},"colour":"red"}`, 400, true)},
		{"rule config invalid", post("/api/v1/rules", `{"name":"x","ruleType":"THRESHOLD","severity":"INFO","ruleConfig":{"metricType":"NOPE"}}`, 400, false)},
		{"duplicate rule name", post("/api/v1/rules", `{"name":"slow","ruleType":"THRESHOLD","severity":"INFO","ruleConfig":{"metricType":"ERROR_RATE","condition":"GREATER_THAN","thresholdValue":5}}`, 409, false)},
		{"unknown rule", get("/api/v1/rules/nope", 404, false)},
		{"unknown rule action", post("/api/v1/rules/"+ruleID+"/explode", "", 404, true)},
		{"bad rule status", get("/api/v1/rules/status/ASLEEP", 400, false)},
		{"search without q", get("/api/v1/rules/search", 400, true)},
		{"bad alert filter", get("/api/v1/alerts?sortBy=colour", 400, true)},
		{"unknown alert", get("/api/v1/alerts/nope", 404, false)},
		{"acknowledge without who", post("/api/v1/alerts/nope/acknowledge", `{"acknowledgmentNotes":"x"}`, 400, true)},
		{"resolve an unknown alert", post("/api/v1/alerts/nope/resolve", `{"resolvedBy":"ann"}`, 404, false)},
	} {
		t.Run(tc.name, func(t *testing.T) { c.do(t, tc.call) })
	}
	c.do(t, call{method: http.MethodDelete, path: "/api/v1/rules/" + ruleID, status: 204})

	// A method a path does not take: 405 with Allow naming exactly the
	// document's methods for it; an unknown path under /api: 404.
	for p, item := range c.doc.Paths.Map() {
		documented := []string{}
		for m := range item.Operations() {
			documented = append(documented, m)
		}
		slices.Sort(documented)
		a := c.doUndocumented(t, call{method: http.MethodPatch, path: p, status: 405}, "MethodNotAllowed")
		allow := strings.Split(a.header.Get("Allow"), ", ")
		slices.Sort(allow)
		if !slices.Equal(allow, documented) {
			t.Errorf("PATCH %s: Allow %v, the document has %v", p, allow, documented)
		}
	}
	c.doUndocumented(t, get("/api/v1/nope", 404, false), "NotFound")

	// A failed journal: ingestion answers 503 with Retry-After, health DOWN.
	c.do(t, post("/debug/faults", `{"actor":"journal","fault":"fail"}`, 200, false))
	failed := c.do(t, post("/api/v1/events", `{"eventType":"a","source":"web"}`, 503, false))
	if failed.header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	c.do(t, post("/api/v1/events/batch", `[{"eventType":"a","source":"web"}]`, 503, false))
	testutil.WaitFor(t, testutil.Patience, "health DOWN", func() error {
		if code, _ := do(t, http.MethodGet, s.url("/api/v1/events/health"), "", nil); code != 503 {
			return fmt.Errorf("health %d", code)
		}
		return nil
	})
	down := c.do(t, get("/api/v1/events/health", 503, false)).json(t)
	if down["status"] != "DOWN" || down["reason"] == "" {
		t.Errorf("health %v, want DOWN with a reason", down)
	}
	c.do(t, call{method: http.MethodDelete, path: "/debug/faults", status: 200})
}

// TestOpenAPIContractAuth: the document's security requirements and roles
// are the server's, 401 and 403 answers match it, the document and health
// are open, and the ingest rate limit's 429 is as documented.
func TestOpenAPIContractAuth(t *testing.T) {
	s := startAuthServer(t, "--ingest-rate", "0.01", "--ingest-burst", "1")
	c := loadContract(t, s, map[string][]string{tokIngest: {"ingest"}, tokRead: {"read"}, tokAdmin: {"admin"}})
	ev := []byte(`{"eventType":"a","source":"web"}`)
	for _, tc := range []struct {
		name string
		call call
	}{
		{"no token", call{method: http.MethodPost, path: "/api/v1/events", body: ev, status: 401, invalidRequest: true}},
		{"unknown token", call{method: http.MethodGet, path: "/api/v1/metrics", token: "nope", status: 401, invalidRequest: true}},
		{"read may not ingest", call{method: http.MethodPost, path: "/api/v1/events", token: tokRead, body: ev, status: 403, invalidRequest: true}},
		{"ingest ingests", call{method: http.MethodPost, path: "/api/v1/events", token: tokIngest, body: ev, status: 202}},
		{"past the ingest rate", call{method: http.MethodPost, path: "/api/v1/events/batch", token: tokIngest, body: []byte(`[` + string(ev) + `]`), status: 429}},
		{"ingest may not read", call{method: http.MethodGet, path: "/api/v1/events", token: tokIngest, status: 403, invalidRequest: true}},
		{"read reads", call{method: http.MethodGet, path: "/api/v1/metrics", token: tokRead, status: 200}},
		{"read may not reset", call{method: http.MethodPost, path: "/api/v1/metrics/reset", token: tokRead, status: 403, invalidRequest: true}},
		{"admin resets", call{method: http.MethodPost, path: "/api/v1/metrics/reset", token: tokAdmin, status: 200}},
		{"read may not see actors", call{method: http.MethodGet, path: "/api/v1/system/actors", token: tokRead, status: 403, invalidRequest: true}},
		{"admin scrapes", call{method: http.MethodGet, path: "/metrics", token: tokAdmin, status: 200}},
		{"read lists channels", call{method: http.MethodGet, path: "/api/v1/notifications/channels", token: tokRead, status: 200}},
		{"read may not create a channel", call{method: http.MethodPost, path: "/api/v1/notifications/channels", token: tokRead,
			body: []byte(`{"channelType":"WEBHOOK","name":"x","config":{"url":"https://hooks.example.com/x"}}`), status: 403, invalidRequest: true}},
		{"admin creates a channel", call{method: http.MethodPost, path: "/api/v1/notifications/channels", token: tokAdmin,
			body: []byte(`{"channelType":"WEBHOOK","name":"x","config":{"url":"https://hooks.example.com/x"}}`), status: 201}},
		{"read may not test a channel", call{method: http.MethodPost, path: "/api/v1/notifications/channels/x/test", token: tokRead, status: 403, invalidRequest: true}},
		{"read reads the delivery log", call{method: http.MethodGet, path: "/api/v1/notifications/logs/stats", token: tokRead, status: 200}},
		{"no fault injection", call{method: http.MethodGet, path: "/debug/faults", token: tokAdmin, status: 404}},
		{"health open", call{method: http.MethodGet, path: "/api/v1/events/health", status: 200}},
		{"document open", call{method: http.MethodGet, path: "/api/v1/openapi.json", status: 200}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := c.do(t, tc.call)
			if tc.call.status == 429 && a.header.Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
		})
	}
	// /docs is a page, open like the document it renders.
	if code, b := do(t, http.MethodGet, s.url("/docs"), "", nil); code != 200 || !bytes.Contains(b, []byte("Eventara API")) {
		t.Errorf("GET /docs without a token: %d %q", code, clip(b))
	}
}
