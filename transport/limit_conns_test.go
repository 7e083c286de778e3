package transport

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/eventara/eventara/actors"
	"github.com/eventara/eventara/internal/testutil"
	"github.com/eventara/eventara/transport/sockjs"
)

type nopSessions struct{}

func (nopSessions) Open(actors.ClientConn) actors.Session { return nopSession{} }

type nopSession struct{}

func (nopSession) Receive([]byte) {}
func (nopSession) Closed()        {}

func waitOpen(t *testing.T, l *ConnLimiter, want int) {
	t.Helper()
	testutil.WaitFor(t, testutil.Patience, fmt.Sprintf("%d open connections", want), func() error {
		if n := l.Open(); n != want {
			return fmt.Errorf("%d open", n)
		}
		return nil
	})
}

// TestConnLimiterCountsDetachedWebSockets: a WebSocket whose handler has
// returned (the push handler runs it on in a goroutine) stays counted until
// it ends, by the client's close or the handler's shutdown, and holds its
// place against the limit meanwhile; plain requests are released as before.
func TestConnLimiterCountsDetachedWebSockets(t *testing.T) {
	t.Parallel()
	l := NewConnLimiter(ConnLimits{Total: 1})
	push := sockjs.NewHandler(sockjs.Config{Prefix: "/ws"}, nopSessions{})
	upgraded := make(chan struct{}, 16) // a WebSocket request's handler has returned
	s := httptest.NewUnstartedServer(limitConns(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		push.ServeHTTP(w, r)
		if r.Header.Get("Upgrade") != "" {
			upgraded <- struct{}{}
		}
	})))
	s.Config.ConnContext = l.ConnContext
	s.Config.ConnState = l.ConnState
	s.Start()
	t.Cleanup(s.Close)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	get := func() int {
		resp, err := client.Get(s.URL + "/ws/info")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	wantStatus := func(got, want int) {
		t.Helper()
		if got != want {
			t.Fatalf("status %d, want %d", got, want)
		}
	}
	wantStatus(get(), http.StatusOK)
	waitOpen(t, l, 0)

	dial := func(path string) (*websocket.Conn, int) {
		ctx, cancel := context.WithTimeout(context.Background(), testutil.Patience)
		defer cancel()
		c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(s.URL, "http")+path, nil)
		if err != nil {
			if resp == nil {
				t.Fatal(err)
			}
			return nil, resp.StatusCode
		}
		return c, http.StatusSwitchingProtocols
	}
	for _, path := range []string{"/ws", "/ws/000/abc/websocket"} {
		c, code := dial(path)
		wantStatus(code, http.StatusSwitchingProtocols)
		// The push handler has returned (it runs the WebSocket on in a
		// goroutine): still counted.
		testutil.Recv(t, upgraded, testutil.Patience, "the push handler to return")
		waitOpen(t, l, 1)
		_, code = dial("/ws")
		wantStatus(code, http.StatusServiceUnavailable)
		wantStatus(get(), http.StatusServiceUnavailable)
		c.Close(websocket.StatusNormalClosure, "")
		waitOpen(t, l, 0)
		wantStatus(get(), http.StatusOK)
		waitOpen(t, l, 0)
	}

	// Shutdown: Handler.Close ends the WebSocket, which releases it.
	c, code := dial("/ws")
	wantStatus(code, http.StatusSwitchingProtocols)
	waitOpen(t, l, 1)
	go readAll(c)
	push.Close(1001, "shutting down")
	waitOpen(t, l, 0)
	// Refused by the closed handler after the upgrade: released when its
	// handler returns.
	c, code = dial("/ws")
	wantStatus(code, http.StatusSwitchingProtocols)
	go readAll(c)
	waitOpen(t, l, 0)
}

// readAll reads c until it fails, answering the server's close frame.
func readAll(c *websocket.Conn) {
	for {
		if _, _, err := c.Read(context.Background()); err != nil {
			return
		}
	}
}
