package test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestOpsSIGTERMUnderLoad: SIGTERM while events pour in and clients are
// connected: raw WebSocket clients get close 1001, SockJS clients
// c[3000,"Go away!"], the process exits 0 within 5 s, and after a restart
// every event that was answered 202 is there.
func TestOpsSIGTERMUnderLoad(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
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

	var (
		mu    sync.Mutex
		acked []string
		stop  atomic.Bool
		wg    sync.WaitGroup
	)
	client := &http.Client{Timeout: 10 * time.Second}
	for w := 0; w < 6; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				body := fmt.Sprintf(`{"eventType":"t%d","source":"w%d"}`, i%3, w)
				url := s.url("/api/v1/events")
				if i%5 == 4 {
					body = "[" + strings.Repeat(body+",", 9) + body + "]"
					url = s.url("/api/v1/events/batch")
				}
				resp, err := client.Post(url, "application/json", strings.NewReader(body))
				if err != nil {
					return // the server is gone
				}
				var r struct {
					EventID  string   `json:"eventId"`
					EventIDs []string `json:"eventIds"`
				}
				err = json.NewDecoder(resp.Body).Decode(&r)
				resp.Body.Close()
				if resp.StatusCode != http.StatusAccepted || err != nil {
					if resp.StatusCode != http.StatusServiceUnavailable {
						t.Errorf("status %d", resp.StatusCode)
					}
					return
				}
				mu.Lock()
				if r.EventID != "" {
					acked = append(acked, r.EventID)
				}
				acked = append(acked, r.EventIDs...)
				mu.Unlock()
			}
		}(w)
	}
	waitFor(t, 20*time.Second, "500 acknowledged events", func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(acked) < 500 {
			return fmt.Errorf("%d so far", len(acked))
		}
		return nil
	})

	start := time.Now()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		t.Fatalf("still running 5 s after SIGTERM\n%s", tail(s.logs.String(), 3000))
	}
	took := time.Since(start)
	stop.Store(true)
	wg.Wait()
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
