package transport

import (
	"net/http"

	"github.com/eventara/eventara/telemetry"
)

// countRefusals counts the ingest requests (POST /api/v1/events and
// /api/v1/events/batch) answered with an error status, whoever answered
// them: the handler (400, 413, 415, 503, 504), authentication (401) or the
// rate limit (429). Other requests pass untouched.
func countRefusals(m *telemetry.Metrics, h http.Handler) http.Handler {
	if m == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || (r.URL.Path != "/api/v1/events" && r.URL.Path != "/api/v1/events/batch") {
			h.ServeHTTP(w, r)
			return
		}
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		if sw.code >= http.StatusBadRequest {
			m.IngestRefused(sw.code)
		}
	})
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
