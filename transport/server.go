package transport

import (
	"net/http"
	"strings"

	"github.com/rs/zerolog"

	"github.com/eventara/eventara/actors"
)

// Config wires the HTTP surface. Nil handlers are simply not mounted.
type Config struct {
	Log zerolog.Logger
	// Push serves /ws and everything below it (SockJS and raw WebSocket).
	Push http.Handler
	// Dashboard serves / (the web dashboard).
	Dashboard http.Handler
	// TestServices, when set, serves the SockJS conformance suite's services
	// (/echo, /close, /disabled_websocket_echo, /cookie_needed_echo).
	TestServices http.Handler
}

// NewHandler returns the service's HTTP handler: the REST API under
// /api/v1, live push under /ws, and the dashboard at /.
func NewHandler(sys *actors.System, cfg Config) http.Handler {
	mux := http.NewServeMux()
	ev := &eventsAPI{sys: sys}
	mux.Handle("/api/v1/events", methods{http.MethodPost: ev.post, http.MethodGet: ev.list})
	mux.Handle("/api/v1/events/batch", methods{http.MethodPost: ev.postBatch})
	mux.Handle("/api/v1/events/health", methods{http.MethodGet: ev.health})
	mux.Handle("/api/v1/events/type/{eventType}", methods{http.MethodGet: ev.listByType})
	mux.Handle("/api/v1/events/{eventId}", methods{http.MethodGet: ev.get})
	m := &metricsAPI{sys: sys}
	mux.Handle("/api/v1/metrics", methods{http.MethodGet: m.get})
	mux.Handle("/api/v1/metrics/reset", methods{http.MethodPost: m.reset})
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.URL.Path, nil)
	})
	if cfg.Dashboard != nil {
		mux.Handle("/", cfg.Dashboard)
	}
	// SockJS paths are routed by plain prefix: ServeMux would clean paths
	// like /ws//xhr with a redirect where the protocol wants a 404.
	var prefixes []prefixRoute
	if cfg.Push != nil {
		prefixes = append(prefixes, prefixRoute{"/ws", cfg.Push})
	}
	if cfg.TestServices != nil {
		for _, p := range []string{"/echo", "/close", "/disabled_websocket_echo", "/cookie_needed_echo"} {
			prefixes = append(prefixes, prefixRoute{p, cfg.TestServices})
		}
	}
	return recoverPanics(cfg.Log, cors(routePrefixes(prefixes, mux)))
}

type prefixRoute struct {
	prefix  string
	handler http.Handler
}

// routePrefixes sends a path equal to a prefix, or under it, to that
// prefix's handler, and everything else to next.
func routePrefixes(routes []prefixRoute, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, rt := range routes {
			if rest, ok := strings.CutPrefix(r.URL.Path, rt.prefix); ok && (rest == "" || rest[0] == '/') {
				rt.handler.ServeHTTP(w, r)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// cors answers the REST API's cross-origin requests: any origin may read
// it (the seed's "CORS enabled"); preflights get 204. /ws does its own.
func cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/api/") {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		if o := r.Header.Get("Origin"); o != "" {
			h.Set("Access-Control-Allow-Origin", o)
			h.Add("Vary", "Origin")
		} else {
			h.Set("Access-Control-Allow-Origin", "*")
		}
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Content-Type, Authorization")
			h.Set("Access-Control-Max-Age", "86400")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// recoverPanics turns a handler panic into a logged 500 instead of a
// dropped connection; http.ErrAbortHandler passes through.
func recoverPanics(log zerolog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.Error().Interface("panic", v).Str("path", r.URL.Path).Msg("handler panic")
				writeError(w, http.StatusInternalServerError, "internal error", nil)
			}
		}()
		next.ServeHTTP(w, r)
	})
}
