package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

func TestDocs(t *testing.T) {
	t.Parallel()
	files := fstest.MapFS{
		"index.html": {Data: []byte("<title>app</title>")},
		docsPage:     {Data: []byte("<title>Eventara API</title>")},
	}
	docs, dash := newDocs(files), newHandler(files)
	tests := []struct {
		name   string
		h      http.Handler
		method string
		path   string
		status int
		body   string
	}{
		{"docs at its mount", docs, "GET", "/docs", 200, "<title>Eventara API</title>"},
		{"head", docs, "HEAD", "/docs", 200, ""},
		{"post refused", docs, "POST", "/docs", 405, ""},
		// The dashboard handler serves the built file by name under the
		// same policy, not the dashboard's none.
		{"by file name", dash, "GET", "/docs.html", 200, "<title>Eventara API</title>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			tt.h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d", rec.Code, tt.status)
			}
			if tt.status != 200 {
				return
			}
			if got := rec.Header().Get("Content-Security-Policy"); got != docsPolicy {
				t.Errorf("Content-Security-Policy %q, want %q", got, docsPolicy)
			}
			if got := rec.Header().Get("Cache-Control"); got != cacheRevalidate || rec.Header().Get("ETag") == "" {
				t.Errorf("Cache-Control %q, ETag %q: want no-cache and an ETag", got, rec.Header().Get("ETag"))
			}
			if !strings.Contains(rec.Body.String(), tt.body) {
				t.Errorf("body %q, want %q", rec.Body, tt.body)
			}
		})
	}
	// The dashboard itself keeps no policy (see docsPolicy).
	rec := httptest.NewRecorder()
	dash.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if got := rec.Header().Get("Content-Security-Policy"); got != "" {
		t.Errorf("dashboard policy %q", got)
	}
}

func TestDocsPolicyAllowsNothingElsewhere(t *testing.T) {
	t.Parallel()
	for _, d := range strings.Split(docsPolicy, ";") {
		f := strings.Fields(d)
		if len(f) == 0 {
			t.Fatalf("empty directive in %q", docsPolicy)
		}
		for _, src := range f[1:] {
			switch src {
			case "'self'", "'none'", "data:":
			default:
				t.Errorf("%s allows %s: the page must load nothing from elsewhere, nor inline script", f[0], src)
			}
		}
		if f[0] == "script-src" && strings.Contains(d, "data:") {
			t.Errorf("script-src allows data:")
		}
	}
}

func TestDocsNotBuilt(t *testing.T) {
	t.Parallel()
	h := newDocs(fstest.MapFS{"README.txt": {Data: []byte("readme")}})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/docs", nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "make web build") || !strings.Contains(rec.Body.String(), `href="api/v1/openapi.json"`) {
		t.Fatalf("status %d body %q, want the how-to-build page linking the document", rec.Code, rec.Body)
	}
}

func TestEmbeddedDocsServes(t *testing.T) {
	t.Parallel()
	// Whether or not web/dist was built, /docs answers a page.
	rec := httptest.NewRecorder()
	Docs().ServeHTTP(rec, httptest.NewRequest("GET", "/docs", nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "Eventara API") {
		t.Fatalf("status %d body %q", rec.Code, rec.Body)
	}
}
