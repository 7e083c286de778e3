package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// reader reads many subscribers' sockets from one epoll loop.
//
// The load tool shares the server's cores, so every microsecond it spends
// per message is taken from the server and shows up in the latencies it
// reports. A goroutine per subscriber costs a netpoll wake-up, a park and a
// read that finds nothing for each message; one epoll_wait here returns
// hundreds of ready sockets and each is read once (level-triggered: what
// is left is reported again).
type reader struct {
	epfd      int
	st        *fanoutStats
	measuring *atomic.Bool

	mu   sync.Mutex
	subs map[int32]*subscriber // by fd
}

// subscriber is one subscriber's connection as the reader sees it.
type subscriber struct {
	fd         int
	sockjs     bool // SockJS websocket transport: a[...] frames
	deflated   bool // permessage-deflate was negotiated
	verify     bool // inflate every compressed message in full and check it
	subscribed bool // a first MESSAGE arrived
	lastTS     int64
	buf        []byte // bytes read but not yet a whole frame
	frag       []byte // a fragmented message's data so far
	fragComp   bool   // the fragmented message is compressed
}

func newReader(st *fanoutStats, measuring *atomic.Bool) (*reader, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll: %w", err)
	}
	return &reader{epfd: epfd, st: st, measuring: measuring, subs: make(map[int32]*subscriber)}, nil
}

// add takes over conn's socket for sub: it keeps a duplicate of the file
// descriptor (still non-blocking) and closes conn, which takes the socket
// out of Go's netpoller without closing the connection.
func (r *reader) add(conn net.Conn, sub *subscriber) error {
	tc, ok := conn.(*net.TCPConn)
	if !ok {
		return errors.New("not a TCP connection")
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return err
	}
	var derr error
	if err := raw.Control(func(fd uintptr) { sub.fd, derr = syscall.Dup(int(fd)) }); err != nil {
		return err
	}
	if derr != nil {
		return fmt.Errorf("dup: %w", derr)
	}
	syscall.CloseOnExec(sub.fd)
	_ = conn.Close()
	r.mu.Lock()
	if r.subs == nil { // stopped
		r.mu.Unlock()
		_ = syscall.Close(sub.fd)
		return errors.New("stopped")
	}
	r.subs[int32(sub.fd)] = sub
	r.mu.Unlock()
	// Bytes read with the handshake may already hold whole frames.
	if err := r.consume(sub, time.Now()); err != nil {
		r.drop(sub)
		return err
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: int32(sub.fd)}
	if err := syscall.EpollCtl(r.epfd, syscall.EPOLL_CTL_ADD, sub.fd, &ev); err != nil {
		r.drop(sub)
		return fmt.Errorf("epoll add: %w", err)
	}
	return nil
}

func (r *reader) drop(sub *subscriber) {
	r.mu.Lock()
	delete(r.subs, int32(sub.fd))
	r.mu.Unlock()
	_ = syscall.Close(sub.fd) // also takes it out of the epoll set
}

// run reads until stop is closed, then closes every socket it holds.
func (r *reader) run(stop <-chan struct{}) {
	defer func() {
		r.mu.Lock()
		for fd := range r.subs {
			_ = syscall.Close(int(fd))
		}
		r.subs = nil
		r.mu.Unlock()
		_ = syscall.Close(r.epfd)
	}()
	events := make([]syscall.EpollEvent, 512)
	rb := make([]byte, 64<<10)
	for {
		select {
		case <-stop:
			return
		default:
		}
		n, err := syscall.EpollWait(r.epfd, events, 100)
		if err != nil {
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			r.st.fail(fmt.Errorf("epoll_wait: %w", err))
			return
		}
		now := time.Now()
		for _, ev := range events[:n] {
			r.mu.Lock()
			sub := r.subs[ev.Fd]
			r.mu.Unlock()
			if sub == nil {
				continue
			}
			if err := r.readOnce(sub, rb, now); err != nil {
				select {
				case <-stop:
				default:
					r.st.fail(err)
				}
				r.drop(sub)
			}
		}
	}
}

// readOnce reads what sub's socket has and handles every whole frame.
func (r *reader) readOnce(sub *subscriber, rb []byte, now time.Time) error {
	m, err := syscall.Read(sub.fd, rb)
	switch {
	case errors.Is(err, syscall.EAGAIN):
		return nil
	case err != nil:
		return fmt.Errorf("read: %w", err)
	case m == 0:
		return errors.New("read: connection closed by the server")
	}
	if len(sub.buf) == 0 {
		// The common case: whole frames, handled in place; only a
		// partial frame's bytes are kept.
		rest, err := r.frames(sub, rb[:m], now)
		sub.buf = append(sub.buf[:0], rest...)
		return err
	}
	sub.buf = append(sub.buf, rb[:m]...)
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
