package test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/eventara/eventara/internal/testutil"
)

func TestIngestThenMetricsAndQueries(t *testing.T) {
	t.Parallel()
	s := startServer(t)

	events := []string{
		`{"eventType":"page_view","source":"web","userId":"u1","metadata":{"latency":100}}`,
		`{"eventType":"page_view","source":"web","userId":"u2","metadata":{"latency":"300"}}`,
		`{"eventType":"checkout","source":"api","userId":"u1","severity":"error","metadata":{"latency":500}}`,
		`{"eventType":"login","source":"auth","severity":"CRITICAL","timestamp":"2026-11-28T14:48:12Z"}`,
	}
	var ids []string
	for _, e := range events {
		code, body := postJSON(t, s.url("/api/v1/events"), e)
		if code != http.StatusAccepted {
			t.Fatalf("POST %s: %d %v", e, code, body)
		}
		if body["status"] != "accepted" || body["eventId"] == "" || body["receivedAt"] == "" || body["eventType"] == "" {
			t.Fatalf("202 body = %v", body)
		}
		ids = append(ids, body["eventId"].(string))
	}
	for i := 1; i < len(ids); i++ {
		if ids[i] <= ids[i-1] {
			t.Fatalf("event IDs not increasing: %v", ids)
		}
	}

	m := s.waitTotal(t, 4)
	checks := map[string]any{
		"eventsByType.page_view.count":     2.0,
		"eventsByType.checkout.errorCount": 1.0,
		"eventsBySource.web.count":         2.0,
		"eventsBySeverity.ERROR":           1.0,
		"eventsBySeverity.CRITICAL":        1.0,
		"eventsBySeverity.INFO":            2.0,
		"errorMetrics.totalErrors":         2.0,
		"errorMetrics.errorRate":           50.0,
		"summary.uniqueSources":            3.0,
		"summary.uniqueEventTypes":         3.0,
		"summary.uniqueUsers":              2.0,
		"timeWindows.last1Minute":          4.0,
		"userMetrics.totalUniqueUsers":     2.0,
	}
	for p, want := range checks {
		if got := path(m, p); got != want {
			t.Errorf("%s = %v, want %v", p, got, want)
		}
	}
	if top := path(m, "topUsers").([]any); len(top) == 0 || path(top[0].(map[string]any), "userId") != "u1" {
		t.Errorf("topUsers = %v, want u1 first", top)
	}
	code, raw := do(t, http.MethodGet, s.url("/api/v1/metrics"), "", nil)
	if code != 200 {
		t.Fatalf("metrics %d", code)
	}
	validateSnapshot(t, raw)

	// Queries: newest first, by type, by id, unknown id.
	code, page := getJSON(t, s.url("/api/v1/events?page=0&size=3"))
	if code != 200 {
		t.Fatalf("list %d %v", code, page)
	}
	list := page["events"].([]any)
	if len(list) != 3 || list[0].(map[string]any)["eventId"] != ids[3] || page["hasMore"] != true {
		t.Fatalf("page 0 = %v", page)
	}
	_, page = getJSON(t, s.url("/api/v1/events?page=1&size=3"))
	if l := page["events"].([]any); len(l) != 1 || l[0].(map[string]any)["eventId"] != ids[0] || page["hasMore"] != false {
		t.Fatalf("page 1 = %v", page)
	}
	_, page = getJSON(t, s.url("/api/v1/events/type/page_view"))
	if l := page["events"].([]any); len(l) != 2 {
		t.Fatalf("by type = %v", page)
	}
	code, one := getJSON(t, s.url("/api/v1/events/"+ids[2]))
	if code != 200 || one["eventType"] != "checkout" || one["severity"] != "ERROR" || one["source"] != "api" {
		t.Fatalf("by id: %d %v", code, one)
	}
	code, nf := getJSON(t, s.url("/api/v1/events/01ARZ3NDEKTSV4RRFFQ69G5FAV"))
	if code != 404 || nf["status"] != "error" {
		t.Fatalf("unknown id: %d %v", code, nf)
	}
	code, nf = getJSON(t, s.url("/api/v1/events/not-an-id"))
	if code != 404 {
		t.Fatalf("malformed id: %d %v", code, nf)
	}
}

func TestBadInputGetsClearErrorsAndChangesNothing(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	cases := []struct {
		name, method, path, ctype, body string
		want                            int
		field                           string
	}{
		{"malformed JSON", "POST", "/api/v1/events", "application/json", `{"eventType":`, 400, "body"},
		{"wrong type", "POST", "/api/v1/events", "application/json", `{"eventType":5,"source":"a"}`, 400, "eventType"},
		{"blank eventType", "POST", "/api/v1/events", "application/json", `{"eventType":"  ","source":"a"}`, 400, "eventType"},
		{"missing source", "POST", "/api/v1/events", "application/json", `{"eventType":"a"}`, 400, "source"},
		{"long source", "POST", "/api/v1/events", "application/json", `{"eventType":"a","source":"` + strings.Repeat("s", 101) + `"}`, 400, "source"},
		{"unknown severity", "POST", "/api/v1/events", "application/json", `{"eventType":"a","source":"b","severity":"LOUD"}`, 400, "severity"},
		{"unknown field", "POST", "/api/v1/events", "application/json", `{"eventType":"a","source":"b","colour":"red"}`, 400, "colour"},
		{"bad timestamp", "POST", "/api/v1/events", "application/json", `{"eventType":"a","source":"b","timestamp":"yesterday"}`, 400, "timestamp"},
		{"array for one", "POST", "/api/v1/events", "application/json", `[]`, 400, ""},
		{"wrong content type", "POST", "/api/v1/events", "text/plain", `{"eventType":"a","source":"b"}`, 415, ""},
		{"no content type", "POST", "/api/v1/events", "", `{"eventType":"a","source":"b"}`, 415, ""},
		{"too large", "POST", "/api/v1/events", "application/json", `{"eventType":"a","source":"b","metadata":{"x":"` + strings.Repeat("x", 2<<20) + `"}}`, 413, ""},
		{"wrong method", "DELETE", "/api/v1/events", "", "", 405, ""},
		{"wrong method on metrics", "POST", "/api/v1/metrics", "application/json", "{}", 405, ""},
		{"batch not array", "POST", "/api/v1/events/batch", "application/json", `{"eventType":"a"}`, 400, ""},
		{"batch none valid", "POST", "/api/v1/events/batch", "application/json", `[{"eventType":""},{"source":"x"}]`, 400, ""},
		{"bad page size", "GET", "/api/v1/events?size=1000", "", "", 400, "size"},
	}
	for _, c := range cases {
		code, b := do(t, c.method, s.url(c.path), c.ctype, []byte(c.body))
		if code != c.want {
			t.Errorf("%s: status %d, want %d (%s)", c.name, code, c.want, b)
			continue
		}
		var e map[string]any
		if err := json.Unmarshal(b, &e); err != nil || e["status"] != "error" || e["message"] == "" {
			t.Errorf("%s: body %q is not a JSON error", c.name, b)
			continue
		}
		if c.field != "" {
			if errs, _ := e["errors"].(map[string]any); errs[c.field] == nil {
				t.Errorf("%s: no field error for %q in %s", c.name, c.field, b)
			}
		}
	}
	// A partly valid batch: valid items accepted, invalid reported by index.
	code, body := postJSON(t, s.url("/api/v1/events/batch"),
		`[{"eventType":"a","source":"b"},{"eventType":"","source":"b"},{"eventType":"c","source":"d","severity":"warning"}]`)
	if code != 202 || body["accepted"] != 2.0 || len(body["eventIds"].([]any)) != 2 {
		t.Fatalf("batch: %d %v", code, body)
	}
	rej := body["rejected"].([]any)
	if len(rej) != 1 || rej[0].(map[string]any)["index"] != 1.0 {
		t.Fatalf("rejected = %v", rej)
	}
	// Nothing but the two valid events was counted.
	s.waitTotal(t, 2)
}

func TestRestartKeepsTotalsAndEvents(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	var batch []string
	for i := 0; i < 250; i++ {
		batch = append(batch, fmt.Sprintf(`{"eventType":"t%d","source":"s%d","userId":"u%d","severity":"%s","metadata":{"latency":%d}}`,
			i%7, i%3, i%11, []string{"INFO", "ERROR", "DEBUG", "WARNING", "CRITICAL"}[i%5], i+1))
	}
	code, body := postJSON(t, s.url("/api/v1/events/batch"), "["+strings.Join(batch, ",")+"]")
	if code != 202 || body["accepted"] != 250.0 {
		t.Fatalf("batch %d %v", code, body)
	}
	ids := body["eventIds"].([]any)
	before := s.waitTotal(t, 250)
	if err := s.stop(); err != nil {
		t.Fatalf("SIGTERM exit: %v\n%s", err, s.logs)
	}
	s.start()
	after := s.waitTotal(t, 250)
	for _, p := range []string{"eventsByType", "eventsBySource", "eventsBySeverity", "errorMetrics.totalErrors",
		"latencyMetrics", "summary.uniqueUsers", "topUsers", "throughput.peak.value", "timeWindows.last1Hour"} {
		b1, _ := json.Marshal(path(before, p))
		b2, _ := json.Marshal(path(after, p))
		if string(b1) != string(b2) {
			t.Errorf("%s changed across restart:\n before %s\n after  %s", p, b1, b2)
		}
	}
	for _, id := range []any{ids[0], ids[123], ids[249]} {
		if code, _ := getJSON(t, s.url("/api/v1/events/"+id.(string))); code != 200 {
			t.Errorf("event %s: %d after restart", id, code)
		}
	}

	// A reset is journaled: a restart does not undo it.
	if code, b := postJSON(t, s.url("/api/v1/metrics/reset"), ""); code != 200 {
		t.Fatalf("reset: %d %v", code, b)
	}
	s.waitTotal(t, 0)
	postJSON(t, s.url("/api/v1/events"), `{"eventType":"after","source":"reset"}`)
	s.waitTotal(t, 1)
	s.restart()
	m := s.waitTotal(t, 1)
	if got := path(m, "eventsByType.after.count"); got != 1.0 {
		t.Fatalf("after reset+restart eventsByType = %v", path(m, "eventsByType"))
	}
}

// TestKill9LosesNoAcknowledgedEvent kills the process during concurrent
// ingestion: every event that got a 202 is there after restart, by id and by
// count, and the total never exceeds what was sent.
func TestKill9LosesNoAcknowledgedEvent(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	load := startIngestLoad(t, s, loadShape{workers: 8, batchEvery: 10, batchSize: 20, invalidEvery: 13})
	load.waitAcked(t, 2000)
	s.kill()
	acked := load.finish()
	sent := load.sent.Load()
	s.start()

	var total float64
	testutil.WaitFor(t, testutil.Patience, "recovered totals", func() error {
		total, _ = path(s.metrics(t), "summary.totalEvents").(float64)
		if total < float64(len(acked)) {
			return fmt.Errorf("total %v < acked %d", total, len(acked))
		}
		return nil
	})
	if total > float64(sent) {
		t.Fatalf("total %v exceeds the %d valid events sent", total, sent)
	}
	missing := 0
	for _, id := range acked {
		if code, _ := do(t, http.MethodGet, s.url("/api/v1/events/"+id), "", nil); code != 200 {
			missing++
		}
	}
	if missing > 0 {
		t.Fatalf("%d acknowledged events missing after kill -9 (acked %d, total %v)", missing, len(acked), total)
	}
	t.Logf("acked %d, sent %d, recovered total %v", len(acked), sent, total)
}
