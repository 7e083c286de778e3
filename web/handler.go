package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

const (
	// cacheImmutable is for Vite's content-hashed files under assets/: a new
	// build gives them new names, so browsers may keep them for a year.
	cacheImmutable = "public, max-age=31536000, immutable"
	// cacheRevalidate is for index.html and unhashed files: always ask, so a
	// new build is picked up on the next load.
	cacheRevalidate = "no-cache"
)

// Handler serves the embedded dashboard. Mount it at "/" (or under a prefix
// with http.StripPrefix): the app uses relative URLs only.
//
// Paths that name a file serve it; other paths serve index.html
// (single-page fallback), except missing assets and api/ or ws/ paths, which
// are 404s. Only GET and
// HEAD are allowed.
func Handler() http.Handler {
	sub, err := fs.Sub(dist, "dist")
	if err != nil { // cannot happen: "dist" is a valid path
		return notBuilt()
	}
	return newHandler(sub)
}

func newHandler(files fs.FS) http.Handler {
	serveIndex, err := htmlPage(files, "index.html", nil)
	if err != nil {
		return notBuilt()
	}
	serveDocs, err := htmlPage(files, docsPage, docsHeaders)
	if err != nil {
		serveDocs = docsNotBuilt
	}
	fileServer := http.FileServerFS(files)

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
		if name == "" || name == "index.html" {
			serveIndex(w, r)
			return
		}
		if name == docsPage { // as Docs serves it, under its policy
			serveDocs(w, r)
			return
		}
		if st, err := fs.Stat(files, name); err == nil && !st.IsDir() {
			if strings.HasPrefix(name, "assets/") {
				w.Header().Set("Cache-Control", cacheImmutable)
			} else {
				w.Header().Set("Cache-Control", cacheRevalidate)
			}
			// FileServerFS redirects ".../index.html" and lists folders;
			// neither applies here, since name is a plain file other than index.html.
			r2 := r.Clone(r.Context())
			r2.URL.Path = "/" + name
			fileServer.ServeHTTP(w, r2)
			return
		}
		if !spaRoute(name) {
			http.NotFound(w, r)
			return
		}
		serveIndex(w, r)
	})
}

// htmlPage returns a handler of the page name of files: revalidated on
// every load ("no-cache") by an ETag from its content, so that a new build
// shows at once; headers, when set, adds its own response headers.
func htmlPage(files fs.FS, name string, headers func(http.Header)) (http.HandlerFunc, error) {
	b, err := fs.ReadFile(files, name)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(b)
	etag := `"` + hex.EncodeToString(sum[:8]) + `"`
	return func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", cacheRevalidate)
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("ETag", etag)
		if headers != nil {
			headers(h)
		}
		http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(b))
	}, nil
}

// spaRoute reports whether a path that names no file should get index.html:
// not for missing assets, file-like names, or the API and SockJS endpoints
// (those stay 404 if they reach this handler).
func spaRoute(name string) bool {
	switch {
	case strings.HasPrefix(name, "assets/"), path.Ext(name) != "":
		return false
	case name == "api" || strings.HasPrefix(name, "api/"), name == "ws" || strings.HasPrefix(name, "ws/"):
		return false
	}
	return true
}

// notBuiltPage is what a binary built without the dashboard serves.
const notBuiltPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Eventara</title>
<style>body{font:16px/1.5 system-ui,sans-serif;background:#0b0f17;color:#e6ebf3;max-width:40rem;margin:4rem auto;padding:0 1rem}
code,pre{background:#131a26;padding:.1rem .3rem;border-radius:.3rem}pre{padding:.8rem}a{color:#4cc9f0}</style></head>
<body><h1>Eventara is running</h1>
<p>This binary was built without the dashboard. Build it, then the binary again:</p>
<pre>make web build</pre>
<p>or by hand: <code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code>, then <code>go build ./cmd/eventara</code>.</p>
<p>The API works without it: <a href="api/v1/metrics">api/v1/metrics</a>.</p>
</body></html>
`

func notBuilt() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Cache-Control", cacheRevalidate)
		h.Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			_, _ = w.Write([]byte(notBuiltPage))
		}
	})
}
