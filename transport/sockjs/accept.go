package sockjs

import (
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coder/websocket"

	"github.com/eventara/eventara/actors"
)

// stompSubprotocols are offered on the raw WebSocket endpoints, in the
// server's order of preference; clients offering none are accepted too.
var stompSubprotocols = []string{"v12.stomp", "v11.stomp", "v10.stomp"}

// wsConn is one WebSocket client session: SockJS's websocket transport
// (sockjs true: o, h, a[...], c[...] frames) or a raw WebSocket (one
// message per unit). It implements actors.ClientConn.
type wsConn struct {
	h       *Handler
	ws      messageConn
	nc      net.Conn
	hixie   bool // draft Hixie-76 framing (0x00 text 0xFF)
	deflate bool // permessage-deflate was negotiated: shared snapshots go compressed
	writev  bool // nc takes a writev in one call (TCP, Unix)
	// raw, when set, lets Send write at once from the caller's goroutine
	// with one non-blocking writev when no writer runs (the fast path).
	raw syscall.RawConn
	// wmu is held while a frame is on the wire, even partly: data frames
	// (flush, the fast path) and coder/websocket's control frames
	// (ctlWriter) take it, so a fast-path frame that went out only in
	// part is finished (by drain, from pending) before anything else is
	// written.
	wmu     sync.Mutex
	pending []byte // the unsent rest of a fast-path write; wmu stays locked until drain writes it
	sockjs  bool
	remote  string
	cred    string // the handshake's token (Credential)
	framing atomic.Uint32
	// release, when set, releases the connection from the connection
	// limiter (detachConn); called once, when the session is over.
	release func()

	actor   actors.Session
	endOnce sync.Once

	hb    *time.Timer
	wrote atomic.Bool // something was written since the last heart-beat check
	done  atomic.Bool // the connection is over

	mu          sync.Mutex
	queue       []actors.Outgoing // bounded by Config.QueueLength
	spare       []actors.Outgoing // the other half of the double buffer
	writing     bool              // a drain goroutine runs
	hbDue       bool              // an h frame is owed
	closeReq    bool              // Close was called: Send refuses
	closeCode   int
	closeReason string
	broken      bool // the connection failed: Send refuses
}

var _ actors.ClientConn = (*wsConn)(nil)

func (h *Handler) serveWebSocket(w http.ResponseWriter, r *http.Request, sockjsFraming bool) {
	if h.cfg.DisableWebSocket {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet {
		methodNotAllowed(w, http.MethodGet)
		return
	}
	if !isUpgrade(r) {
		http.Error(w, `Can "Upgrade" only to "WebSocket".`, http.StatusBadRequest)
		return
	}
	if !headerHasToken(r, "Connection", "upgrade") {
		http.Error(w, `"Connection" must be "Upgrade".`, http.StatusBadRequest)
		return
	}
	if r.Header.Get("Sec-WebSocket-Version") == "" && r.Header.Get("Sec-WebSocket-Key1") != "" {
		h.serveHixie76(w, r, sockjsFraming)
		return
	}
	// permessage-deflate with no context takeover either way: each server
	// message is compressed on its own, so the shared part of a snapshot
	// is compressed once per tick for every connection (framingsOf) and a
	// connection keeps no compressor. coder/websocket
	// answers "permessage-deflate; client_no_context_takeover;
	// server_no_context_takeover" to any acceptable offer (RFC 7692
	// sections 7.1.1.1 and 7.1.1.2 let a server add both) and inflates
	// what the client compresses; it never compresses here, as data
	// frames are written by wsConn and control frames are never
	// compressed.
	opts := &websocket.AcceptOptions{InsecureSkipVerify: true, CompressionMode: websocket.CompressionNoContextTakeover}
	if !sockjsFraming {
		opts.Subprotocols = stompSubprotocols
	}
	c := &wsConn{h: h, sockjs: sockjsFraming, remote: r.RemoteAddr, cred: requestToken(r)}
	hc := &hijackCapture{ResponseWriter: w, c: c}
	ws, err := websocket.Accept(hc, r, opts)
	if err != nil {
		h.cfg.Log.Debug().Err(err).Str("remote", r.RemoteAddr).Msg("websocket handshake failed")
		return
	}
	ws.SetReadLimit(int64(h.cfg.MaxMessageSize))
	h.cfg.Log.Debug().Str("remote", r.RemoteAddr).Str("subprotocol", ws.Subprotocol()).Msg("websocket accepted")
	c.ws, c.nc = coderConn{ws}, hc.nc
	c.deflate = strings.HasPrefix(hc.Header().Get("Sec-WebSocket-Extensions"), "permessage-deflate")
	if sc, ok := hc.nc.(syscall.Conn); ok {
		c.raw, _ = sc.SyscallConn() // only coder/websocket connections: their control frames go through wmu
	}
	h.runWebSocket(r, c)
}

// runWebSocket starts an accepted WebSocket session (r is its handshake)
// and returns: the session runs on in a goroutine of its own, the reader,
// so the handler's goroutine and net/http's per-request state are freed.
// The connection limiter's release goes with it (detachConn), and
// Handler.Close reaches it through h.conns (http.Server.Shutdown does not
// track hijacked connections).
func (h *Handler) runWebSocket(r *http.Request, c *wsConn) {
	switch nc := c.nc.(type) {
	case *net.TCPConn:
		c.writev = true
		if h.cfg.SendBuffer > 0 {
			_ = nc.SetWriteBuffer(h.cfg.SendBuffer)
		}
	case *net.UnixConn:
		c.writev = true
	}
	if !c.writev {
		c.raw = nil
	}
	if !h.register(c) {
		c.ws.Close(websocket.StatusGoingAway, "shutting down")
		return // the limiter releases the connection when the handler returns
	}
	c.release = detachConn(r)
	go c.run()
}

// SetFraming implements actors.ClientConn.
func (c *wsConn) SetFraming(f actors.Framing) { c.framing.Store(uint32(f)) }

// Transport implements actors.ClientConn.
func (c *wsConn) Transport() string {
	if c.sockjs {
		return "websocket"
	}
	return "raw-websocket"
}

// RemoteAddr implements actors.ClientConn.
func (c *wsConn) RemoteAddr() string { return c.remote }
