//go:build linux

package sockjs

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"testing"
	"time"
)

// TestSocketWireFinishesPartialFrameFirst guards socketWire's locking
// rule: when the socket takes a data frame only in part, its rest goes out
// before anything written after it, a control frame (through ctlWriter)
// or the next data frames (flush), and the rest is a copy: the shared
// bytes it came from may change.
func TestSocketWireFinishesPartialFrameFirst(t *testing.T) {
	t.Parallel()
	pong := []byte{0x8A, 2, 'p', 'o'}
	for _, next := range []string{"control frame", "flush"} {
		t.Run(next, func(t *testing.T) {
			t.Parallel()
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			client, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer client.Close()
			nc, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			nc.(*net.TCPConn).SetWriteBuffer(4096)
			bw := bufio.NewWriter(io.Discard)
			w, inline := newSocketWire(nc, bw, 5*time.Second)
			if inline == nil {
				t.Fatal("no inline wire on a TCP connection")
			}

			shared := bytes.Repeat([]byte("d"), 1<<20)
			fb := getBuilder()
			fb.begin(false)
			fb.ext(shared)
			fb.end()
			done, err := inline.tryWrite(fb)
			putBuilder(fb)
			if err != nil || done {
				t.Fatalf("tryWrite of 1 MiB into a 4 KiB socket: done %v, err %v", done, err)
			}
			copy(shared, bytes.Repeat([]byte("X"), len(shared)))

			wrote := make(chan error, 1)
			want := []wsFrame{{0x81, bytes.Repeat([]byte("d"), 1<<20)}}
			if next == "control frame" {
				go func() { // coder/websocket's way: its buffered writer, then a flush
					_, err := bw.Write(pong)
					if err == nil {
						err = bw.Flush()
					}
					wrote <- err
				}()
				want = append(want, wsFrame{pong[0], pong[2:]})
			} else {
				go func() {
					fb := getBuilder()
					defer putBuilder(fb)
					fb.begin(false)
					fb.lit("next")
					fb.end()
					wrote <- w.flush(fb)
				}()
				want = append(want, wsFrame{0x81, []byte("next")})
			}
			got := make([]byte, 10+1<<20+len(want[1].payload)+2)
			client.SetReadDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.ReadFull(client, got); err != nil {
				t.Fatal(err)
			}
			if err := <-wrote; err != nil {
				t.Fatal(err)
			}
			fr := parseFrames(t, got)
			if len(fr) != len(want) {
				t.Fatalf("%d frames, want %d", len(fr), len(want))
			}
			for i := range fr {
				if fr[i].hdr != want[i].hdr || !bytes.Equal(fr[i].payload, want[i].payload) {
					t.Fatalf("frame %d: header %#x, %d bytes %.20q...; want %#x, %d bytes", i, fr[i].hdr, len(fr[i].payload), fr[i].payload, want[i].hdr, len(want[i].payload))
				}
			}
		})
	}
}
