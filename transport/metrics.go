package transport

import (
	"context"
	"net/http"
	"time"
)

type metricsAPI struct {
	sys System
}

// get answers the latest snapshot: bytes encoded once per tick, never
// re-encoded per request.
func (m *metricsAPI) get(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	snap, err := m.sys.WaitLatest(ctx)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "no snapshot built yet", nil)
		return
	}
	writeRaw(w, http.StatusOK, snap.JSON)
}

// reset journals a reset of the metrics.
func (m *metricsAPI) reset(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), ingestTimeout)
	defer cancel()
	if err := m.sys.Reset(ctx); err != nil {
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "reset not stored: "+err.Error(), nil)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "reset", "timestamp": time.Now().UTC().Format(timeFormat)})
}
