package sockjs

import (
	"net"
	"time"
)

// A wire puts the data messages a frameBuilder laid out onto one
// WebSocket connection. The wsConn decides what goes out and when (the
// bounded queue, the writer role: write.go); its wire only how:
//
//   - socketWire (wire_linux.go): frames go straight to the hijacked
//     socket, a batch in one writev, and Send may write from its caller
//     with one non-blocking writev (inlineWire); coder/websocket writes only
//     control frames, through the wire's lock. Snapshots to clients that
//     negotiated permessage-deflate go compressed, the compressed tail
//     shared by every connection.
//   - coderWire (wire_coder.go): coder/websocket's own writer, one
//     Conn.Write per message, on every platform. It sends every message
//     uncompressed (see there why).
//   - plainWire (below): Hixie-76 connections, which have no control
//     frames: blocking writes to the socket.
//
// Builds for Linux use socketWire; others coderWire (wire_other.go). The
// package's tests run on Linux a second time with coderWire forced
// (TestPortableWire), so both paths are tested wherever Linux CI runs.
//
// Only the goroutine holding the connection's writer role (wsConn.writing)
// calls a wire, so a wire sees one data writer at a time; what else writes
// to the socket (coder/websocket's control frames) is the wire's business,
// and each wire states its locking rule next to its code.
type wire interface {
	// flush writes what an earlier tryWrite left, then fb's messages (fb
	// may be nil), waiting at most Config.WriteTimeout.
	flush(fb *frameBuilder) error
}

// inlineWire is a wire that can also write without ever blocking, so Send
// may write from its caller's goroutine when no writer runs.
type inlineWire interface {
	wire
	// tryWrite writes fb's messages without blocking and reports whether
	// they all went out. What the socket did not take (all of it, when its
	// buffer was full) the wire keeps, and writes first on the next flush
	// or control frame: the caller must then start a writer that flushes.
	tryWrite(fb *frameBuilder) (bool, error)
}

// forcePortableWire makes every RFC 6455 connection use coderWire, the
// writer of builds other than Linux, on Linux too. Set only by this
// package's TestMain (EVENTARA_SOCKJS_WIRE=portable), before any
// connection exists.
var forcePortableWire bool

// plainWire writes hand-built frames to a connection nothing else writes
// to while it runs (Hixie-76: no control frames; its closing bytes are
// written after the last flush).
type plainWire struct {
	nc      net.Conn
	timeout time.Duration
}

func (w plainWire) flush(fb *frameBuilder) error {
	if fb == nil {
		return nil
	}
	w.nc.SetWriteDeadline(time.Now().Add(w.timeout))
	defer w.nc.SetWriteDeadline(time.Time{})
	bufs := fb.buffers()
	_, err := bufs.WriteTo(w.nc)
	return err
}
