package sockjs

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/eventara/eventara/internal/testutil"
)

// TestWebSocketFrameBehindHandshake: frames a client sends in the same
// packet as its handshake (already buffered by net/http when the
// connection is hijacked) survive the switch to the small read buffer.
func TestWebSocketFrameBehindHandshake(t *testing.T) {
	t.Parallel()
	ts := newTestSessions(false)
	s := newServer(t, Config{}, ts)
	nc, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	frame := func(p string) string { // masked with a zero key
		return string([]byte{0x81, 0x80 | byte(len(p)), 0, 0, 0, 0}) + p
	}
	req := "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n" +
		frame("first") + frame("second")
	if _, err := nc.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
	if err != nil {
		t.Fatal(err)
	}
	wantEq(t, "status", resp.StatusCode, http.StatusSwitchingProtocols)
	wantEq(t, "first", string(testutil.Recv(t, ts.recv, testutil.Patience, "a message from the client")), "first")
	wantEq(t, "second", string(testutil.Recv(t, ts.recv, testutil.Patience, "a message from the client")), "second")
}
