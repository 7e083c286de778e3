package sockjs

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"time"
)

// hijackCapture passes a ResponseWriter to websocket.Accept and keeps
// what the hijack gave: the net.Conn, and the wire hijackWire made of it
// (nil where coder/websocket writes the data frames itself: coderWire).
//
// net/http hands over its connection's own 4 KB bufio.Reader and Writer,
// which coder/websocket keeps for the WebSocket's whole life. A small
// reader is swapped into the same struct, so its 4 KB array is freed:
// inbound traffic is small (STOMP commands, heart-beats), and larger
// payloads bypass a bufio.Reader's buffer anyway. On a socketWire
// connection the writer is swapped too (hijackWire): coder/websocket then
// writes only control frames through it. About 7.5 KB per connection in
// all.
type hijackCapture struct {
	http.ResponseWriter
	timeout time.Duration // Config.WriteTimeout, for the wire
	nc      net.Conn
	wire    wire
	inline  inlineWire
}

func (hc *hijackCapture) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(hc.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	hc.nc = nc
	shrinkReader(brw.Reader, nc)
	hc.wire, hc.inline = hijackWire(nc, brw.Writer, hc.timeout)
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
