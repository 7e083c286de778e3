package transport

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/eventara/eventara/journal"
)

// TestDiskFullAnswers: on a full disk ingestion answers 503 "disk full: …"
// with Retry-After, health 503 DOWN with reason "disk" and the free bytes,
// and reads and metrics answer as usual.
func TestDiskFullAnswers(t *testing.T) {
	t.Parallel()
	// A floor of 99.99% of the file system: full from the start.
	j, err := journal.Open(journal.Config{Dir: t.TempDir(), Log: zerolog.Nop(),
		DiskFreeLimit: journal.DiskLimit{Percent: 99.99}, BallastSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	if !j.DiskStatus().Full {
		t.Skipf("the temp directory's file system is almost empty (%+v): cannot be below a 99.99%% floor", j.DiskStatus())
	}
	srv := startService(t, j)

	call := func(method, path, body string) (*http.Response, map[string]any) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
			t.Fatalf("%s %s: %d, body not JSON: %v", method, path, resp.StatusCode, err)
		}
		return resp, m
	}
	ev := `{"eventType":"page_view","source":"web"}`
	for path, body := range map[string]string{"/api/v1/events": ev, "/api/v1/events/batch": "[" + ev + "," + ev + "]"} {
		resp, m := call(http.MethodPost, path, body)
		msg, _ := m["message"].(string)
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != diskFullRetryAfter ||
			m["status"] != "error" || !strings.HasPrefix(msg, "disk full: ") || !strings.Contains(msg, "bytes free, limit ") {
			t.Fatalf("POST %s on a full disk: %d Retry-After %q %v", path, resp.StatusCode, resp.Header.Get("Retry-After"), m)
		}
	}
	resp, m := call(http.MethodGet, "/api/v1/events/health", "")
	if free, ok := m["diskFreeBytes"].(float64); resp.StatusCode != http.StatusServiceUnavailable || m["status"] != "DOWN" ||
		m["reason"] != "disk" || m["journal"] != "full" || !ok || free <= 0 || m["diskFreeLimitBytes"] == nil {
		t.Fatalf("health on a full disk: %d %v", resp.StatusCode, m)
	}
	for _, path := range []string{"/api/v1/events", "/api/v1/metrics"} {
		if resp, m := call(http.MethodGet, path, ""); resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s on a full disk: %d %v", path, resp.StatusCode, m)
		}
	}
}
