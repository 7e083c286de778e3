package sockjs

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
)

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
