package sockjs

import (
	"context"
	"runtime/debug"
	"time"

	"github.com/coder/websocket"

	"github.com/eventara/eventara/protocol/sockjs"
)

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
		err := c.wire.flush(fb)
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
