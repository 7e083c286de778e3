package sockjs

import (
	"time"

	"github.com/eventara/eventara/actors"
	"github.com/eventara/eventara/protocol/sockjs"
)

// The writer role: at most one goroutine writes a connection's data
// frames, the one that set wsConn.writing (under mu) and has not cleared
// it: Send's caller on the fast path (writeNow), else a drain goroutine.
// It is the only caller of the connection's wire (wire.go), which orders
// those writes with the control frames its library writes.

// Send implements actors.ClientConn: it queues o and starts the writer
// goroutine if none runs. When no writer runs (so nothing is queued) and
// the wire can write without blocking, it writes o itself first: a tick's
// delivery then costs no goroutine and no wake-up.
func (c *wsConn) Send(o actors.Outgoing) bool {
	c.mu.Lock()
	if c.closeReq || c.broken || len(c.queue) >= c.h.cfg.QueueLength {
		c.mu.Unlock()
		return false
	}
	if !c.writing && c.inline != nil {
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
// role: o goes out at once if the socket takes it without blocking. What
// it did not take (the wire keeps it), and anything queued meanwhile, is
// left to a drain goroutine.
func (c *wsConn) writeNow(o actors.Outgoing) {
	fb := getBuilder()
	c.build(fb, fb.units(o))
	done, err := c.inline.tryWrite(fb)
	putBuilder(fb)
	if err != nil {
		c.writeFailed(err)
		return
	}
	c.wrote.Store(true)
	if !done {
		go c.drain() // its first flush writes the rest
		return
	}
	c.mu.Lock()
	if len(c.queue) == 0 && !c.hbDue && !c.closeReq {
		c.writing = false
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	go c.drain() // queued meanwhile, or Close was called
}

// writeFailed ends a connection whose write failed; the writer role is
// kept, so no writer starts again.
func (c *wsConn) writeFailed(err error) {
	c.mu.Lock()
	c.broken = true
	c.mu.Unlock()
	c.h.cfg.Log.Debug().Err(err).Str("remote", c.remote).Msg("websocket write failed")
	c.ws.CloseNow()
}

// drain is the connection's writer: it takes everything queued, writes it
// in one call, and repeats until the queue is empty, then exits (or runs
// the close handshake if Close was called). It first finishes a fast-path
// write that went out in part.
func (c *wsConn) drain() {
	fb := getBuilder()
	defer putBuilder(fb)
	if err := c.wire.flush(nil); err != nil {
		c.writeFailed(err)
		return
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
		err := c.wire.flush(fb)
		clear(units)
		c.mu.Lock()
		c.spare = units[:0]
		c.mu.Unlock()
		if err != nil {
			c.writeFailed(err)
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
