package sockjs

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eventara/eventara/actors"
	"github.com/eventara/eventara/internal/testutil"
)

// TestRawWebSocketPingDuringLargeWrites guards the invariant that data
// frames written straight to the net.Conn never interleave with the
// control frames coder/websocket writes (pongs here).
func TestRawWebSocketPingDuringLargeWrites(t *testing.T) {
	t.Parallel()
	ts := newTestSessions(false)
	s := newServer(t, Config{QueueLength: 8}, ts)
	ws := dialWS(t, s.URL+"/ws")
	ws.SetReadLimit(1 << 20)
	conn := testutil.Recv(t, ts.opened, testutil.Patience, "a session to open")

	const n = 100
	tails := make([]*actors.Shared, 26)
	for i := range tails {
		tails[i] = &actors.Shared{STOMPTail: bytes.Repeat([]byte{byte('a' + i)}, 64<<10)}
	}
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Patience)
	defer cancel()

	readErr := make(chan error, 1)
	go func() {
		for i := range n {
			_, b, err := ws.Read(ctx)
			if err != nil {
				readErr <- err
				return
			}
			head := fmt.Sprintf("m%d\n", i)
			want := head + string(tails[i%26].STOMPTail)
			if string(b) != want {
				readErr <- fmt.Errorf("message %d corrupted (len %d, want %d)", i, len(b), len(want))
				return
			}
		}
		readErr <- nil
		// Keep reading so that pongs are still received.
		for {
			if _, _, err := ws.Read(ctx); err != nil {
				return
			}
		}
	}()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < n; {
			if conn.Send(actors.Outgoing{Head: []byte(fmt.Sprintf("m%d\n", i)), Shared: tails[i%26]}) {
				i++
				continue
			}
			time.Sleep(time.Millisecond) // queue full: let the writer drain
		}
	}()
	for range 30 {
		if err := ws.Ping(ctx); err != nil {
			t.Fatalf("ping: %v", err)
		}
	}
	wg.Wait()
	if err := <-readErr; err != nil {
		t.Fatal(err)
	}
	cancel()
}

// TestWebSocketWriterGoroutineExits checks that the writer goroutine is
// started on demand and gone once the queue is empty.
func TestWebSocketWriterGoroutineExits(t *testing.T) {
	t.Parallel()
	ts := newTestSessions(false)
	s := newServer(t, Config{}, ts)
	ws := dialWS(t, s.URL+"/ws")
	conn := testutil.Recv(t, ts.opened, testutil.Patience, "a session to open").(*wsConn)
	for i := range 10 {
		conn.Send(actors.Outgoing{Head: []byte{byte('0' + i)}})
	}
	for i := range 10 {
		wantEq(t, "message", readWS(t, ws), string(rune('0'+i)))
	}
	testutil.WaitFor(t, testutil.Patience, "the writer goroutine to exit", func() error {
		conn.mu.Lock()
		defer conn.mu.Unlock()
		if conn.writing {
			return errors.New("writer still running with an empty queue")
		}
		return nil
	})
}

// TestHixie76 runs the draft-76 handshake of the protocol suite's
// Websocket.test_haproxy (headers before key3), then a SockJS echo.
func TestHixie76(t *testing.T) {
	t.Parallel()
	s := newServer(t, Config{}, newTestSessions(true))
	addr := strings.TrimPrefix(s.URL, "http://")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(testutil.Patience))
	fmt.Fprintf(c, "GET /ws/000/hixie/websocket HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade\r\nUpgrade: WebSocket\r\n"+
		"Origin: http://%s\r\nSec-WebSocket-Key1: 4 @1  46546xW%%0l 1 5\r\nSec-WebSocket-Key2: 12998 5 Y3 1  .P00\r\n\r\n", addr, addr)
	br := bufio.NewReader(c)
	var head strings.Builder
	for !strings.HasSuffix(head.String(), "\r\n\r\n") {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		head.WriteString(line)
	}
	h := head.String()
	if !strings.HasPrefix(h, "HTTP/1.1 101 ") || !strings.Contains(h, "Sec-WebSocket-Location: ws://"+addr+"/ws/000/hixie/websocket\r\n") ||
		!strings.Contains(h, "Sec-WebSocket-Origin: http://"+addr+"\r\n") {
		t.Fatalf("handshake response:\n%s", h)
	}
	io.WriteString(c, "aaaaaaaa")
	got := make([]byte, 16+3)
	if _, err := io.ReadFull(br, got); err != nil {
		t.Fatal(err)
	}
	wantEq(t, "challenge", string(got[:16]), "\xca4\x00\xd8\xa5\x08G\x97,\xd5qZ\xba\xbfC{")
	wantEq(t, "open frame", string(got[16:]), "\x00o\xff")
	io.WriteString(c, "\x00[\"a\"]\xff")
	echo := make([]byte, len("\x00a[\"a\"]\xff"))
	if _, err := io.ReadFull(br, echo); err != nil {
		t.Fatal(err)
	}
	wantEq(t, "echo", string(echo), "\x00a[\"a\"]\xff")
}
