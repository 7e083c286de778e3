//go:build !linux

package sockjs

import (
	"bufio"
	"net"
	"time"
)

// hijackWire returns no wire on builds other than Linux: every RFC 6455
// connection writes with coder/websocket's own writer (coderWire), and
// coder/websocket keeps the buffered writer net/http handed over.
func hijackWire(net.Conn, *bufio.Writer, time.Duration) (wire, inlineWire) { return nil, nil }
