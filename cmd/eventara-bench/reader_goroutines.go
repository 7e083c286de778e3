package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// goroutineLoop gives each subscriber's connection a goroutine of its own
// that reads it: the reader where there is no epoll (reader_other.go). It
// is simpler and costs the load tool more per message (a netpoll wake-up
// and a park per read), which shows in its own CPU figure and, on shared
// cores, in the server's latencies: compare figures only between runs on
// the same platform.
type goroutineLoop struct {
	r    *reader
	done chan struct{} // closed when run's stop is
	wg   sync.WaitGroup

	mu   sync.Mutex
	subs map[*subscriber]struct{} // nil once stopped
}

func newGoroutineReader(st *fanoutStats, measuring *atomic.Bool) *reader {
	r := &reader{st: st, measuring: measuring}
	r.loop = &goroutineLoop{r: r, done: make(chan struct{}), subs: make(map[*subscriber]struct{})}
	return r
}

func (l *goroutineLoop) add(conn net.Conn, sub *subscriber) error {
	// Bytes read with the handshake may already hold whole frames.
	if err := l.r.consume(sub, time.Now()); err != nil {
		conn.Close()
		return err
	}
	l.mu.Lock()
	if l.subs == nil {
		l.mu.Unlock()
		conn.Close()
		return errors.New("stopped")
	}
	sub.nc = conn
	l.subs[sub] = struct{}{}
	l.wg.Add(1)
	l.mu.Unlock()
	go l.read(sub)
	return nil
}

// read is sub's goroutine: it reads until the connection fails or the
// reader stops.
func (l *goroutineLoop) read(sub *subscriber) {
	defer l.wg.Done()
	rb := make([]byte, 16<<10)
	for {
		m, err := sub.nc.Read(rb)
		if m > 0 {
			if herr := l.r.handle(sub, rb[:m], time.Now()); herr != nil {
				l.failUnlessStopped(herr)
				sub.nc.Close()
				return
			}
		}
		if errors.Is(err, io.EOF) {
			err = errors.New("connection closed by the server")
		}
		if err != nil {
			l.failUnlessStopped(fmt.Errorf("read: %w", err))
			return
		}
	}
}

func (l *goroutineLoop) failUnlessStopped(err error) {
	select {
	case <-l.done:
	default:
		l.r.st.fail(err)
	}
}

// run waits for stop, then closes every connection and waits for their
// goroutines.
func (l *goroutineLoop) run(stop <-chan struct{}) {
	<-stop
	close(l.done)
	l.mu.Lock()
	for sub := range l.subs {
		sub.nc.Close()
	}
	l.subs = nil
	l.mu.Unlock()
	l.wg.Wait()
}
