package sockjs

import (
	"unicode/utf8"

	"github.com/coder/websocket"

	"github.com/eventara/eventara/protocol/sockjs"
)

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

// closeHandshake ends the connection after the queue: SockJS first gets
// the c[code,"reason"] frame.
func (c *wsConn) closeHandshake(fb *frameBuilder, code int, reason string) {
	if c.sockjs {
		fb.reset()
		fb.begin(c.hixie)
		fb.lit(string(sockjs.AppendClose(nil, code, reason)))
		fb.end()
		if err := c.wire.flush(fb); err != nil {
			c.ws.CloseNow()
			return
		}
	}
	c.ws.Close(wsCloseCode(code), truncateReason(reason))
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
