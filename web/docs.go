package web

import (
	"io/fs"
	"net/http"
)

// docsPage is the API docs page Vite builds from docs.html: Swagger UI
// rendering GET api/v1/openapi.json (src/docs/main.ts).
const docsPage = "docs.html"

// docsPolicy is the Content-Security-Policy of the docs page: scripts,
// styles and requests from this server only (the page, its assets and the
// API it tries out), images and fonts also inline as data: URIs, which
// Swagger UI's stylesheet uses for its icons. Nothing from elsewhere can
// load, which also keeps the page working with no internet. The dashboard
// sends no policy of its own; this one is the docs page's.
const docsPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

func docsHeaders(h http.Header) {
	h.Set("Content-Security-Policy", docsPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
}

// Docs serves the API docs page at whatever path it is mounted on: mount it
// at "/docs", beside Handler at "/" (which serves the page's script and
// stylesheet under assets/). Its URLs are relative, so it works behind a
// reverse proxy's path prefix like the dashboard. Only GET and HEAD are
// allowed. A binary built without the page serves a short one saying how
// to build it, with a link to the document itself.
func Docs() http.Handler {
	sub, err := fs.Sub(dist, "dist")
	if err != nil { // cannot happen: "dist" is a valid path
		return getOnly(docsNotBuilt)
	}
	return newDocs(sub)
}

func newDocs(files fs.FS) http.Handler {
	serve, err := htmlPage(files, docsPage, docsHeaders)
	if err != nil {
		return getOnly(docsNotBuilt)
	}
	return getOnly(serve)
}

// getOnly answers 405 to methods other than GET and HEAD.
func getOnly(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		next(w, r)
	})
}

// docsNotBuiltPage is what a binary built without the web pages serves at
// /docs.
const docsNotBuiltPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Eventara API</title>
<style>body{font:16px/1.5 system-ui,sans-serif;background:#0b0f17;color:#e6ebf3;max-width:40rem;margin:4rem auto;padding:0 1rem}
code,pre{background:#131a26;padding:.1rem .3rem;border-radius:.3rem}pre{padding:.8rem}a{color:#4cc9f0}</style></head>
<body><h1>Eventara API</h1>
<p>This binary was built without its web pages, so the API docs cannot be shown here. Build them, then the binary again:</p>
<pre>make web build</pre>
<p>The OpenAPI document itself is served: <a href="api/v1/openapi.json">api/v1/openapi.json</a>.</p>
</body></html>
`

func docsNotBuilt(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", cacheRevalidate)
	h.Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write([]byte(docsNotBuiltPage))
	}
}
