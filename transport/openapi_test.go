package transport

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/rs/zerolog"

	"github.com/eventara/eventara/actors"
	"github.com/eventara/eventara/spec"
)

// noSystem builds routes without an actor system: no handler runs.
type noSystem struct{ System }

func (noSystem) Faults() *actors.Faults { return nil }

// TestRoutesAreTheOpenAPIDocument keeps the document and the server from
// drifting apart: a route without a document entry, a documented path
// the server does not serve, or a method on one side only fails here.
func TestRoutesAreTheOpenAPIDocument(t *testing.T) {
	t.Parallel()
	b, err := spec.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(b)
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+path)
		}
	}
	// Every optional route on: the document describes them all.
	cfg := Config{Ops: OpsConfig{Metrics: http.NotFoundHandler(), FaultInjection: true}}
	var served []string
	for _, rt := range apiRoutes(noSystem{}, cfg) {
		for method := range rt.methods {
			served = append(served, method+" "+rt.pattern)
		}
	}
	slices.Sort(documented)
	slices.Sort(served)
	for _, s := range served {
		if !slices.Contains(documented, s) {
			t.Errorf("%s is served but not in spec/openapi.json", s)
		}
	}
	for _, d := range documented {
		if !slices.Contains(served, d) {
			t.Errorf("%s is in spec/openapi.json but not served (apiRoutes)", d)
		}
	}
	if len(served) < 14 {
		t.Errorf("only %d operations served: %v", len(served), served)
	}
}

func TestOpenAPIServedOpenWithETag(t *testing.T) {
	t.Parallel()
	tokens, err := ParseTokens("test", "r read")
	if err != nil {
		t.Fatal(err)
	}
	docs := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("docs page")) })
	h := NewHandler(noSystem{}, Config{Log: zerolog.Nop(), Tokens: tokens, Docs: docs})
	want, err := spec.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/openapi.json", nil))
	if rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), want) {
		t.Fatalf("GET without a token: %d, %d bytes; want 200 and the bundled document", rec.Code, rec.Body.Len())
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	etag := rec.Header().Get("ETag")
	if etag == "" || rec.Header().Get("Cache-Control") != "no-cache" {
		t.Fatalf("ETag %q, Cache-Control %q: want an ETag and no-cache", etag, rec.Header().Get("Cache-Control"))
	}

	req := httptest.NewRequest(http.MethodGet, "/api/v1/openapi.json", nil)
	req.Header.Set("If-None-Match", etag)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified {
		t.Errorf("revalidation: %d, want 304", rec.Code)
	}

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/api/v1/openapi.json", nil))
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET" {
		t.Errorf("POST: %d, Allow %q; want 405 and GET", rec.Code, rec.Header().Get("Allow"))
	}

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/docs", nil))
	if rec.Code != http.StatusOK || rec.Body.String() != "docs page" {
		t.Errorf("/docs without a token: %d %q", rec.Code, rec.Body)
	}
	for path, want := range map[string]string{"/docs/": "../docs", "/docs/a/b": "../../docs"} {
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if loc := rec.Header().Get("Location"); rec.Code != http.StatusMovedPermanently || loc != want {
			t.Errorf("%s: %d to %q, want 301 to %s (relative: a proxy's prefix stays)", path, rec.Code, loc, want)
		}
	}

	// The rest of the API still needs a token.
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/system/actors", nil))
	if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), "authentication required") {
		t.Errorf("/api/v1/system/actors without a token: %d %s", rec.Code, rec.Body)
	}
}
