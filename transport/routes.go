package transport

import "net/http"

// route is one endpoint of the HTTP API: a ServeMux pattern, whose
// {name} wildcards are the OpenAPI document's path templates, and its
// handlers by method.
type route struct {
	pattern string
	methods methods
}

// apiRoutes is the HTTP API: everything NewHandler serves but the
// dashboard, /docs and live push. Each route here is a path of
// spec/openapi.json with the same methods, and each path there is a route
// here (TestRoutesAreTheOpenAPIDocument); test/openapi_test.go checks the
// real binary's answers against the document.
func apiRoutes(sys System, cfg Config) []route {
	ev := &eventsAPI{sys: sys, build: cfg.Build}
	m := &metricsAPI{sys: sys}
	routes := []route{
		{"/api/v1/events", methods{http.MethodPost: ev.post, http.MethodGet: ev.list}},
		{"/api/v1/events/batch", methods{http.MethodPost: ev.postBatch}},
		{"/api/v1/events/health", methods{http.MethodGet: ev.health}},
		{"/api/v1/events/type/{eventType}", methods{http.MethodGet: ev.listByType}},
		{"/api/v1/events/{eventId}", methods{http.MethodGet: ev.get}},
		{"/api/v1/metrics", methods{http.MethodGet: m.get}},
		{"/api/v1/metrics/reset", methods{http.MethodPost: m.reset}},
		{openAPIPath, methods{http.MethodGet: serveOpenAPI}},
	}
	routes = append(routes, rulesRoutes(sys)...)
	routes = append(routes, notificationRoutes(sys)...)
	return append(routes, opsRoutes(sys, cfg.Ops)...)
}
