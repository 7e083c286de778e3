package sockjs

import (
	"bytes"
	"crypto/md5"
	"embed"
	"encoding/hex"
	"html"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/eventara/eventara/protocol/sockjs"
)

// sockjsFile is sockjs-client's browser build (MIT, see
// static/LICENSE-sockjs-client), served for the iframe page.
const sockjsFile = "sockjs.min.js"

//go:embed static/sockjs.min.js
var staticFS embed.FS

var (
	sockjsJS     = mustRead(staticFS, "static/"+sockjsFile)
	sockjsJSETag = etag(sockjsJS)
)

func mustRead(fs embed.FS, name string) []byte {
	b, err := fs.ReadFile(name)
	if err != nil {
		panic(err) // the file is embedded at build time
	}
	return b
}

func etag(b []byte) string {
	sum := md5.Sum(b)
	return `"` + hex.EncodeToString(sum[:]) + `"`
}

const greeting = "Welcome to SockJS!\n"

// iframePage is the page the protocol defines for the iframe transports.
const iframePage = `<!DOCTYPE html>
<html>
<head>
  <meta http-equiv="X-UA-Compatible" content="IE=edge" />
  <meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
  <script src="{{sockjs_url}}"></script>
  <script>
    document.domain = document.domain;
    SockJS.bootstrap_iframe();
  </script>
</head>
<body>
  <h2>Don't panic!</h2>
  <p>This is a SockJS hidden iframe. It's used for cross domain magic.</p>
</body>
</html>`

func renderIframe(sockjsURL string) []byte {
	return []byte(strings.Replace(iframePage, "{{sockjs_url}}", html.EscapeString(sockjsURL), 1))
}

// isIframePath reports whether rest is /iframe.html or a versioned
// /iframe-<version>.html, the version made of [0-9a-z._-].
func isIframePath(rest string) bool {
	if !strings.HasPrefix(rest, "/iframe") || !strings.HasSuffix(rest, ".html") || len(rest) < len("/iframe.html") {
		return false
	}
	for _, c := range rest[len("/iframe") : len(rest)-len(".html")] {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

func (h *Handler) serveGreeting(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		methodNotAllowed(w, "GET, HEAD")
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
	w.Write([]byte(greeting))
}

func (h *Handler) serveInfo(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodOptions:
		Preflight(w, r, "OPTIONS, GET")
		return
	case http.MethodGet, http.MethodHead:
	default:
		methodNotAllowed(w, "OPTIONS, GET")
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/json; charset=UTF-8")
	setNoCache(w)
	SetCORS(w, r)
	w.Write(sockjs.AppendInfo(make([]byte, 0, 96), sockjs.Info{
		WebSocket:    !h.cfg.DisableWebSocket,
		CookieNeeded: h.cfg.CookieNeeded,
		Entropy:      rand.Uint32(),
	}))
}

// serveStatic serves a strongly cacheable page with an ETag and no
// Last-Modified; If-None-Match gets 304 with no body or content type.
func serveStatic(w http.ResponseWriter, r *http.Request, contentType, tag string, body []byte) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		methodNotAllowed(w, "GET, HEAD")
		return
	}
	hd := w.Header()
	setCached(w)
	hd.Set("ETag", tag)
	hd.Set("Content-Type", contentType)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	w.WriteHeader(http.StatusMethodNotAllowed)
}
