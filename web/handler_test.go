package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

func TestHandler(t *testing.T) {
	t.Parallel()
	files := fstest.MapFS{
		"index.html":           {Data: []byte("<!doctype html><title>app</title>")},
		"README.txt":           {Data: []byte("readme")},
		"assets/index-abc.js":  {Data: []byte("console.log(1)")},
		"assets/index-abc.css": {Data: []byte("body{}")},
	}
	h := newHandler(files)

	tests := []struct {
		name, method, path string
		status             int
		cache, body, ctype string
	}{
		{"root serves index", "GET", "/", 200, cacheRevalidate, "<title>app</title>", "text/html"},
		{"index by name", "GET", "/index.html", 200, cacheRevalidate, "<title>app</title>", "text/html"},
		{"spa fallback", "GET", "/some/view", 200, cacheRevalidate, "<title>app</title>", "text/html"},
		{"hashed asset cached long", "GET", "/assets/index-abc.js", 200, cacheImmutable, "console.log(1)", "javascript"},
		{"css asset", "GET", "/assets/index-abc.css", 200, cacheImmutable, "body{}", "text/css"},
		{"unhashed file revalidates", "GET", "/README.txt", 200, cacheRevalidate, "readme", "text/plain"},
		{"missing asset 404", "GET", "/assets/gone.js", 404, "", "", ""},
		{"missing file-like 404", "GET", "/favicon.ico", 404, "", "", ""},
		{"api not swallowed", "GET", "/api/v1/nope", 404, "", "", ""},
		{"ws not swallowed", "GET", "/ws/info", 404, "", "", ""},
		{"dot-dot cleaned", "GET", "/../assets/index-abc.js", 200, cacheImmutable, "console.log(1)", ""},
		{"folder is spa", "GET", "/assets", 200, cacheRevalidate, "<title>app</title>", ""},
		{"head ok", "HEAD", "/", 200, cacheRevalidate, "", ""},
		{"post refused", "POST", "/", 405, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			if rec.Code != tt.status {
				t.Fatalf("%s %s: status %d, want %d", tt.method, tt.path, rec.Code, tt.status)
			}
			if got := rec.Header().Get("Cache-Control"); tt.cache != "" && got != tt.cache {
				t.Errorf("Cache-Control %q, want %q", got, tt.cache)
			}
			if !strings.Contains(rec.Body.String(), tt.body) {
				t.Errorf("body %q, want it to contain %q", rec.Body.String(), tt.body)
			}
			if got := rec.Header().Get("Content-Type"); !strings.Contains(got, tt.ctype) {
				t.Errorf("Content-Type %q, want %q", got, tt.ctype)
			}
		})
	}
}

func TestHandlerIndexRevalidates(t *testing.T) {
	t.Parallel()
	h := newHandler(fstest.MapFS{"index.html": {Data: []byte("<p>x</p>")}})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	etag := rec.Header().Get("ETag")
	if etag == "" {
		t.Fatal("no ETag on index.html")
	}
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("If-None-Match", etag)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified {
		t.Fatalf("status %d, want 304", rec.Code)
	}
}

func TestHandlerNotBuilt(t *testing.T) {
	t.Parallel()
	// Only the committed README: the dashboard was never built.
	h := newHandler(fstest.MapFS{"README.txt": {Data: []byte("readme")}})
	for _, p := range []string{"/", "/anything", "/assets/x.js"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", p, nil))
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "make web") {
			t.Errorf("GET %s: status %d body %q, want the how-to-build page", p, rec.Code, rec.Body.String())
		}
	}
}

func TestEmbeddedHandlerServes(t *testing.T) {
	t.Parallel()
	// Whether or not web/dist was built, the embedded handler answers "/".
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "<") {
		t.Fatalf("status %d body %q", rec.Code, rec.Body.String())
	}
}
