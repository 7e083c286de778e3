package sockjs

import (
	"context"
	"time"

	"github.com/coder/websocket"
)

// coderWire writes each message with coder/websocket's own writer: one
// Conn.Write, so one frame, per message. It is the portable wire, used
// where socketWire is not built (wire_other.go) and, in tests, on Linux too
// (forcePortableWire).
//
// Locking rule: none of ours. coder/websocket serializes its writes, data
// and control frames alike, under its own locks; the only caller of flush
// is the connection's writer role.
//
// It never sends a compressed message. permessage-deflate is still
// negotiated (clients may compress what they send; coder/websocket
// inflates it), but a shared compressed tail cannot go through coder's
// writer, and letting coder compress would compress every snapshot once
// per connection instead of once per tick; so the connection's deflate
// stays off and coder's compression threshold is out of reach
// (serveWebSocket). Clients get snapshots uncompressed, as RFC 7692 allows.
type coderWire struct {
	ws      *websocket.Conn
	timeout time.Duration
}

func (w coderWire) flush(fb *frameBuilder) error {
	if fb == nil || fb.messages() == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), w.timeout)
	defer cancel()
	b := getBuf()
	defer putBuf(b)
	for i := range fb.messages() {
		if fb.compressed(i) {
			return errCompressedOnCoderWire
		}
		*b = fb.appendPayload((*b)[:0], i)
		if err := w.ws.Write(ctx, websocket.MessageText, *b); err != nil {
			return err
		}
	}
	return nil
}
