package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"
)

// reader reads many subscribers' connections and counts what they
// receive. How it waits for them is its loop's business: on Linux one
// epoll loop serves hundreds of sockets (reader_linux.go); elsewhere each
// connection has a goroutine of its own (goroutineLoop). Both feed handle.
type reader struct {
	st        *fanoutStats
	measuring *atomic.Bool
	loop      readLoop
}

// readLoop waits for subscribers' connections to have bytes, reads them
// and hands them to the reader's handle.
type readLoop interface {
	// add starts reading conn for sub, which owns conn from then on (it
	// is closed when the loop stops, or at once if add fails).
	add(conn net.Conn, sub *subscriber) error
	// run returns once stop is closed and every connection is closed.
	run(stop <-chan struct{})
}

// add starts reading conn for sub; see readLoop.add.
func (r *reader) add(conn net.Conn, sub *subscriber) error { return r.loop.add(conn, sub) }

// run reads until stop is closed; see readLoop.run.
func (r *reader) run(stop <-chan struct{}) { r.loop.run(stop) }

// subscriber is one subscriber's connection as the reader sees it.
type subscriber struct {
	fd         int      // epollLoop: its duplicate of the socket
	nc         net.Conn // goroutineLoop: the connection
	sockjs     bool     // SockJS websocket transport: a[...] frames
	deflated   bool     // permessage-deflate was negotiated
	verify     bool     // inflate every compressed message in full and check it
	subscribed bool     // a first MESSAGE arrived
	lastTS     int64
	buf        []byte // bytes read but not yet a whole frame
	frag       []byte // a fragmented message's data so far
	fragComp   bool   // the fragmented message is compressed
}

// handle takes bytes just read from sub's connection at now and handles
// every whole frame.
func (r *reader) handle(sub *subscriber, p []byte, now time.Time) error {
	if len(sub.buf) == 0 {
		// The common case: whole frames, handled in place; only a
		// partial frame's bytes are kept.
		rest, err := r.frames(sub, p, now)
		sub.buf = append(sub.buf[:0], rest...)
		return err
	}
	sub.buf = append(sub.buf, p...)
	return r.consume(sub, now)
}

// consume handles the whole frames in sub.buf and keeps the rest.
func (r *reader) consume(sub *subscriber, now time.Time) error {
	rest, err := r.frames(sub, sub.buf, now)
	sub.buf = append(sub.buf[:0], rest...)
	return err
}

// frames handles each whole (unmasked, server) frame in b and returns the
// bytes of a frame not yet complete. Control frames are skipped but a
// close frame is an error; continuation frames are joined.
func (r *reader) frames(sub *subscriber, b []byte, now time.Time) ([]byte, error) {
	for {
		if len(b) < 2 {
			return b, nil
		}
		fin, rsv1, op := b[0]&0x80 != 0, b[0]&0x40 != 0, b[0]&0x0f
		n, hl := uint64(b[1]&0x7f), 2
		switch n {
		case 126:
			if len(b) < 4 {
				return b, nil
			}
			n, hl = uint64(binary.BigEndian.Uint16(b[2:4])), 4
		case 127:
			if len(b) < 10 {
				return b, nil
			}
			n, hl = binary.BigEndian.Uint64(b[2:10]), 10
		}
		if b[1]&0x80 != 0 {
			return nil, errors.New("masked frame from the server")
		}
		if n > 16<<20 {
			return nil, errors.New("frame too large")
		}
		if uint64(len(b)-hl) < n {
			return b, nil
		}
		payload := b[hl : hl+int(n)]
		b = b[hl+int(n):]
		switch {
		case op == 0x8:
			return nil, fmt.Errorf("close frame %q", payload)
		case op >= 0x8: // ping, pong: no reply needed for this tool
			continue
		case op == 0x0: // continuation
			sub.frag = append(sub.frag, payload...)
			if !fin {
				continue
			}
			msg := sub.frag
			sub.frag = sub.frag[:0]
			if err := sub.record(msg, sub.fragComp, now, r.st, r.measuring); err != nil {
				return nil, err
			}
		case !fin:
			sub.frag, sub.fragComp = append(sub.frag[:0], payload...), rsv1
		default:
			if err := sub.record(payload, rsv1, now, r.st, r.measuring); err != nil {
				return nil, err
			}
		}
	}
}
