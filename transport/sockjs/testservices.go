package sockjs

import (
	"net/http"
	"strings"

	"github.com/eventara/eventara/actors"
	"github.com/eventara/eventara/protocol/sockjs"
)

// TestServices returns a handler that mounts, at the root, the four
// services the SockJS protocol suite (sockjs-protocol.py) expects:
//
//   - /echo: echoes every message (response limit 4096 bytes), with the
//     raw /echo/websocket;
//   - /close: closes every session at once with c[3000,"Go away!"];
//   - /disabled_websocket_echo: echo with the websocket transports off;
//   - /cookie_needed_echo: echo that sets JSESSIONID=dummy; path=/.
//
// cfg supplies the timings and the logger; Prefix and the per-service
// settings are overridden. The services speak no STOMP.
func TestServices(cfg Config) http.Handler {
	mk := func(prefix string, s actors.Sessions, edit func(*Config)) *Handler {
		c := cfg
		c.Prefix = prefix
		c.SockJSURL = ""
		if edit != nil {
			edit(&c)
		}
		return NewHandler(c, s)
	}
	return prefixRouter{
		mk("/echo", EchoSessions{}, func(c *Config) { c.ResponseLimit = 4096 }),
		mk("/close", closeSessions{}, nil),
		mk("/disabled_websocket_echo", EchoSessions{}, func(c *Config) { c.DisableWebSocket = true }),
		mk("/cookie_needed_echo", EchoSessions{}, func(c *Config) { c.CookieNeeded = true }),
	}
}

// prefixRouter dispatches on a handler's prefix without cleaning the path
// (http.ServeMux would redirect /echo//xhr instead of letting it 404).
type prefixRouter []*Handler

func (pr prefixRouter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	for _, h := range pr {
		if pre := h.cfg.Prefix; p == pre || strings.HasPrefix(p, pre+"/") {
			h.ServeHTTP(w, r)
			return
		}
	}
	http.NotFound(w, r)
}

// EchoSessions is an actors.Sessions whose sessions send every message
// they receive straight back. Tests and the protocol suite use it.
type EchoSessions struct{}

// Open implements actors.Sessions.
func (EchoSessions) Open(conn actors.ClientConn) actors.Session { return echoSession{conn} }

type echoSession struct{ conn actors.ClientConn }

func (e echoSession) Receive(data []byte) { e.conn.Send(actors.Outgoing{Head: data}) }
func (e echoSession) Closed()             {}

// closeSessions closes every session as soon as it opens.
type closeSessions struct{}

func (closeSessions) Open(conn actors.ClientConn) actors.Session {
	conn.Close(sockjs.CodeGoAway, "Go away!")
	return nopSession{}
}

type nopSession struct{}

func (nopSession) Receive([]byte) {}
func (nopSession) Closed()        {}
