package test

import (
	"context"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/eventara/eventara/internal/testutil"
)

// TestOpsSIGTERMUnderLoad: SIGTERM while events pour in and clients are
// connected: raw WebSocket clients get close 1001, SockJS clients
// c[3000,"Go away!"], the process exits 0 within 5 s, and after a restart
// every event that was answered 202 is there.
func TestOpsSIGTERMUnderLoad(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*testutil.Patience)
	defer cancel()

	// A raw WebSocket STOMP client and a SockJS websocket client.
	raw, _, err := websocket.Dial(ctx, "ws://"+s.addr+"/ws", &websocket.DialOptions{Subprotocols: []string{"v12.stomp"}})
	if err != nil {
		t.Fatal(err)
	}
	defer raw.CloseNow()
	if err := raw.Write(ctx, websocket.MessageText, []byte("CONNECT\naccept-version:1.2\nheart-beat:0,0\n\n\x00SUBSCRIBE\nid:0\ndestination:/topic/metrics\n\n\x00")); err != nil {
		t.Fatal(err)
	}
	sj, _, err := websocket.Dial(ctx, "ws://"+s.addr+"/ws/000/shutdown/websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sj.CloseNow()
	if _, open, err := sj.Read(ctx); err != nil || string(open) != "o" {
		t.Fatalf("SockJS open frame %q: %v", open, err)
	}
	rawClose := make(chan error, 1)
	go func() {
		for {
			if _, _, err := raw.Read(ctx); err != nil {
				rawClose <- err
				return
			}
		}
	}()
	sjLast := make(chan string, 1)
	go func() {
		last := ""
		for {
			_, b, err := sj.Read(ctx)
			if err != nil {
				sjLast <- last
				return
			}
			last = string(b)
		}
	}()

	load := startIngestLoad(t, s, loadShape{workers: 6, batchEvery: 5, batchSize: 10})
	load.waitAcked(t, 500)

	start := time.Now()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// The server bounds its own shutdown (--shutdown-timeout, 5 s): past
	// it, it exits non-zero, which the exit check below catches. This
	// wait only ends a server that hangs.
	select {
	case <-s.exited:
	case <-time.After(testutil.Patience):
		t.Fatalf("still running %s after SIGTERM\n%s", testutil.Patience, tail(s.logs.String(), 3000))
	}
	took := time.Since(start)
	acked := load.finish()
	if s.exitErr != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", s.exitErr, tail(s.logs.String(), 3000))
	}
	t.Logf("exited 0 %s after SIGTERM with %d events acknowledged", took.Round(time.Millisecond), len(acked))

	select {
	case err := <-rawClose:
		if code := websocket.CloseStatus(err); code != websocket.StatusGoingAway {
			t.Errorf("raw WebSocket closed with %v (%v), want 1001", code, err)
		}
	case <-ctx.Done():
		t.Fatal("raw WebSocket not closed")
	}
	select {
	case last := <-sjLast:
		if last != `c[3000,"Go away!"]` {
			t.Errorf("SockJS client's last frame %q, want c[3000,\"Go away!\"]", last)
		}
	case <-ctx.Done():
		t.Fatal("SockJS websocket not closed")
	}

	s.start()
	m := s.metrics(t)
	if got := path(m, "summary.totalEvents").(float64); int(got) < len(acked) {
		t.Fatalf("totalEvents = %v after restart, %d were acknowledged", got, len(acked))
	}
	for i, id := range acked {
		if i%7 != 0 && i != len(acked)-1 { // a sample, and the last one
			continue
		}
		if code, b := do(t, http.MethodGet, s.url("/api/v1/events/"+id), "", nil); code != 200 {
			t.Fatalf("acknowledged event %s after restart: %d %s", id, code, b)
		}
	}
	if strings.Contains(s.logs.String(), `"level":"error"`) {
		t.Errorf("errors logged:\n%s", tail(s.logs.String(), 3000))
	}
}
