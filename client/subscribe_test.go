package client_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/eventara/eventara/client"
	"github.com/eventara/eventara/internal/testutil"
	"github.com/eventara/eventara/protocol/stomp"
)

// A fake STOMP server on a plain WebSocket, scripted per connection,
// reaches what the real server does rarely or never on cue: a silent
// connection, a refused CONNECT, a burst faster than the reader.
// test/client_test.go subscribes to the real binary, across a restart.

// stompPeer is the server's side of one connection.
type stompPeer struct {
	ws  *websocket.Conn
	dec *stomp.Decoder
	n   int // the connection's number, from 1
}

// next returns the next frame, or nil for a heart-beat.
func (p *stompPeer) next(ctx context.Context) (*stomp.Frame, error) {
	for {
		f, hb, err := p.dec.Next()
		if err != nil {
			return nil, err
		}
		if f != nil || hb {
			return f, nil
		}
		_, data, err := p.ws.Read(ctx)
		if err != nil {
			return nil, err
		}
		p.dec.Feed(data)
	}
}

// frame reads frames up to the next one that is not a heart-beat.
func (p *stompPeer) frame(ctx context.Context) (*stomp.Frame, error) {
	for {
		f, err := p.next(ctx)
		if f != nil || err != nil {
			return f, err
		}
	}
}

func (p *stompPeer) send(ctx context.Context, f *stomp.Frame) error {
	return p.ws.Write(ctx, websocket.MessageText, stomp.AppendFrame(nil, f, stomp.V12))
}

// accept reads CONNECT, answers CONNECTED with heart-beat hb, reads
// SUBSCRIBE, and returns both frames.
func (p *stompPeer) accept(ctx context.Context, hb string) (connect, subscribe *stomp.Frame, err error) {
	if connect, err = p.frame(ctx); err != nil {
		return nil, nil, err
	}
	err = p.send(ctx, &stomp.Frame{Command: stomp.CmdConnected, Headers: []stomp.Header{{Key: "version", Value: "1.2"}, {Key: "heart-beat", Value: hb}}})
	if err != nil {
		return nil, nil, err
	}
	subscribe, err = p.frame(ctx)
	return connect, subscribe, err
}

// snapshot sends a MESSAGE whose snapshot has summary.totalEvents total.
func (p *stompPeer) snapshot(ctx context.Context, sub string, total int) error {
	body := `{"summary":{"totalEvents":` + strconv.Itoa(total) + `,"systemHealth":"healthy","lastUpdated":"2026-12-07T21:32:43Z"}}`
	return p.send(ctx, &stomp.Frame{Command: stomp.CmdMessage, Headers: []stomp.Header{
		{Key: "destination", Value: "/topic/metrics"}, {Key: "subscription", Value: sub},
		{Key: "message-id", Value: "m-" + strconv.Itoa(total)}, {Key: "content-type", Value: "application/json"},
	}, Body: []byte(body)})
}

// drain reads until the client goes away.
func (p *stompPeer) drain(ctx context.Context) {
	for {
		if _, err := p.next(ctx); err != nil {
			return
		}
	}
}

// stompServer runs script for each WebSocket connection, in the
// handler's goroutine; the script returns when it is done with the
// connection, which is then closed.
func stompServer(t *testing.T, script func(ctx context.Context, p *stompPeer)) *httptest.Server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var conns atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/ws" {
			http.NotFound(w, r)
			return
		}
		ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{"v12.stomp"}})
		if err != nil {
			return
		}
		defer ws.CloseNow()
		script(ctx, &stompPeer{ws: ws, dec: stomp.NewDecoder(stomp.Limits{}), n: int(conns.Add(1))})
	}))
	t.Cleanup(func() {
		cancel()
		srv.Close()
	})
	return srv
}

// subscribe starts a subscription whose end the test waits for: C
// closed, and so every goroutine of it gone (TestMain checks).
func subscribe(t *testing.T, c *client.Client, opts ...client.SubscribeOption) (*client.Subscription, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	sub, err := c.Subscribe(ctx, opts...)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		waitClosed(t, sub)
	})
	return sub, cancel
}

// waitClosed drains C until it is closed.
func waitClosed(t *testing.T, sub *client.Subscription) {
	t.Helper()
	deadline := time.After(testutil.Patience)
	for {
		select {
		case _, ok := <-sub.C:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatalf("C not closed within %s", testutil.Patience)
		}
	}
}

func recvSnapshot(t *testing.T, sub *client.Subscription) client.Snapshot {
	t.Helper()
	select {
	case s, ok := <-sub.C:
		if !ok {
			t.Fatalf("C closed: %v", sub.Err())
		}
		return s
	case <-time.After(testutil.Patience):
		t.Fatalf("no snapshot within %s; stats %+v", testutil.Patience, sub.Stats())
	}
	return client.Snapshot{}
}

func TestSubscribeConnectsAndReceives(t *testing.T) {
	t.Parallel()
	frames := make(chan [2]*stomp.Frame, 1)
	srv := stompServer(t, func(ctx context.Context, p *stompPeer) {
		connect, sub, err := p.accept(ctx, "0,0")
		if err != nil {
			return
		}
		frames <- [2]*stomp.Frame{connect, sub}
		for i := 1; i <= 3; i++ {
			if p.snapshot(ctx, sub.Header("id"), i) != nil {
				return
			}
		}
		p.drain(ctx)
	})
	c := newClient(t, srv.URL, client.WithToken("t0k"))
	sub, cancel := subscribe(t, c, client.HeartBeat(4*time.Second))
	f := testutil.Recv(t, frames, testutil.Patience, "CONNECT and SUBSCRIBE")
	connect, subscribe := f[0], f[1]
	for k, v := range map[string]string{"accept-version": "1.0,1.1,1.2", "heart-beat": "4000,4000", "Authorization": "Bearer t0k", "host": "127.0.0.1"} {
		if got := connect.Header(k); got != v {
			t.Errorf("CONNECT %s = %q, want %q", k, got, v)
		}
	}
	if subscribe.Command != stomp.CmdSubscribe || subscribe.Header("destination") != "/topic/metrics" || subscribe.Header("id") == "" {
		t.Errorf("second frame %s %v, want SUBSCRIBE to /topic/metrics with an id", subscribe.Command, subscribe.Headers)
	}
	// A reader that keeps up gets every snapshot, in order (or, when the
	// three came before it read, the newest: never an older one after a
	// newer one).
	last := 0
	for last < 3 {
		s := recvSnapshot(t, sub)
		if got := int(s.Summary.TotalEvents); got <= last {
			t.Fatalf("snapshot %d after %d", got, last)
		} else {
			last = got
		}
	}
	if st := sub.Stats(); st.Received != 3 || st.Connects != 1 || !st.Connected {
		t.Errorf("stats %+v", st)
	}
	cancel()
	waitClosed(t, sub)
	if !errors.Is(sub.Err(), context.Canceled) {
		t.Errorf("Err %v, want context.Canceled", sub.Err())
	}
}

func TestSubscribeSlowReaderGetsTheNewest(t *testing.T) {
	t.Parallel()
	const n = 20
	srv := stompServer(t, func(ctx context.Context, p *stompPeer) {
		_, sub, err := p.accept(ctx, "0,0")
		if err != nil {
			return
		}
		for i := 1; i <= n; i++ {
			if p.snapshot(ctx, sub.Header("id"), i) != nil {
				return
			}
		}
		p.drain(ctx)
	})
	sub, _ := subscribe(t, newClient(t, srv.URL))
	// Read nothing until all twenty arrived: C holds one, the newest.
	testutil.WaitFor(t, testutil.Patience, "20 snapshots received", func() error {
		if st := sub.Stats(); st.Received != n {
			return fmt.Errorf("stats %+v", st)
		}
		return nil
	})
	if s := recvSnapshot(t, sub); s.Summary.TotalEvents != n {
		t.Errorf("a slow reader got totalEvents %d, want the newest, %d", s.Summary.TotalEvents, n)
	}
	if st := sub.Stats(); st.Dropped != n-1 {
		t.Errorf("Dropped %d, want %d", st.Dropped, n-1)
	}
	select {
	case s := <-sub.C:
		t.Errorf("a second snapshot %d was waiting: C must hold one", s.Summary.TotalEvents)
	default:
	}
}

func TestSubscribeReconnectsWhenTheServerCloses(t *testing.T) {
	t.Parallel()
	srv := stompServer(t, func(ctx context.Context, p *stompPeer) {
		_, sub, err := p.accept(ctx, "0,0")
		if err != nil {
			return
		}
		if p.snapshot(ctx, sub.Header("id"), p.n) != nil {
			return
		}
		if p.n < 3 {
			p.ws.Close(websocket.StatusGoingAway, "restarting") // as a server shutting down does
			return
		}
		p.drain(ctx)
	})
	sub, _ := subscribe(t, newClient(t, srv.URL))
	for want := 1; want <= 3; {
		got := int(recvSnapshot(t, sub).Summary.TotalEvents)
		if got < want {
			t.Fatalf("snapshot of connection %d after that of %d", got, want-1)
		}
		want = got + 1
	}
	st := sub.Stats()
	if st.Connects != 3 {
		t.Errorf("Connects %d, want 3", st.Connects)
	}
	var ce websocket.CloseError
	if !errors.As(st.LastError, &ce) || ce.Code != websocket.StatusGoingAway {
		t.Errorf("LastError %v, want the server's going-away close", st.LastError)
	}
}

func TestSubscribeSendsHeartBeats(t *testing.T) {
	t.Parallel()
	beats := make(chan struct{}, 100)
	srv := stompServer(t, func(ctx context.Context, p *stompPeer) {
		// The server wants to hear from the client every 50 ms.
		if _, _, err := p.accept(ctx, "0,50"); err != nil {
			return
		}
		for {
			f, err := p.next(ctx)
			if err != nil {
				return
			}
			if f == nil {
				select {
				case beats <- struct{}{}:
				default:
				}
			}
		}
	})
	sub, _ := subscribe(t, newClient(t, srv.URL), client.HeartBeat(20*time.Millisecond))
	for i := 0; i < 3; i++ {
		testutil.Recv(t, beats, testutil.Patience, fmt.Sprintf("heart-beat %d", i+1))
	}
	if st := sub.Stats(); st.Connects != 1 {
		t.Errorf("Connects %d, want 1", st.Connects)
	}
}

func TestSubscribeDropsASilentServer(t *testing.T) {
	t.Parallel()
	srv := stompServer(t, func(ctx context.Context, p *stompPeer) {
		// It promises a heart-beat every 50 ms, then says nothing.
		if _, _, err := p.accept(ctx, "50,0"); err != nil {
			return
		}
		p.drain(ctx)
	})
	sub, _ := subscribe(t, newClient(t, srv.URL), client.HeartBeat(50*time.Millisecond))
	testutil.WaitFor(t, testutil.Patience, "a reconnection after the silence", func() error {
		if st := sub.Stats(); st.Connects < 2 || st.LastError == nil || !strings.Contains(st.LastError.Error(), "nothing from the server for 100ms") {
			return fmt.Errorf("stats %+v", st)
		}
		return nil
	})
}

func TestSubscribeStopsOnARefusedToken(t *testing.T) {
	t.Parallel()
	var tries atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tries.Add(1)
		w.Header().Set("WWW-Authenticate", "Bearer")
		reply(w, 401, `{"status":"error","message":"invalid token"}`)
	}))
	t.Cleanup(srv.Close)
	sub, _ := subscribe(t, newClient(t, srv.URL, client.WithToken("wrong")))
	waitClosed(t, sub)
	var ae *client.APIError
	if err := sub.Err(); !errors.Is(err, client.ErrUnauthorized) || !errors.As(err, &ae) || ae.Message != "invalid token" {
		t.Errorf("Err %v, want the 401 with the server's message", err)
	}
	if n := tries.Load(); n != 1 {
		t.Errorf("%d handshakes, want 1: a refused token is not retried", n)
	}
}

func TestSubscribeStopsOnAnErrorAnsweringConnect(t *testing.T) {
	t.Parallel()
	srv := stompServer(t, func(ctx context.Context, p *stompPeer) {
		if _, err := p.frame(ctx); err != nil {
			return
		}
		_ = p.send(ctx, &stomp.Frame{Command: stomp.CmdError, Headers: []stomp.Header{{Key: "message", Value: "forbidden: token lacks the required role"}}})
		p.ws.Close(websocket.StatusPolicyViolation, "forbidden")
	})
	sub, _ := subscribe(t, newClient(t, srv.URL))
	waitClosed(t, sub)
	var se *client.StompError
	if err := sub.Err(); !errors.As(err, &se) || !errors.Is(err, client.ErrForbidden) || errors.Is(err, client.ErrUnauthorized) {
		t.Errorf("Err %v, want the ERROR frame", err)
	}
}

func TestSubscribeRetriesARefusedHandshake(t *testing.T) {
	t.Parallel()
	var tries atomic.Int32
	inner := stompServer(t, func(ctx context.Context, p *stompPeer) {
		_, sub, err := p.accept(ctx, "0,0")
		if err != nil {
			return
		}
		_ = p.snapshot(ctx, sub.Header("id"), 7)
		p.drain(ctx)
	})
	// The first handshake finds the server at its session limit.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tries.Add(1) == 1 {
			reply(w, 503, `{"status":"error","message":"too many connections: the server holds at most 1"}`)
			return
		}
		inner.Config.Handler.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	sub, _ := subscribe(t, newClient(t, srv.URL))
	if s := recvSnapshot(t, sub); s.Summary.TotalEvents != 7 {
		t.Errorf("snapshot %d", s.Summary.TotalEvents)
	}
	if n := tries.Load(); n != 2 {
		t.Errorf("%d handshakes, want 2", n)
	}
}

func TestSubscribeNoLeakAfterCancel(t *testing.T) {
	t.Parallel()
	// Cancel in each state: connected and heart-beating, and waiting to
	// reconnect to a server that is gone. TestMain then finds no goroutine.
	srv := stompServer(t, func(ctx context.Context, p *stompPeer) {
		if _, _, err := p.accept(ctx, "0,20"); err != nil {
			return
		}
		p.drain(ctx)
	})
	c := newClient(t, srv.URL)
	sub, cancel := subscribe(t, c, client.HeartBeat(20*time.Millisecond))
	testutil.Eventually(t, "connected", func() bool { return sub.Stats().Connected })
	cancel()
	waitClosed(t, sub)

	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	c2 := newClient(t, gone.URL, client.WithRetry(client.RetryPolicy{InitialBackoff: time.Hour}))
	sub2, cancel2 := subscribe(t, c2)
	testutil.Eventually(t, "a failed dial", func() bool { return sub2.Stats().LastError != nil })
	cancel2()
	waitClosed(t, sub2)
	if !errors.Is(sub2.Err(), context.Canceled) {
		t.Errorf("Err %v", sub2.Err())
	}
}
