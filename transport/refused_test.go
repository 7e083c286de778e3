package transport

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/eventara/eventara/telemetry"
)

func TestCountRefusals(t *testing.T) {
	for _, tc := range []struct {
		name, method, path string
		code               int
		counted            bool
	}{
		{"invalid event", http.MethodPost, "/api/v1/events", 400, true},
		{"accepted", http.MethodPost, "/api/v1/events", 202, false},
		{"batch disk full", http.MethodPost, "/api/v1/events/batch", 503, true},
		{"rate limited", http.MethodPost, "/api/v1/events", 429, true},
		{"timeout", http.MethodPost, "/api/v1/events/batch", 504, true},
		{"a read is no ingest", http.MethodGet, "/api/v1/events", 400, false},
		{"another endpoint", http.MethodPost, "/api/v1/metrics/reset", 503, false},
		{"an event id path", http.MethodPost, "/api/v1/events/01ARZ3NDEKTSV4RRFFQ69G5FAV", 405, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := telemetry.New()
			h := countRefusals(m, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				writeError(w, tc.code, "answer", nil)
			}))
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(tc.method, tc.path, nil))
			got := scrape(t, m, `eventara_ingest_refused_total{code="`+strconv.Itoa(tc.code)+`"}`)
			if counted := got == "1"; counted != tc.counted || (!counted && got != "0" && got != "") {
				t.Fatalf("counter for %d = %q, counted: want %v", tc.code, got, tc.counted)
			}
		})
	}
}

// scrape returns the value of the series named exactly by series in m's
// exposition ("" when absent).
func scrape(t *testing.T, m *telemetry.Metrics, series string) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			return v
		}
	}
	return ""
}
