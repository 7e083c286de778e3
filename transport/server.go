package transport

import (
	"net/http"
	"strings"

	"github.com/rs/zerolog"

	"github.com/eventara/eventara/telemetry"
	"github.com/eventara/eventara/transport/sockjs"
)

// Config wires the HTTP surface. Nil handlers are simply not mounted.
type Config struct {
	Log zerolog.Logger
	// Push serves /ws and everything below it (SockJS and raw WebSocket).
	Push http.Handler
	// Dashboard serves / (the web dashboard).
	Dashboard http.Handler
	// Docs serves /docs, the API documentation page rendered from
	// GET /api/v1/openapi.json (its scripts are the dashboard's files).
	Docs http.Handler
	// TestServices, when set, serves the SockJS conformance suite's services
	// (/echo, /close, /disabled_websocket_echo, /cookie_needed_echo).
	TestServices http.Handler
	// Ops configures /api/v1/system/actors, /metrics and /debug (system.go).
	Ops OpsConfig
	// Build is the running build, shown in the health answer.
	Build telemetry.BuildInfo
	// Metrics, when set, counts refused ingest requests (countRefusals).
	Metrics *telemetry.Metrics

	// Security. The zero values leave the service as open as the seed's
	// "Current State" describes.

	// Tokens, when set, turns on bearer-token authentication of the REST
	// API, /debug, /metrics and live-push session URLs (see authenticate).
	Tokens *Tokens
	// Origins, when set, is the allow-list of browser origins (REST CORS,
	// SockJS, WebSocket upgrades). Nil allows any.
	Origins *Origins
	// IngestRate bounds ingest requests per token or client IP. The zero
	// value means no limit.
	IngestRate RateLimit
	// Conns, when set, enforces connection limits; the http.Server must
	// also use its ConnContext and ConnState.
	Conns *ConnLimiter
}

// pushPrefix is where Config.Push is mounted.
const pushPrefix = "/ws"

// NewHandler returns the service's HTTP handler: the REST API under
// /api/v1, live push under /ws, and the dashboard at /.
func NewHandler(sys System, cfg Config) http.Handler {
	mux := http.NewServeMux()
	for _, rt := range apiRoutes(sys, cfg) {
		mux.Handle(rt.pattern, rt.methods)
	}
	notFound := func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.URL.Path, nil)
	}
	mux.HandleFunc("/api/", notFound)
	mux.HandleFunc("/debug/", notFound)
	if cfg.Docs != nil {
		mux.Handle("/docs", cfg.Docs)
		mux.HandleFunc("/docs/", docsSlash)
	}
	if cfg.Dashboard != nil {
		mux.Handle("/", cfg.Dashboard)
	}
	// SockJS paths are routed by plain prefix: ServeMux would clean paths
	// like /ws//xhr with a redirect where the protocol wants a 404.
	var prefixes []prefixRoute
	if cfg.Push != nil {
		prefixes = append(prefixes, prefixRoute{pushPrefix, cfg.Push})
	}
	if cfg.TestServices != nil {
		for _, p := range []string{"/echo", "/close", "/disabled_websocket_echo", "/cookie_needed_echo"} {
			prefixes = append(prefixes, prefixRoute{p, cfg.TestServices})
		}
	}
	return recoverPanics(cfg.Log, countRefusals(cfg.Metrics, guard(cfg, routePrefixes(prefixes, mux))))
}

// guard wraps h in the protections cfg turns on, outermost first:
// connection limits, origin check, CORS answers (so that a 401 can be read
// cross-origin), authentication, ingest rate.
func guard(cfg Config, h http.Handler) http.Handler {
	if cfg.IngestRate.Rate > 0 {
		h = limitIngest(newRateLimiter(cfg.IngestRate), h)
	}
	if cfg.Tokens != nil {
		h = authenticate(cfg.Tokens, pushPrefix, h)
	}
	h = cors(h)
	if cfg.Origins != nil {
		h = checkOrigin(cfg.Origins, h)
	}
	if cfg.Conns != nil {
		h = limitConns(cfg.Conns, h)
	}
	return h
}

// docsSlash sends /docs/… to /docs, whose URLs are relative to it. The
// Location stays relative (http.Redirect would make it absolute), so that
// behind a reverse proxy's path prefix it stays under the prefix.
func docsSlash(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed; allowed: GET, HEAD", nil)
		return
	}
	up := strings.Repeat("../", strings.Count(strings.TrimPrefix(r.URL.Path, "/docs/"), "/"))
	w.Header().Set("Location", "../"+up+"docs")
	w.WriteHeader(http.StatusMovedPermanently)
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

// cors answers the REST API's cross-origin requests with the service's one
// CORS answer (sockjs.SetCORS, sockjs.Preflight): any origin that passed
// the origin check may read it (the seed's "CORS enabled"). /ws answers
// its own the same way.
func cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/api/") {
			next.ServeHTTP(w, r)
			return
		}
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			sockjs.Preflight(w, r, "GET, POST, PUT, DELETE, OPTIONS")
			return
		}
		sockjs.SetCORS(w, r)
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
