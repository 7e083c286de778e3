package sockjs

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"

	"github.com/eventara/eventara/actors"
	"github.com/eventara/eventara/protocol/sockjs"
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

// hijackCapture passes a ResponseWriter to websocket.Accept and keeps the
// hijacked net.Conn, so data frames can be written to it directly. The
// buffered writer handed to coder/websocket is small: it only ever writes
// control frames, through c's wmu.
//
// net/http hands over its connection's own 4 KB bufio.Reader and Writer,
// which coder/websocket keeps for the WebSocket's whole life. Small
// buffers are swapped into those same structs, so the 4 KB arrays are
// freed: about 7.5 KB per connection. Inbound traffic is small (STOMP
// commands, heart-beats); larger payloads bypass a bufio.Reader's buffer
// anyway.
type hijackCapture struct {
	http.ResponseWriter
	c  *wsConn
	nc net.Conn
}

func (hc *hijackCapture) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(hc.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	hc.nc = nc
	shrinkReader(brw.Reader, nc)
	*brw.Writer = *bufio.NewWriterSize(ctlWriter{hc.c, nc}, 256)
	return nc, brw, nil
}

// readBufferSize is the hijacked connection's read buffer.
const readBufferSize = 512

// shrinkReader makes br read nc through a small buffer, keeping what br
// had buffered (a client may send frames right behind its handshake)
// buffered, where coder/websocket's Accept looks for it.
func shrinkReader(br *bufio.Reader, nc net.Conn) {
	n := br.Buffered()
	if n > readBufferSize {
		return
	}
	var rd io.Reader = nc
	if n > 0 {
		b, _ := br.Peek(n)
		rd = io.MultiReader(bytes.NewReader(bytes.Clone(b)), nc)
	}
	*br = *bufio.NewReaderSize(rd, readBufferSize)
	if n > 0 {
		br.Peek(n) // served by the bytes.Reader alone: never waits on nc
	}
}

// ctlWriter writes coder/websocket's control frames (pong, close) whole,
// never inside a data frame: it waits for wmu.
type ctlWriter struct {
	c  *wsConn
	nc net.Conn
}

func (w ctlWriter) Write(p []byte) (int, error) {
	w.c.wmu.Lock()
	defer w.c.wmu.Unlock()
	return w.nc.Write(p)
}

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

// run is the session's reader goroutine: it opens the session, reads until
// the connection ends, and then leaves the handler and the limiter. A panic
// (in the connection actor, say) is logged, as net/http logs a handler's,
// and ends the connection.
func (c *wsConn) run() {
	h := c.h
	defer func() {
		h.unregister(c)
		if c.release != nil {
			c.release()
		}
	}()
	defer func() {
		if p := recover(); p != nil {
			h.cfg.Log.Error().Interface("panic", p).Str("remote", c.remote).Bytes("stack", debug.Stack()).Msg("websocket session panicked")
			c.ws.CloseNow()
			c.done.Store(true)
			c.mu.Lock()
			c.broken = true
			c.mu.Unlock()
			if c.actor != nil { // the connection actor must still learn the client is gone
				c.endOnce.Do(c.actor.Closed)
			}
		}
	}()
	if c.sockjs {
		fb := getBuilder()
		fb.begin(c.hixie)
		fb.lit(sockjs.OpenFrame)
		fb.end()
		err := c.flush(fb)
		putBuilder(fb)
		if err != nil {
			c.ws.CloseNow()
			return
		}
	}
	c.actor = h.sessions.Open(c)
	h.cfg.Log.Debug().Str("transport", c.Transport()).Str("remote", c.remote).Msg("websocket session opened")
	if c.sockjs {
		c.mu.Lock()
		c.hb = time.AfterFunc(h.cfg.HeartbeatInterval, c.heartbeat)
		c.mu.Unlock()
	}
	c.readLoop()
	c.finish()
}

// readLoop hands each inbound message to the actor until the connection
// ends. SockJS messages are JSON (["m1","m2"] or "m"); empty ones are
// ignored and broken JSON ends the connection at once.
func (c *wsConn) readLoop() {
	for {
		data, err := c.ws.Read()
		if err != nil {
			return
		}
		if !c.sockjs {
			c.actor.Receive(data)
			continue
		}
		if len(data) == 0 {
			continue
		}
		msgs, err := sockjs.DecodeMessages(data)
		if err != nil {
			c.h.cfg.Log.Debug().Err(err).Str("remote", c.remote).Msg("sockjs websocket: broken framing")
			return
		}
		for _, m := range msgs {
			c.actor.Receive(m)
		}
	}
}

// finish runs when the reader is done: the connection is closed (a
// graceful close in progress has already got its reply) and the actor is
// told.
func (c *wsConn) finish() {
	c.done.Store(true)
	c.mu.Lock()
	c.broken = true
	c.mu.Unlock()
	if hb := c.heartbeatTimer(); hb != nil {
		hb.Stop()
	}
	c.ws.CloseNow()
	c.endOnce.Do(func() {
		c.actor.Closed()
		c.h.cfg.Log.Debug().Str("transport", c.Transport()).Str("remote", c.remote).Msg("websocket session closed")
	})
}

// Send implements actors.ClientConn: it queues o and starts the writer
// goroutine if none runs. When no writer runs (so nothing is queued), it
// writes o itself first, with one non-blocking writev: a tick's delivery
// then costs no goroutine and no wake-up.
func (c *wsConn) Send(o actors.Outgoing) bool {
	c.mu.Lock()
	if c.closeReq || c.broken || len(c.queue) >= c.h.cfg.QueueLength {
		c.mu.Unlock()
		return false
	}
	if !c.writing && c.raw != nil {
		c.writing = true // this goroutine is the writer for now
		c.mu.Unlock()
		c.writeNow(o)
		return true
	}
	c.queue = append(c.queue, o)
	start := !c.writing
	c.writing = true
	c.mu.Unlock()
	if start {
		go c.drain()
	}
	return true
}

// Close implements actors.ClientConn: what is queued is written, then the
// SockJS close frame (SockJS) and the WebSocket close handshake.
func (c *wsConn) Close(code int, reason string) {
	c.mu.Lock()
	if c.closeReq || c.broken {
		c.mu.Unlock()
		return
	}
	c.closeReq, c.closeCode, c.closeReason = true, code, reason
	start := !c.writing
	c.writing = true
	c.mu.Unlock()
	if start {
		go c.drain()
	}
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

// heartbeat owes the client an h frame when nothing was written for a
// whole interval.
func (c *wsConn) heartbeat() {
	if c.done.Load() {
		return
	}
	c.mu.Lock()
	if c.closeReq || c.broken {
		c.mu.Unlock()
		return
	}
	start := false
	if !c.wrote.Swap(false) {
		c.hbDue = true
		start = !c.writing
		c.writing = true
	}
	c.hb.Reset(c.h.cfg.HeartbeatInterval)
	c.mu.Unlock()
	if start {
		go c.drain()
	}
}

func (c *wsConn) heartbeatTimer() *time.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hb
}

// writeNow is Send's fast path, run by the goroutine that took the writer
// role: o goes out with one non-blocking writev. What the socket did not
// take, and anything queued meanwhile, is left to a drain goroutine.
func (c *wsConn) writeNow(o actors.Outgoing) {
	fb := getBuilder()
	units := fb.units(o)
	c.build(fb, units)
	c.wmu.Lock()
	n, total, err := fb.tryWritev(c.raw)
	if err != nil {
		c.wmu.Unlock()
		putBuilder(fb)
		c.mu.Lock()
		c.broken = true // writing stays true: no writer starts again
		c.mu.Unlock()
		c.h.cfg.Log.Debug().Err(err).Str("remote", c.remote).Msg("websocket write failed")
		c.ws.CloseNow()
		return
	}
	if n < total {
		c.pending = fb.rest(n) // wmu stays locked until drain has written it
		putBuilder(fb)
		go c.drain()
		return
	}
	c.wmu.Unlock()
	putBuilder(fb)
	c.wrote.Store(true)
	c.mu.Lock()
	if len(c.queue) == 0 && !c.hbDue && !c.closeReq {
		c.writing = false
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	go c.drain() // queued meanwhile, or Close was called
}

// drain is the connection's writer: it takes everything queued, writes it
// in one call, and repeats until the queue is empty, then exits (or runs
// the close handshake if Close was called). It first finishes a fast-path
// write that went out in part.
func (c *wsConn) drain() {
	fb := getBuilder()
	defer putBuilder(fb)
	if p := c.pending; p != nil {
		c.pending = nil
		c.nc.SetWriteDeadline(time.Now().Add(c.h.cfg.WriteTimeout))
		_, err := c.nc.Write(p)
		c.nc.SetWriteDeadline(time.Time{}) // the fast path's raw writes must not see it
		c.wmu.Unlock()
		if err != nil {
			c.mu.Lock()
			c.broken = true
			c.mu.Unlock()
			c.h.cfg.Log.Debug().Err(err).Str("remote", c.remote).Msg("websocket write failed")
			c.ws.CloseNow()
			return
		}
		c.wrote.Store(true)
	}
	for {
		c.mu.Lock()
		units := c.queue
		c.queue, c.spare = c.spare[:0], nil
		hb := c.hbDue
		c.hbDue = false
		if len(units) == 0 && !hb {
			c.spare = units
			if c.closeReq && !c.broken {
				c.broken = true // the writer is done for good
				code, reason := c.closeCode, c.closeReason
				c.mu.Unlock()
				c.closeHandshake(fb, code, reason)
				return
			}
			c.writing = false
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()

		fb.reset()
		c.build(fb, units)
		err := c.flush(fb)
		clear(units)
		c.mu.Lock()
		c.spare = units[:0]
		if err != nil {
			c.broken = true // writing stays true: no writer starts again
		}
		c.mu.Unlock()
		if err != nil {
			c.h.cfg.Log.Debug().Err(err).Str("remote", c.remote).Msg("websocket write failed")
			c.ws.CloseNow()
			return
		}
		c.wrote.Store(true)
	}
}

// build lays out units: SockJS batches them into one a[...] message (or
// an h frame when none is queued); raw WebSocket gives each its own. On a
// permessage-deflate connection each shared STOMP snapshot is a message of
// its own, compressed: the head as a stored block, then the snapshot's
// compressed tail, shared by every connection.
func (c *wsConn) build(fb *frameBuilder, units []actors.Outgoing) {
	f := actors.Framing(c.framing.Load())
	if c.sockjs {
		if len(units) == 0 {
			fb.begin(c.hixie)
			fb.lit(sockjs.HeartbeatFrame)
			fb.end()
			return
		}
		open := false // an uncompressed a[...] message is being laid out
		for i := range units {
			u := &units[i]
			if z := c.deflated(u, f); z != nil {
				if open {
					fb.lit(sockjs.ArrayEnd)
					fb.end()
					open = false
				}
				fb.beginDeflate()
				fb.stored(sockjs.ArrayStart+sockjs.MessageStart, u.Head, true)
				fb.ext(z)
				fb.end()
				continue
			}
			if open {
				fb.lit(sockjs.MessageSep)
			} else {
				fb.begin(c.hixie)
				fb.lit(sockjs.ArrayStart)
				open = true
			}
			fb.lit(sockjs.MessageStart)
			fb.escaped(u.Head)
			if sh := u.Shared; sh != nil {
				if f == actors.FramingJSON {
					fb.escaped(sh.JSON)
				} else {
					fb.ext(framingsOf(sh).sockJSTail(sh))
				}
			}
			fb.lit(sockjs.MessageEnd)
		}
		if open {
			fb.lit(sockjs.ArrayEnd)
			fb.end()
		}
		return
	}
	for i := range units {
		u := &units[i]
		if z := c.deflated(u, f); z != nil {
			fb.beginDeflate()
			fb.stored("", u.Head, false)
			fb.ext(z)
			fb.end()
			continue
		}
		fb.begin(c.hixie)
		fb.ext(u.Head)
		if sh := u.Shared; sh != nil {
			if f == actors.FramingJSON {
				fb.ext(sh.JSON)
			} else {
				fb.ext(sh.STOMPTail)
			}
		}
		fb.end()
	}
}

// deflated is the compressed tail of u when it goes out as a compressed
// message: a STOMP snapshot on a connection that negotiated
// permessage-deflate, whose tail compressed (once per snapshot, for every
// connection: framingsOf). Nil otherwise: u goes out uncompressed.
func (c *wsConn) deflated(u *actors.Outgoing, f actors.Framing) []byte {
	sh := u.Shared
	if !c.deflate || f != actors.FramingSTOMP || sh == nil {
		return nil
	}
	if c.sockjs {
		return framingsOf(sh).sockJSDeflate(sh)
	}
	return framingsOf(sh).stompDeflate(sh)
}

// flush writes what fb holds in one call, with the write timeout (then
// cleared: the fast path's raw writes would fail on an expired one).
func (c *wsConn) flush(fb *frameBuilder) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.nc.SetWriteDeadline(time.Now().Add(c.h.cfg.WriteTimeout))
	defer c.nc.SetWriteDeadline(time.Time{})
	if c.writev {
		bufs := fb.buffers()
		_, err := bufs.WriteTo(c.nc)
		return err
	}
	b := getBuf()
	defer putBuf(b)
	*b = fb.flat((*b)[:0])
	_, err := c.nc.Write(*b)
	return err
}

// closeHandshake ends the connection after the queue: SockJS first gets
// the c[code,"reason"] frame.
func (c *wsConn) closeHandshake(fb *frameBuilder, code int, reason string) {
	if c.sockjs {
		fb.reset()
		fb.begin(c.hixie)
		fb.lit(string(sockjs.AppendClose(nil, code, reason)))
		fb.end()
		if err := c.flush(fb); err != nil {
			c.ws.CloseNow()
			return
		}
	}
	c.ws.Close(wsCloseCode(code), truncateReason(reason))
}

// messageConn is the reading and closing side of a WebSocket; data frames
// are written by wsConn itself.
type messageConn interface {
	// Read returns the next data message.
	Read() ([]byte, error)
	// Close runs the close handshake.
	Close(code websocket.StatusCode, reason string) error
	// CloseNow drops the connection.
	CloseNow() error
}

// coderConn is an RFC 6455 connection accepted by coder/websocket.
type coderConn struct{ *websocket.Conn }

func (c coderConn) Read() ([]byte, error) {
	_, data, err := c.Conn.Read(context.Background())
	return data, err
}

// wsCloseCode maps code to one a WebSocket close frame may carry
// (RFC 6455 section 7.4), or 1000.
func wsCloseCode(code int) websocket.StatusCode {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014, code >= 3000 && code <= 4999:
		return websocket.StatusCode(code)
	}
	return websocket.StatusNormalClosure
}

// truncateReason cuts reason to the 123 bytes a close frame holds, on a
// rune boundary.
func truncateReason(reason string) string {
	if len(reason) <= 123 {
		return reason
	}
	r := reason[:123]
	for len(r) > 0 && !utf8.ValidString(r) {
		r = r[:len(r)-1]
	}
	return r
}
