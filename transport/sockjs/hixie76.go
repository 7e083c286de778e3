package sockjs

import (
	"bufio"
	"crypto/md5"
	"encoding/binary"
	"io"
	"net/http"
	"strings"

	"github.com/coder/websocket"
)

// The pre-RFC 6455 handshake, draft Hixie-76, is still part of the SockJS
// protocol suite (Websocket.test_haproxy): the response headers go out
// before the client's 8-byte key3 is read, as HAProxy needs, and messages
// are framed 0x00 text 0xFF.

// hixieKey decodes Sec-WebSocket-Key1/2: the digits as a number divided by
// the number of spaces.
func hixieKey(k string) (uint32, bool) {
	var n uint64
	spaces := 0
	digits := 0
	for _, c := range k {
		switch {
		case c >= '0' && c <= '9':
			n = n*10 + uint64(c-'0')
			digits++
			if digits > 20 {
				return 0, false
			}
		case c == ' ':
			spaces++
		}
	}
	if spaces == 0 || n%uint64(spaces) != 0 || n/uint64(spaces) > 0xffffffff {
		return 0, false
	}
	return uint32(n / uint64(spaces)), true
}

func (h *Handler) serveHixie76(w http.ResponseWriter, r *http.Request, sockjsFraming bool) {
	k1, ok1 := hixieKey(r.Header.Get("Sec-WebSocket-Key1"))
	k2, ok2 := hixieKey(r.Header.Get("Sec-WebSocket-Key2"))
	if !ok1 || !ok2 {
		http.Error(w, "Invalid WebSocket keys.", http.StatusBadRequest)
		return
	}
	nc, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, "Cannot upgrade.", http.StatusInternalServerError)
		return
	}
	scheme := "ws"
	if r.TLS != nil {
		scheme = "wss"
	}
	var b strings.Builder
	b.WriteString("HTTP/1.1 101 WebSocket Protocol Handshake\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n")
	b.WriteString("Sec-WebSocket-Origin: " + sanitizeHeader(r.Header.Get("Origin")) + "\r\n")
	b.WriteString("Sec-WebSocket-Location: " + scheme + "://" + sanitizeHeader(r.Host) + sanitizeHeader(r.URL.RequestURI()) + "\r\n\r\n")
	if _, err := io.WriteString(nc, b.String()); err != nil {
		nc.Close()
		return
	}
	var key [16]byte
	binary.BigEndian.PutUint32(key[0:], k1)
	binary.BigEndian.PutUint32(key[4:], k2)
	if _, err := io.ReadFull(brw.Reader, key[8:]); err != nil {
		nc.Close()
		return
	}
	sum := md5.Sum(key[:])
	if _, err := nc.Write(sum[:]); err != nil {
		nc.Close()
		return
	}
	hc := &hixieConn{nc: nc, br: brw.Reader, limit: h.cfg.MaxMessageSize}
	c := &wsConn{h: h, ws: hc, wire: plainWire{nc: nc, timeout: h.cfg.WriteTimeout}, hixie: true, sockjs: sockjsFraming, remote: r.RemoteAddr, cred: requestToken(r)}
	h.runWebSocket(r, c, nc)
}

func sanitizeHeader(s string) string {
	return strings.NewReplacer("\r", "", "\n", "").Replace(s)
}

// hixieConn reads Hixie-76 frames.
type hixieConn struct {
	nc interface {
		io.Writer
		Close() error
	}
	br    *bufio.Reader
	limit int
}

func (c *hixieConn) Read() ([]byte, error) {
	t, err := c.br.ReadByte()
	if err != nil {
		return nil, err
	}
	switch t {
	case 0x00:
		var msg []byte
		for {
			b, err := c.br.ReadByte()
			if err != nil {
				return nil, err
			}
			if b == 0xff {
				return msg, nil
			}
			if len(msg) >= c.limit {
				return nil, errHixieFrame
			}
			msg = append(msg, b)
		}
	case 0xff:
		// The closing handshake: 0xFF 0x00.
		return nil, io.EOF
	}
	return nil, errHixieFrame
}

func (c *hixieConn) Close(websocket.StatusCode, string) error {
	c.nc.Write([]byte{0xff, 0x00})
	return c.nc.Close()
}

func (c *hixieConn) CloseNow() error { return c.nc.Close() }
