package sockjs

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/eventara/eventara/actors"
	"github.com/eventara/eventara/internal/testutil"
)

// testSessions is an actors.Sessions that echoes (when echo is set) and
// records every session so tests can drive ClientConn directly.
type testSessions struct {
	echo   bool
	opened chan actors.ClientConn
	recv   chan []byte
	closed chan actors.ClientConn
}

func newTestSessions(echo bool) *testSessions {
	return &testSessions{
		echo:   echo,
		opened: make(chan actors.ClientConn, 100),
		recv:   make(chan []byte, 1000),
		closed: make(chan actors.ClientConn, 100),
	}
}

func (ts *testSessions) Open(conn actors.ClientConn) actors.Session {
	ts.opened <- conn
	return &testSession{ts: ts, conn: conn}
}

type testSession struct {
	ts   *testSessions
	conn actors.ClientConn
	once sync.Once
}

func (s *testSession) Receive(data []byte) {
	s.ts.recv <- data
	if s.ts.echo {
		s.conn.Send(actors.Outgoing{Head: data})
	}
}

func (s *testSession) Closed() { s.once.Do(func() { s.ts.closed <- s.conn }) }

type server struct {
	*httptest.Server
	h  *Handler
	ts *testSessions
}

// testClient is the tests' HTTP client. Not http.DefaultClient: every
// httptest.Server.Close closes http.DefaultTransport's idle connections,
// which breaks a request of another parallel test that was just reusing
// one ("connection broken: CloseIdleConnections called").
var testClient = &http.Client{Transport: &http.Transport{}}

func newServer(t *testing.T, cfg Config, ts *testSessions) *server {
	t.Helper()
	h := NewHandler(cfg, ts)
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return &server{Server: s, h: h, ts: ts}
}

var sessionSeq struct {
	sync.Mutex
	n int
}

func newSessionURL(base string) string {
	sessionSeq.Lock()
	defer sessionSeq.Unlock()
	sessionSeq.n++
	return base + "/ws/000/s" + strings.Repeat("x", 3) + itoa(sessionSeq.n)
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func do(t *testing.T, method, u string, body string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := testClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func wantEq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

// stream reads a streaming response chunk by chunk (the server writes each
// frame in one flushed write).
type stream struct {
	resp *http.Response
	br   *bufio.Reader
}

func openStream(t *testing.T, method, u string) *stream {
	t.Helper()
	req, _ := http.NewRequest(method, u, nil)
	resp, err := testClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return &stream{resp: resp, br: bufio.NewReader(resp.Body)}
}

// readUntil reads until the stream holds sep, with a deadline.
func (s *stream) readUntil(t *testing.T, sep string) string {
	t.Helper()
	type res struct {
		s   string
		err error
	}
	ch := make(chan res, 1)
	go func() {
		var b strings.Builder
		for !strings.HasSuffix(b.String(), sep) {
			c, err := s.br.ReadByte()
			if err != nil {
				ch <- res{b.String(), err}
				return
			}
			b.WriteByte(c)
		}
		ch <- res{b.String(), nil}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("stream read %q: %v", r.s, r.err)
		}
		return r.s
	case <-time.After(testutil.Patience):
		t.Fatalf("no %q on the stream within %s", sep, testutil.Patience)
		return ""
	}
}

func (s *stream) wantEOF(t *testing.T) {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		b, err := io.ReadAll(s.br)
		if err == nil && len(b) > 0 {
			err = io.ErrUnexpectedEOF
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("stream not ended cleanly: %v", err)
		}
	case <-time.After(testutil.Patience):
		t.Fatalf("stream not ended within %s", testutil.Patience)
	}
}

func dialWS(t *testing.T, u string, protos ...string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Patience)
	defer cancel()
	wsURL := "ws" + strings.TrimPrefix(u, "http")
	c, resp, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{Subprotocols: protos})
	if err != nil {
		t.Fatalf("dial %s: %v (%v)", wsURL, err, resp)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

func readWS(t *testing.T, c *websocket.Conn) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Patience)
	defer cancel()
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read websocket: %v", err)
	}
	return string(b)
}

func writeWS(t *testing.T, c *websocket.Conn, s string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Patience)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte(s)); err != nil {
		t.Fatal(err)
	}
}

func formBody(v string) string { return "d=" + url.QueryEscape(v) }

func newBenchServer(b *testing.B, h *Handler) string {
	s := httptest.NewServer(h)
	b.Cleanup(s.Close)
	return s.URL
}

func dialWSB(b *testing.B, u string) *websocket.Conn {
	c, _, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(u, "http"), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.CloseNow() })
	return c
}
