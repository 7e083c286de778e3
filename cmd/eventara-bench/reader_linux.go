//go:build linux

package main

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// epollLoop reads many subscribers' sockets from one epoll loop.
//
// The load tool shares the server's cores, so every microsecond it spends
// per message is taken from the server and shows up in the latencies it
// reports. A goroutine per subscriber costs a netpoll wake-up, a park and a
// read that finds nothing for each message; one epoll_wait here returns
// hundreds of ready sockets and each is read once (level-triggered: what
// is left is reported again).
type epollLoop struct {
	r    *reader
	epfd int

	mu   sync.Mutex
	subs map[int32]*subscriber // by fd
}

// newReader on Linux reads with one epoll loop.
func newReader(st *fanoutStats, measuring *atomic.Bool) (*reader, error) {
	return newEpollReader(st, measuring)
}

func newEpollReader(st *fanoutStats, measuring *atomic.Bool) (*reader, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll: %w", err)
	}
	r := &reader{st: st, measuring: measuring}
	r.loop = &epollLoop{r: r, epfd: epfd, subs: make(map[int32]*subscriber)}
	return r, nil
}

// add takes over conn's socket for sub: it keeps a duplicate of the file
// descriptor (still non-blocking) and closes conn, which takes the socket
// out of Go's netpoller without closing the connection. conn is closed
// whatever happens; the duplicate, when the reader stops or drops sub.
func (l *epollLoop) add(conn net.Conn, sub *subscriber) error {
	defer conn.Close()
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
	l.mu.Lock()
	if l.subs == nil { // stopped
		l.mu.Unlock()
		_ = syscall.Close(sub.fd)
		return errors.New("stopped")
	}
	l.subs[int32(sub.fd)] = sub
	l.mu.Unlock()
	// Bytes read with the handshake may already hold whole frames.
	if err := l.r.consume(sub, time.Now()); err != nil {
		l.drop(sub)
		return err
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: int32(sub.fd)}
	if err := syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_ADD, sub.fd, &ev); err != nil {
		l.drop(sub)
		return fmt.Errorf("epoll add: %w", err)
	}
	return nil
}

func (l *epollLoop) drop(sub *subscriber) {
	l.mu.Lock()
	delete(l.subs, int32(sub.fd))
	l.mu.Unlock()
	_ = syscall.Close(sub.fd) // also takes it out of the epoll set
}

// run reads until stop is closed, then closes every socket it holds.
func (l *epollLoop) run(stop <-chan struct{}) {
	defer func() {
		l.mu.Lock()
		for fd := range l.subs {
			_ = syscall.Close(int(fd))
		}
		l.subs = nil
		l.mu.Unlock()
		_ = syscall.Close(l.epfd)
	}()
	events := make([]syscall.EpollEvent, 512)
	rb := make([]byte, 64<<10)
	for {
		select {
		case <-stop:
			return
		default:
		}
		n, err := syscall.EpollWait(l.epfd, events, 100)
		if err != nil {
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			l.r.st.fail(fmt.Errorf("epoll_wait: %w", err))
			return
		}
		now := time.Now()
		for _, ev := range events[:n] {
			l.mu.Lock()
			sub := l.subs[ev.Fd]
			l.mu.Unlock()
			if sub == nil {
				continue
			}
			if err := l.readOnce(sub, rb, now); err != nil {
				select {
				case <-stop:
				default:
					l.r.st.fail(err)
				}
				l.drop(sub)
			}
		}
	}
}

// readOnce reads what sub's socket has and handles every whole frame.
func (l *epollLoop) readOnce(sub *subscriber, rb []byte, now time.Time) error {
	m, err := syscall.Read(sub.fd, rb)
	switch {
	case errors.Is(err, syscall.EAGAIN):
		return nil
	case err != nil:
		return fmt.Errorf("read: %w", err)
	case m == 0:
		return errors.New("read: connection closed by the server")
	}
	return l.r.handle(sub, rb[:m], now)
}
