package sockjs

import (
	"context"
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

	// creds holds the token a session-opening HTTP request carried (see
	// Credential), by session id until the session's connection actor reads
	// it. A WebSocket keeps its token in wsConn.cred.
	creds sync.Map

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
// frame for SockJS; raw WebSockets get a 1001 close frame), after what each
// has queued, and refuses new sessions from then on. It does not wait for the
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
		if ws, ok := c.(*wsConn); ok && !ws.sockjs {
			// A raw WebSocket client knows no SockJS codes: a shutdown
			// is 1001, going away (issue 4).
			ws.Close(1001, "Server shutting down")
			continue
		}
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
		if tok := requestToken(r); tok != "" && h.lookup(id) == nil {
			key := "session:" + id
			h.creds.Store(key, tok)
			defer func() {
				if h.lookup(id) == nil { // refused before the session opened
					h.creds.Delete(key)
				}
			}()
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

// requestToken is the token a session-opening request carries: its
// Authorization header's bearer token, else its access_token query
// parameter (SockJS's HTTP transports cannot send headers). Transport
// does not check it; the connection actor does, through
// actors.SessionConfig.Authorize, and transport.authenticate refuses a
// bad one before it gets here when authentication is on.
func requestToken(r *http.Request) string {
	if v := r.Header.Get("Authorization"); len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		return strings.TrimSpace(v[7:])
	}
	return r.URL.Query().Get("access_token")
}

// Credential implements actors.Credentialed: the token of the WebSocket
// handshake, if any.
func (c *wsConn) Credential() string { return c.cred }

// ConnDetacher is what a connection limiter (transport.ConnLimiter) puts
// in a connection's context, with WithConnDetacher. A limiter counts a
// hijacked connection until its handler returns; an accepted WebSocket
// runs on in a goroutine of its own after its handler returns, so it calls
// Detach before returning and the returned release when it is over.
type ConnDetacher interface {
	// Detach hands the release of the hijacked connection over to the
	// caller: release is to be called once the connection is closed.
	Detach() (release func())
}

type connDetacherKey struct{}

// WithConnDetacher returns ctx carrying d, for the WebSockets accepted on
// its connection.
func WithConnDetacher(ctx context.Context, d ConnDetacher) context.Context {
	return context.WithValue(ctx, connDetacherKey{}, d)
}

// detachConn takes over the release of r's hijacked connection from its
// limiter, if there is one: the returned func (nil without a limiter)
// releases it.
func detachConn(r *http.Request) func() {
	d, _ := r.Context().Value(connDetacherKey{}).(ConnDetacher)
	if d == nil {
		return nil
	}
	return d.Detach()
}

// Credential implements actors.Credentialed: the token of the request
// that opened the HTTP session, if any. It is handed over once.
func (s *session) Credential() string {
	v, _ := s.h.creds.LoadAndDelete("session:" + s.id)
	tok, _ := v.(string)
	return tok
}

var (
	_ actors.Credentialed = (*wsConn)(nil)
	_ actors.Credentialed = (*session)(nil)
)
