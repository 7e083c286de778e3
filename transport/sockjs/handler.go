package sockjs

import (
	"net/http"
	"strings"
	"sync"

	"github.com/eventara/eventara/actors"
)

// Handler serves SockJS and the raw WebSocket endpoint under Config.Prefix.
// Mount it with a plain prefix check rather than http.ServeMux patterns:
// ServeMux redirects paths such as /ws//xhr that the protocol wants
// answered with 404.
type Handler struct {
	cfg      Config
	sessions actors.Sessions

	iframe     []byte
	iframeETag string

	mu     sync.Mutex
	polled map[string]*session  // HTTP sessions by session id
	conns  map[*wsConn]struct{} // open WebSocket connections
	closed bool                 // Close was called: no new sessions
}

// NewHandler returns a handler that opens a connection actor through
// sessions for every client session.
func NewHandler(cfg Config, sessions actors.Sessions) *Handler {
	cfg = cfg.withDefaults()
	iframe := renderIframe(cfg.SockJSURL)
	return &Handler{
		cfg:        cfg,
		sessions:   sessions,
		iframe:     iframe,
		iframeETag: etag(iframe),
		polled:     make(map[string]*session),
		conns:      make(map[*wsConn]struct{}),
	}
}

// Close closes every open session with code and reason (a c[code,"reason"]
// frame for SockJS, a close frame for raw WebSockets), after what each has
// queued, and refuses new sessions from then on. It does not wait for the
// clients.
func (h *Handler) Close(code int, reason string) {
	h.mu.Lock()
	h.closed = true
	var conns []actors.ClientConn
	for _, s := range h.polled {
		conns = append(conns, s)
	}
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	for _, c := range conns {
		c.Close(code, reason)
	}
}

// ServeHTTP routes a request under the prefix.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if !strings.HasPrefix(path, h.cfg.Prefix) {
		http.NotFound(w, r)
		return
	}
	rest := path[len(h.cfg.Prefix):]
	switch {
	case rest == "" || rest == "/":
		if isUpgrade(r) {
			h.serveWebSocket(w, r, false)
			return
		}
		h.serveGreeting(w, r)
	case rest == "/info":
		h.serveInfo(w, r)
	case rest == "/websocket":
		h.serveWebSocket(w, r, false)
	case rest == "/"+sockjsFile:
		serveStatic(w, r, "application/javascript; charset=UTF-8", sockjsJSETag, sockjsJS)
	case isIframePath(rest):
		serveStatic(w, r, "text/html; charset=UTF-8", h.iframeETag, h.iframe)
	default:
		id, transport, ok := splitSessionPath(rest)
		if !ok {
			http.NotFound(w, r)
			return
		}
		h.serveTransport(w, r, id, transport)
	}
}

// splitSessionPath splits /{server}/{session}/{transport}; server and
// session must be non-empty and hold no dot.
func splitSessionPath(rest string) (session, transport string, ok bool) {
	parts := strings.Split(rest, "/")
	if len(parts) != 4 || parts[0] != "" {
		return "", "", false
	}
	for _, p := range parts[1:3] {
		if p == "" || strings.ContainsRune(p, '.') {
			return "", "", false
		}
	}
	return parts[2], parts[3], true
}

func (h *Handler) serveTransport(w http.ResponseWriter, r *http.Request, id, transport string) {
	switch transport {
	case "websocket":
		h.serveWebSocket(w, r, true)
	case "xhr_send":
		h.serveSend(w, r, id, false)
	case "jsonp_send":
		h.serveSend(w, r, id, true)
	default:
		t, ok := httpTransports[transport]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h.serveReceive(w, r, id, t)
	}
}

func headerHasToken(r *http.Request, name, token string) bool {
	for _, v := range r.Header.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

func isUpgrade(r *http.Request) bool {
	return headerHasToken(r, "Upgrade", "websocket")
}

// register adds a WebSocket connection; false once the handler is closed.
func (h *Handler) register(c *wsConn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.conns[c] = struct{}{}
	return true
}

func (h *Handler) unregister(c *wsConn) {
	h.mu.Lock()
	delete(h.conns, c)
	h.mu.Unlock()
}
