package sockjs

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/eventara/eventara/actors"
	"github.com/eventara/eventara/internal/testutil"
)

// TestWebSocketFastPathWritesInline: with no writer running, Send writes
// the unit itself (no writer goroutine is left behind), and the client
// gets it.
func TestWebSocketFastPathWritesInline(t *testing.T) {
	t.Parallel()
	ts := newTestSessions(false)
	s := newServer(t, Config{}, ts)
	ws := dialWS(t, s.URL+"/ws")
	conn := testutil.Recv(t, ts.opened, testutil.Patience, "a session to open").(*wsConn)
	if conn.inline == nil {
		if forcePortableWire {
			t.Skip("the portable wire has no fast path")
		}
		t.Fatal("no inline wire: the fast path is off")
	}
	for i := range 50 {
		if !conn.Send(actors.Outgoing{Head: []byte(fmt.Sprintf("m%d", i))}) {
			t.Fatal("Send refused")
		}
		conn.mu.Lock()
		writing := conn.writing
		conn.mu.Unlock()
		if writing {
			t.Fatalf("send %d: a writer still runs after Send returned", i)
		}
		wantEq(t, "message", readWS(t, ws), fmt.Sprintf("m%d", i))
	}
}

// TestWebSocketFastPathPartialWrite: a frame larger than the socket takes
// goes out in part on the fast path; drain finishes it before any other
// frame, and control frames (pongs to the client's pings) never land
// inside it.
func TestWebSocketFastPathPartialWrite(t *testing.T) {
	t.Parallel()
	ts := newTestSessions(false)
	s := newServer(t, Config{QueueLength: 1024}, ts)
	ws := dialWS(t, s.URL+"/ws")
	ws.SetReadLimit(8 << 20)
	conn := testutil.Recv(t, ts.opened, testutil.Patience, "a session to open")
	tails := []*actors.Shared{
		{STOMPTail: bytes.Repeat([]byte("x"), 1<<20)},
		{STOMPTail: bytes.Repeat([]byte("y"), 100)},
	}
	const n = 6
	for i := range n {
		if !conn.Send(actors.Outgoing{Head: []byte(fmt.Sprintf("m%d:", i)), Shared: tails[i%2]}) {
			t.Fatal("Send refused")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Patience)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		for i := range n {
			_, b, err := ws.Read(ctx)
			if err != nil {
				done <- err
				return
			}
			want := fmt.Sprintf("m%d:", i) + string(tails[i%2].STOMPTail)
			if string(b) != want {
				done <- fmt.Errorf("message %d corrupted (len %d, want %d)", i, len(b), len(want))
				return
			}
		}
		done <- nil
		for {
			if _, _, err := ws.Read(ctx); err != nil {
				return
			}
		}
	}()
	pinged := make(chan error, 1)
	go func() {
		for range 10 {
			if err := ws.Ping(ctx); err != nil {
				pinged <- err
				return
			}
		}
		pinged <- nil
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := <-pinged; err != nil {
		t.Fatalf("ping: %v", err)
	}
}

// TestWebSocketFastPathAfterDeadline: a write deadline set by an earlier
// drain write (SockJS's o frame here) must not fail later fast-path writes
// once it has passed.
func TestWebSocketFastPathAfterDeadline(t *testing.T) {
	t.Parallel()
	ts := newTestSessions(false)
	const writeTimeout = 250 * time.Millisecond
	s := newServer(t, Config{WriteTimeout: writeTimeout}, ts)
	ws := dialWS(t, newSessionURL(s.URL)+"/websocket")
	wantEq(t, "open", readWS(t, ws), "o")
	opened := time.Now()
	conn := testutil.Recv(t, ts.opened, testutil.Patience, "a session to open")
	// The o frame's write set its deadline before the client read it, so
	// the deadline is past once writeTimeout has gone by since. Waiting
	// for it is the behaviour under test, not a guess at how soon
	// something happens.
	time.Sleep(time.Until(opened.Add(writeTimeout + 10*time.Millisecond)))
	if !conn.Send(actors.Outgoing{Head: []byte("late")}) {
		t.Fatal("Send refused")
	}
	wantEq(t, "message", readWS(t, ws), `a["late"]`)
}
