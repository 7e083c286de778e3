package sockjs

import (
	"math"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
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
	hixie   bool // draft Hixie-76 framing (0x00 text 0xFF)
	deflate bool // permessage-deflate was negotiated and the wire can send shared compressed tails
	// wire writes the data frames (wire.go); inline, when set, is the same
	// wire, able to write without blocking: Send then writes from its
	// caller when no writer runs (the fast path).
	wire    wire
	inline  inlineWire
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
	// connection keeps no compressor. coder/websocket answers
	// "permessage-deflate; client_no_context_takeover;
	// server_no_context_takeover" to any acceptable offer (RFC 7692
	// sections 7.1.1.1 and 7.1.1.2 let a server add both) and inflates
	// what the client compresses. It never compresses: control frames are
	// never compressed, and the threshold keeps it from compressing data
	// messages once per connection where it writes them (coderWire).
	opts := &websocket.AcceptOptions{
		InsecureSkipVerify:   true,
		CompressionMode:      websocket.CompressionNoContextTakeover,
		CompressionThreshold: math.MaxInt,
	}
	if !sockjsFraming {
		opts.Subprotocols = stompSubprotocols
	}
	c := &wsConn{h: h, sockjs: sockjsFraming, remote: r.RemoteAddr, cred: requestToken(r)}
	hc := &hijackCapture{ResponseWriter: w, timeout: h.cfg.WriteTimeout}
	ws, err := websocket.Accept(hc, r, opts)
	if err != nil {
		h.cfg.Log.Debug().Err(err).Str("remote", r.RemoteAddr).Msg("websocket handshake failed")
		return
	}
	ws.SetReadLimit(int64(h.cfg.MaxMessageSize))
	h.cfg.Log.Debug().Str("remote", r.RemoteAddr).Str("subprotocol", ws.Subprotocol()).Msg("websocket accepted")
	c.ws = coderConn{ws}
	c.wire, c.inline = hc.wire, hc.inline
	if c.wire == nil {
		c.wire = coderWire{ws: ws, timeout: h.cfg.WriteTimeout} // sends nothing compressed: c.deflate stays off
	} else {
		c.deflate = strings.HasPrefix(hc.Header().Get("Sec-WebSocket-Extensions"), "permessage-deflate")
	}
	h.runWebSocket(r, c, hc.nc)
}

// runWebSocket starts an accepted WebSocket session (r is its handshake)
// on nc and returns: the session runs on in a goroutine of its own, the reader,
// so the handler's goroutine and net/http's per-request state are freed.
// The connection limiter's release goes with it (detachConn), and
// Handler.Close reaches it through h.conns (http.Server.Shutdown does not
// track hijacked connections).
func (h *Handler) runWebSocket(r *http.Request, c *wsConn, nc net.Conn) {
	if tc, ok := nc.(*net.TCPConn); ok && h.cfg.SendBuffer > 0 {
		_ = tc.SetWriteBuffer(h.cfg.SendBuffer)
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
