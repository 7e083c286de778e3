package sockjs

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/coder/websocket"

	"github.com/eventara/eventara/actors"
	"github.com/eventara/eventara/internal/testutil"
)

// fakeDetacher counts Detach calls and releases.
type fakeDetacher struct {
	detached, released atomic.Int32
}

func (d *fakeDetacher) Detach() func() {
	d.detached.Add(1)
	return func() { d.released.Add(1) }
}

// TestWebSocketRunsOnAfterHandler: an accepted WebSocket's handler
// returns at once; the session keeps its handshake token (Credential),
// takes the limiter's release over (Detach) and calls it once, when the
// connection ends, whichever way it ends.
func TestWebSocketRunsOnAfterHandler(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, path string
		shutdown   bool
	}{
		{"raw client close", "/ws", false},
		{"sockjs client close", "/ws/000/abc/websocket", false},
		{"raw shutdown", "/ws/websocket", true},
		{"sockjs shutdown", "/ws/000/abd/websocket", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestSessions(false)
			h := NewHandler(Config{}, ts)
			d := &fakeDetacher{}
			returned := make(chan struct{}, 1)
			s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				h.ServeHTTP(w, r)
				returned <- struct{}{}
			}))
			s.Config.ConnContext = func(ctx context.Context, _ net.Conn) context.Context {
				return WithConnDetacher(ctx, d)
			}
			s.Start()
			t.Cleanup(s.Close)
			c := dialWS(t, s.URL+tc.path+"?access_token=tok-1")
			conn := testutil.Recv(t, ts.opened, testutil.Patience, "a session to open")
			testutil.Recv(t, returned, testutil.Patience, "the handler to return")
			wantEq(t, "credential", conn.(actors.Credentialed).Credential(), "tok-1")
			wantEq(t, "detached", d.detached.Load(), int32(1))
			wantEq(t, "released while open", d.released.Load(), int32(0))
			if tc.shutdown {
				h.Close(3000, "bye")
				go func() {
					for { // read until the server's close frame
						if _, _, err := c.Read(context.Background()); err != nil {
							return
						}
					}
				}()
			} else {
				c.Close(websocket.StatusNormalClosure, "")
			}
			testutil.Recv(t, ts.closed, testutil.Patience, "the session to close")
			testutil.WaitFor(t, testutil.Patience, "the limiter's release", func() error {
				if d.released.Load() != 1 {
					return errString("not released")
				}
				return nil
			})
			// Once: run releases as its very last step, and every other path
			// that could (the handler, Handler.Close) has returned by now, so
			// a second release would already show; no need to wait for one.
			wantEq(t, "releases", d.released.Load(), int32(1))
			h.mu.Lock()
			n := len(h.conns)
			h.mu.Unlock()
			wantEq(t, "registered conns", n, 0)
		})
	}
}

// TestWebSocketRefusedAfterCloseNotDetached: a WebSocket accepted after
// Handler.Close is closed in its handler, which leaves its release to the
// limiter.
func TestWebSocketRefusedAfterCloseNotDetached(t *testing.T) {
	t.Parallel()
	ts := newTestSessions(false)
	h := NewHandler(Config{}, ts)
	h.Close(1001, "going away")
	d := &fakeDetacher{}
	s := httptest.NewUnstartedServer(h)
	s.Config.ConnContext = func(ctx context.Context, _ net.Conn) context.Context {
		return WithConnDetacher(ctx, d)
	}
	s.Start()
	t.Cleanup(s.Close)
	c := dialWS(t, s.URL+"/ws")
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Patience)
	defer cancel()
	if _, _, err := c.Read(ctx); websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Fatalf("read: %v, want going away", err)
	}
	wantEq(t, "detached", d.detached.Load(), int32(0))
}

type errString string

func (e errString) Error() string { return string(e) }
