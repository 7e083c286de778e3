package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eventara/eventara/internal/testutil"
)

// readLoopKind is a way to build a reader; readLoopKinds lists every one
// this platform has (reader_linux_test.go adds epoll).
type readLoopKind struct {
	name string
	new  func(*fanoutStats, *atomic.Bool) (*reader, error)
}

var readLoopKinds = []readLoopKind{
	{"goroutines", func(st *fanoutStats, m *atomic.Bool) (*reader, error) { return newGoroutineReader(st, m), nil }},
}

// TestReaderLoops runs each read loop over loopback TCP: it counts the
// frames read with the handshake and those written later (split across
// writes), reports a server's close as an error, and closes every
// connection when stopped.
func TestReaderLoops(t *testing.T) {
	msg := func(ts int) []byte {
		return frame(true, 1, false, []byte(fmt.Sprintf("MESSAGE\nsubscription:sub-0\nmessage-id:%d\ntimestamp:%d\n\n{}\x00", ts, ts)))
	}
	for _, k := range readLoopKinds {
		t.Run(k.name, func(t *testing.T) {
			st := &fanoutStats{}
			var measuring atomic.Bool
			measuring.Store(true)
			r, err := k.new(st, &measuring)
			if err != nil {
				t.Fatal(err)
			}
			stop, stopped := make(chan struct{}), make(chan struct{})
			go func() {
				r.run(stop)
				close(stopped)
			}()
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			const n = 8
			var servers []net.Conn
			for range n {
				c, err := net.Dial("tcp", ln.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				s, err := ln.Accept()
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				servers = append(servers, s)
				if err := r.add(c, &subscriber{buf: msg(1000)}); err != nil {
					t.Fatal(err)
				}
			}
			for _, s := range servers {
				b := append(msg(2000), msg(3000)...)
				b = append(b, msg(4000)...)
				for _, part := range [][]byte{b[:7], b[7:100], b[100:]} {
					if _, err := s.Write(part); err != nil {
						t.Fatal(err)
					}
					time.Sleep(time.Millisecond)
				}
			}
			testutil.Eventually(t, "every message read", func() bool { return st.messages.Load() == 4*n })
			if st.errors.Load() != 0 || st.gaps.Load() != 0 {
				t.Fatalf("errors %d (%v), gaps %d", st.errors.Load(), st.firstErr.Load(), st.gaps.Load())
			}

			servers[0].Close()
			testutil.Eventually(t, "the server's close counted", func() bool { return st.errors.Load() == 1 })
			if e, _ := st.firstErr.Load().(string); !strings.Contains(e, "closed by the server") {
				t.Fatalf("error %q, want the server's close", e)
			}

			close(stop)
			select {
			case <-stopped:
			case <-time.After(5 * time.Second):
				t.Fatal("run did not return after stop")
			}
			for i, s := range servers[1:] {
				s.SetReadDeadline(time.Now().Add(5 * time.Second))
				if _, err := s.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
					t.Fatalf("connection %d after stop: %v, want EOF", i+1, err)
				}
			}
			if st.errors.Load() != 1 {
				t.Fatalf("%d errors after stop, want 1: closing is not an error", st.errors.Load())
			}
		})
	}
}
