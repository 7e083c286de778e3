package transport

import (
	"net/http"
	"time"

	"github.com/eventara/eventara/actors"
)

// OpsConfig configures the operations endpoints.
type OpsConfig struct {
	// Metrics, when set, serves GET /metrics (Prometheus text format).
	Metrics http.Handler
	// FaultInjection mounts POST/GET/DELETE /debug/faults. Off (the
	// default), every /debug path answers 404.
	FaultInjection bool
}

// opsRoutes returns GET /api/v1/system/actors, GET /metrics when a
// Prometheus handler is set, and /debug/faults with fault injection on.
// Without it, /debug/faults answers 404 like every unknown /debug path.
func opsRoutes(sys System, cfg OpsConfig) []route {
	routes := []route{{"/api/v1/system/actors", methods{http.MethodGet: func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, systemActors{Root: sys.ActorTree(), Supervision: supervisionView(sys.SupervisionEvents())})
	}}}}
	routes = append(routes, route{"/api/v1/system/cluster", methods{http.MethodGet: func(w http.ResponseWriter, _ *http.Request) {
		serveCluster(w, sys)
	}}})
	if cfg.Metrics != nil {
		routes = append(routes, route{"/metrics", methods{http.MethodGet: cfg.Metrics.ServeHTTP}})
	}
	if cfg.FaultInjection {
		f := &faultsAPI{faults: sys.Faults()}
		routes = append(routes, route{"/debug/faults", methods{http.MethodPost: f.post, http.MethodGet: f.list, http.MethodDelete: f.clear}})
	}
	return routes
}

// systemActors is GET /api/v1/system/actors: the live supervision tree and
// the newest supervision decisions.
type systemActors struct {
	Root        *actors.ActorNode `json:"root"`
	Supervision []supervisionJSON `json:"supervision"`
}

type supervisionJSON struct {
	At        string `json:"at"`
	Actor     string `json:"actor"`
	Parent    string `json:"parent"`
	Kind      string `json:"kind"`
	Reason    string `json:"reason"`
	Directive string `json:"directive"`
	Restarts  int    `json:"restarts"`
	BackoffMs int64  `json:"backoffMs"`
	MsgType   string `json:"msgType,omitempty"`
}

func supervisionView(evs []actors.SupervisionEvent) []supervisionJSON {
	res := make([]supervisionJSON, len(evs))
	for i, e := range evs {
		res[i] = supervisionJSON{At: e.At.UTC().Format(time.RFC3339Nano), Actor: e.Actor, Parent: e.Parent, Kind: string(e.Kind),
			Reason: e.Reason, Directive: e.Directive, Restarts: e.Restarts, BackoffMs: e.Backoff.Milliseconds(), MsgType: e.MsgType}
	}
	return res
}
