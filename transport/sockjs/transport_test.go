package sockjs

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/eventara/eventara/actors"
	"github.com/eventara/eventara/internal/testutil"
)

func TestGreetingInfoAndStatic(t *testing.T) {
	t.Parallel()
	s := newServer(t, Config{}, newTestSessions(true))

	for _, p := range []string{"/ws", "/ws/"} {
		resp, body := do(t, "GET", s.URL+p, "", nil)
		wantEq(t, "greeting status", resp.StatusCode, 200)
		wantEq(t, "greeting", body, "Welcome to SockJS!\n")
		wantEq(t, "greeting type", resp.Header.Get("Content-Type"), "text/plain; charset=UTF-8")
	}
	for _, p := range []string{"/ws/a", "/ws//", "/ws/a/a", "/ws/iframe.htm", "/ws/IFRAME.HTML", "/ws/iframe-/.html", "/other"} {
		resp, _ := do(t, "GET", s.URL+p, "", nil)
		wantEq(t, p+" status", resp.StatusCode, 404)
	}

	resp, body := do(t, "GET", s.URL+"/ws/info", "", map[string]string{"Origin": "http://app"})
	wantEq(t, "info status", resp.StatusCode, 200)
	wantEq(t, "info type", resp.Header.Get("Content-Type"), "application/json; charset=UTF-8")
	wantEq(t, "info cache", resp.Header.Get("Cache-Control"), noCache)
	wantEq(t, "info origin", resp.Header.Get("Access-Control-Allow-Origin"), "http://app")
	wantEq(t, "info credentials", resp.Header.Get("Access-Control-Allow-Credentials"), "true")
	if !strings.HasPrefix(body, `{"websocket":true,"origins":["*:*"],"cookie_needed":false,"entropy":`) {
		t.Fatalf("info = %s", body)
	}
	resp, _ = do(t, "HEAD", s.URL+"/ws/info", "", nil)
	wantEq(t, "HEAD info status", resp.StatusCode, 200)
	wantEq(t, "no-origin CORS", resp.Header.Get("Access-Control-Allow-Origin"), "*")

	resp, body = do(t, "OPTIONS", s.URL+"/ws/info", "", map[string]string{"Origin": "null", "Access-Control-Request-Method": "GET"})
	wantEq(t, "OPTIONS status", resp.StatusCode, 204)
	wantEq(t, "OPTIONS body", body, "")
	wantEq(t, "OPTIONS origin", resp.Header.Get("Access-Control-Allow-Origin"), "null")
	wantEq(t, "OPTIONS methods", resp.Header.Get("Access-Control-Allow-Methods"), "OPTIONS, GET")
	wantEq(t, "OPTIONS max-age", resp.Header.Get("Access-Control-Max-Age"), "31536000")
	wantEq(t, "OPTIONS cache", resp.Header.Get("Cache-Control"), "public, max-age=31536000")
	if resp.Header.Get("Expires") == "" {
		t.Fatal("OPTIONS without Expires")
	}

	for _, p := range []string{"/ws/iframe.html", "/ws/iframe-1.6.1.html?t=1"} {
		resp, body = do(t, "GET", s.URL+p, "", nil)
		wantEq(t, p+" status", resp.StatusCode, 200)
		wantEq(t, p+" type", resp.Header.Get("Content-Type"), "text/html; charset=UTF-8")
		if !strings.Contains(body, `<script src="/ws/sockjs.min.js"></script>`) || !strings.Contains(body, "SockJS.bootstrap_iframe();") {
			t.Fatalf("iframe page = %s", body)
		}
		wantEq(t, p+" Last-Modified", resp.Header.Get("Last-Modified"), "")
	}
	tag := resp.Header.Get("ETag")
	resp, body = do(t, "GET", s.URL+"/ws/iframe.html", "", map[string]string{"If-None-Match": tag})
	wantEq(t, "iframe 304", resp.StatusCode, 304)
	wantEq(t, "304 body", body, "")
	wantEq(t, "304 type", resp.Header.Get("Content-Type"), "")

	resp, body = do(t, "GET", s.URL+"/ws/sockjs.min.js", "", nil)
	wantEq(t, "sockjs.js status", resp.StatusCode, 200)
	if !strings.HasPrefix(body, "/* sockjs-client v1.6.1") {
		t.Fatalf("sockjs.js starts %q", body[:40])
	}
}

func TestXHRPollingRoundTrip(t *testing.T) {
	t.Parallel()
	s := newServer(t, Config{}, newTestSessions(true))
	u := newSessionURL(s.URL)
	resp, body := do(t, "POST", u+"/xhr", "", map[string]string{"Origin": "http://app"})
	wantEq(t, "open", body, "o\n")
	wantEq(t, "xhr type", resp.Header.Get("Content-Type"), "application/javascript; charset=UTF-8")
	wantEq(t, "xhr cache", resp.Header.Get("Cache-Control"), noCache)
	wantEq(t, "xhr origin", resp.Header.Get("Access-Control-Allow-Origin"), "http://app")

	resp, body = do(t, "POST", u+"/xhr_send", `["a","b\u2028"]`, nil)
	wantEq(t, "send status", resp.StatusCode, 204)
	wantEq(t, "send body", body, "")
	wantEq(t, "send type", resp.Header.Get("Content-Type"), "text/plain; charset=UTF-8")
	_, body = do(t, "POST", u+"/xhr", "", nil)
	wantEq(t, "messages", body, `a["a","b\u2028"]`+"\n")

	resp, body = do(t, "POST", u+"/xhr_send", `["a`, nil)
	wantEq(t, "broken status", resp.StatusCode, 500)
	wantEq(t, "broken body", body, "Broken JSON encoding.")
	resp, body = do(t, "POST", u+"/xhr_send", ``, nil)
	wantEq(t, "empty status", resp.StatusCode, 500)
	wantEq(t, "empty body", body, "Payload expected.")
	resp, _ = do(t, "POST", s.URL+"/ws/000/nosuch/xhr_send", `["a"]`, nil)
	wantEq(t, "unknown session", resp.StatusCode, 404)
}

func TestXHRStreamingRoundTrip(t *testing.T) {
	t.Parallel()
	s := newServer(t, Config{}, newTestSessions(true))
	u := newSessionURL(s.URL)
	st := openStream(t, "POST", u+"/xhr_streaming")
	wantEq(t, "prelude", st.readUntil(t, "\n"), strings.Repeat("h", 2048)+"\n")
	wantEq(t, "open", st.readUntil(t, "\n"), "o\n")
	do(t, "POST", u+"/xhr_send", `["x"]`, nil)
	wantEq(t, "message", st.readUntil(t, "\n"), `a["x"]`+"\n")
}

func TestEventSourceRoundTrip(t *testing.T) {
	t.Parallel()
	s := newServer(t, Config{}, newTestSessions(true))
	u := newSessionURL(s.URL)
	st := openStream(t, "GET", u+"/eventsource")
	wantEq(t, "type", st.resp.Header.Get("Content-Type"), "text/event-stream")
	wantEq(t, "prelude", st.readUntil(t, "\r\n"), "\r\n")
	wantEq(t, "open", st.readUntil(t, "\r\n\r\n"), "data: o\r\n\r\n")
	do(t, "POST", u+"/xhr_send", `["  \u0000\n\r "]`, nil)
	wantEq(t, "message", st.readUntil(t, "\r\n\r\n"), `data: a["  \u0000\n\r "]`+"\r\n\r\n")
	// sockjs-client decodeURI()s each data line: a '%' travels as %25.
	do(t, "POST", u+"/xhr_send", `["error rate 7.3% %zz"]`, nil)
	wantEq(t, "percent", st.readUntil(t, "\r\n\r\n"), `data: a["error rate 7.3%25 %25zz"]`+"\r\n\r\n")
}

func TestHtmlfileRoundTrip(t *testing.T) {
	t.Parallel()
	s := newServer(t, Config{}, newTestSessions(true))
	u := newSessionURL(s.URL)
	resp, body := do(t, "GET", u+"/htmlfile", "", nil)
	wantEq(t, "no callback", resp.StatusCode, 500)
	wantEq(t, "no callback body", body, `"callback" parameter required`)
	resp, _ = do(t, "GET", u+"/htmlfile?c=a(", "", nil)
	wantEq(t, "bad callback", resp.StatusCode, 500)

	st := openStream(t, "GET", u+"/htmlfile?c=cb")
	head := st.readUntil(t, "\r\n\r\n")
	if len(head) < 1024 || !strings.Contains(head, "var c = parent.cb;") {
		t.Fatalf("htmlfile head %q", head)
	}
	wantEq(t, "open", st.readUntil(t, "</script>\r\n"), "<script>\np(\"o\");\n</script>\r\n")
	do(t, "POST", u+"/xhr_send", `["x"]`, nil)
	wantEq(t, "message", st.readUntil(t, "</script>\r\n"), "<script>\np(\"a[\\\"x\\\"]\");\n</script>\r\n")
}

func TestJSONPRoundTrip(t *testing.T) {
	t.Parallel()
	s := newServer(t, Config{}, newTestSessions(true))
	u := newSessionURL(s.URL)
	_, body := do(t, "GET", u+"/jsonp?c=cb", "", nil)
	wantEq(t, "open", body, "/**/cb(\"o\");\r\n")
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	resp, body := do(t, "POST", u+"/jsonp_send", formBody(`["x"]`), form)
	wantEq(t, "send", body, "ok")
	wantEq(t, "send status", resp.StatusCode, 200)
	resp, body = do(t, "POST", u+"/jsonp_send", "p=p", form)
	wantEq(t, "no d", resp.StatusCode, 500)
	wantEq(t, "no d body", body, "Payload expected.")
	do(t, "POST", u+"/jsonp_send", `["y"]`, map[string]string{"Content-Type": "text/plain"})
	_, body = do(t, "GET", u+"/jsonp?c=cb", "", nil)
	wantEq(t, "messages", body, "/**/cb(\"a[\\\"x\\\",\\\"y\\\"]\");\r\n")
}

func TestAnotherConnectionStillOpen(t *testing.T) {
	t.Parallel()
	s := newServer(t, Config{}, newTestSessions(true))
	u := newSessionURL(s.URL)
	st := openStream(t, "POST", u+"/xhr_streaming")
	st.readUntil(t, "\n")
	wantEq(t, "open", st.readUntil(t, "\n"), "o\n")

	st2 := openStream(t, "POST", u+"/xhr_streaming")
	st2.readUntil(t, "\n")
	wantEq(t, "second", st2.readUntil(t, "\n"), `c[2010,"Another connection still open"]`+"\n")
	st2.wantEOF(t)

	// The first receiver is untouched.
	do(t, "POST", u+"/xhr_send", `["x"]`, nil)
	wantEq(t, "first still works", st.readUntil(t, "\n"), `a["x"]`+"\n")
}

func TestConnectionInterrupted(t *testing.T) {
	t.Parallel()
	ts := newTestSessions(true)
	s := newServer(t, Config{}, ts)
	u := newSessionURL(s.URL)
	_, body := do(t, "POST", u+"/xhr", "", nil)
	wantEq(t, "open", body, "o\n")

	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", u+"/xhr", nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := testClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
	}()
	// Wait until the poll is attached: a second one then gets c[2010].
	sess := s.h.lookup(u[strings.LastIndex(u, "/")+1:])
	testutil.WaitFor(t, testutil.Patience, "the poll to attach", func() error {
		sess.mu.Lock()
		defer sess.mu.Unlock()
		if !sess.attached {
			return errors.New("poll not attached")
		}
		return nil
	})
	_, body = do(t, "POST", u+"/xhr", "", nil)
	wantEq(t, "second poll", body, `c[2010,"Another connection still open"]`+"\n")
	cancel()
	<-done
	testutil.Recv(t, ts.closed, testutil.Patience, "the session to close")
	_, body = do(t, "POST", u+"/xhr", "", nil)
	wantEq(t, "after abort", body, `c[1002,"Connection interrupted"]`+"\n")
}

func TestSessionTimeout(t *testing.T) {
	t.Parallel()
	ts := newTestSessions(true)
	s := newServer(t, Config{DisconnectDelay: 50 * time.Millisecond}, ts)
	u := newSessionURL(s.URL)
	_, body := do(t, "POST", u+"/xhr", "", nil)
	wantEq(t, "open", body, "o\n")
	conn := testutil.Recv(t, ts.opened, testutil.Patience, "a session to open")
	testutil.Recv(t, ts.closed, testutil.Patience, "the session to close")
	if conn.Send(actors.Outgoing{Head: []byte("x")}) {
		t.Fatal("Send on an expired session succeeded")
	}
	resp, _ := do(t, "POST", u+"/xhr_send", `["x"]`, nil)
	wantEq(t, "send after expiry", resp.StatusCode, 404)
}

func TestCloseFrameServedUntilExpiry(t *testing.T) {
	t.Parallel()
	ts := newTestSessions(false)
	s := newServer(t, Config{}, ts)
	u := newSessionURL(s.URL)
	_, body := do(t, "POST", u+"/xhr", "", nil)
	wantEq(t, "open", body, "o\n")
	conn := testutil.Recv(t, ts.opened, testutil.Patience, "a session to open")
	conn.Send(actors.Outgoing{Head: []byte("last")})
	conn.Close(3000, "Go away!")
	_, body = do(t, "POST", u+"/xhr", "", nil)
	wantEq(t, "queued first", body, `a["last"]`+"\n")
	for range 2 {
		_, body = do(t, "POST", u+"/xhr", "", nil)
		wantEq(t, "close", body, `c[3000,"Go away!"]`+"\n")
	}
	testutil.Recv(t, ts.closed, testutil.Patience, "the session to close")
}

func TestStreamingResponseLimit(t *testing.T) {
	t.Parallel()
	s := newServer(t, Config{ResponseLimit: 4096}, newTestSessions(true))
	u := newSessionURL(s.URL)
	st := openStream(t, "POST", u+"/xhr_streaming")
	st.readUntil(t, "\n")
	st.readUntil(t, "\n")
	msg := `"` + strings.Repeat("x", 128) + `"`
	for i := range 31 {
		do(t, "POST", u+"/xhr_send", "["+msg+"]", nil)
		wantEq(t, fmt.Sprintf("message %d", i), st.readUntil(t, "\n"), "a["+msg+"]\n")
	}
	st.wantEOF(t)
}

func TestHeartbeats(t *testing.T) {
	t.Parallel()
	s := newServer(t, Config{HeartbeatInterval: 50 * time.Millisecond}, newTestSessions(true))

	st := openStream(t, "POST", newSessionURL(s.URL)+"/xhr_streaming")
	st.readUntil(t, "\n")
	wantEq(t, "open", st.readUntil(t, "\n"), "o\n")
	wantEq(t, "streaming heartbeat", st.readUntil(t, "\n"), "h\n")
	wantEq(t, "streaming heartbeat 2", st.readUntil(t, "\n"), "h\n")

	u := newSessionURL(s.URL)
	do(t, "POST", u+"/xhr", "", nil)
	_, body := do(t, "POST", u+"/xhr", "", nil)
	wantEq(t, "polling heartbeat", body, "h\n")

	ws := dialWS(t, newSessionURL(s.URL)+"/websocket")
	wantEq(t, "ws open", readWS(t, ws), "o")
	wantEq(t, "ws heartbeat", readWS(t, ws), "h")
	wantEq(t, "ws heartbeat 2", readWS(t, ws), "h")
}

func TestSockJSWebSocket(t *testing.T) {
	t.Parallel()
	ts := newTestSessions(true)
	s := newServer(t, Config{}, ts)
	ws := dialWS(t, newSessionURL(s.URL)+"/websocket")
	wantEq(t, "subprotocol", ws.Subprotocol(), "")
	wantEq(t, "open", readWS(t, ws), "o")
	conn := testutil.Recv(t, ts.opened, testutil.Patience, "a session to open")
	wantEq(t, "transport", conn.Transport(), "websocket")
	writeWS(t, ws, "")
	writeWS(t, ws, "[]")
	writeWS(t, ws, `["a","b"]`)
	// Queued units may be batched into one frame.
	if got := readWS(t, ws); got != `a["a","b"]` {
		wantEq(t, "echo", got, `a["a"]`)
		wantEq(t, "echo 2", readWS(t, ws), `a["b"]`)
	}
	writeWS(t, ws, `"c"`)
	wantEq(t, "single string", readWS(t, ws), `a["c"]`)

	conn.Close(3000, "Go away!")
	wantEq(t, "close frame", readWS(t, ws), `c[3000,"Go away!"]`)
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Patience)
	defer cancel()
	_, _, err := ws.Read(ctx)
	wantEq(t, "close status", websocket.CloseStatus(err), websocket.StatusCode(3000))
	testutil.Recv(t, ts.closed, testutil.Patience, "the session to close")
}

func TestSockJSWebSocketBrokenJSON(t *testing.T) {
	t.Parallel()
	ts := newTestSessions(true)
	s := newServer(t, Config{}, ts)
	ws := dialWS(t, newSessionURL(s.URL)+"/websocket")
	readWS(t, ws)
	writeWS(t, ws, `["a`)
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Patience)
	defer cancel()
	if _, _, err := ws.Read(ctx); err == nil {
		t.Fatal("connection still open after broken JSON")
	}
	testutil.Recv(t, ts.closed, testutil.Patience, "the session to close")
}

func TestWebSocketHTTPErrors(t *testing.T) {
	t.Parallel()
	s := newServer(t, Config{}, newTestSessions(true))
	u := newSessionURL(s.URL) + "/websocket"
	resp, _ := do(t, "GET", u, "", nil)
	wantEq(t, "plain GET", resp.StatusCode, 400)
	resp, _ = do(t, "GET", u, "", map[string]string{"Upgrade": "WebSocket", "Connection": "close"})
	wantEq(t, "bad Connection", resp.StatusCode, 400)
	resp, body := do(t, "POST", u, "", nil)
	wantEq(t, "POST", resp.StatusCode, 405)
	wantEq(t, "POST Allow", resp.Header.Get("Allow"), "GET")
	wantEq(t, "POST body", body, "")

	off := newServer(t, Config{DisableWebSocket: true}, newTestSessions(true))
	resp, _ = do(t, "GET", newSessionURL(off.URL)+"/websocket", "", nil)
	wantEq(t, "disabled", resp.StatusCode, 404)
	_, body = do(t, "GET", off.URL+"/ws/info", "", nil)
	if !strings.Contains(body, `"websocket":false`) {
		t.Fatalf("disabled info = %s", body)
	}
}

func TestRawWebSocketSubprotocols(t *testing.T) {
	t.Parallel()
	s := newServer(t, Config{}, newTestSessions(true))
	tests := []struct {
		name, path string
		offer      []string
		want       string
	}{
		{"stompjs offer", "/ws", []string{"v10.stomp", "v11.stomp", "v12.stomp"}, "v12.stomp"},
		{"one version", "/ws/websocket", []string{"v11.stomp"}, "v11.stomp"},
		{"none offered", "/ws", nil, ""},
		{"unknown offered", "/ws/websocket", []string{"mqtt"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ws := dialWS(t, s.URL+tc.path, tc.offer...)
			wantEq(t, "subprotocol", ws.Subprotocol(), tc.want)
			writeWS(t, ws, "CONNECT\naccept-version:1.2\n\n\x00")
			wantEq(t, "echo", readWS(t, ws), "CONNECT\naccept-version:1.2\n\n\x00")
		})
	}
}

func TestRawWebSocketClose(t *testing.T) {
	t.Parallel()
	ts := newTestSessions(false)
	s := newServer(t, Config{}, ts)
	ws := dialWS(t, s.URL+"/ws", "v12.stomp")
	conn := testutil.Recv(t, ts.opened, testutil.Patience, "a session to open")
	wantEq(t, "transport", conn.Transport(), "raw-websocket")
	conn.Send(actors.Outgoing{Head: []byte("ERROR\nmessage:bye\n\n\x00")})
	conn.Close(4000, "slow consumer")
	wantEq(t, "flushed first", readWS(t, ws), "ERROR\nmessage:bye\n\n\x00")
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Patience)
	defer cancel()
	_, _, err := ws.Read(ctx)
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != 4000 || ce.Reason != "slow consumer" {
		t.Fatalf("close = %v", err)
	}
	testutil.Recv(t, ts.closed, testutil.Patience, "the session to close")
}

// TestSharedFraming checks the bytes each framing writes for a unit with
// shared snapshot bytes: head + STOMPTail raw, escaped head + escaped
// tail in SockJS, the JSON alone in FramingJSON.
func TestSharedFraming(t *testing.T) {
	t.Parallel()
	ts := newTestSessions(false)
	s := newServer(t, Config{}, ts)
	body := `{"summary":{"totalEvents":1}}` + strings.Repeat(" ", 2000)
	tail := "content-type:application/json\n\n" + body + "\x00"
	sh := &actors.Shared{JSON: []byte(body), STOMPTail: []byte(tail)}
	sockTail := strings.ReplaceAll(strings.ReplaceAll(strings.ReplaceAll(tail, `"`, `\"`), "\n", `\n`), "\x00", `\u0000`)
	head := "MESSAGE\nsubscription:sub-0\nmessage-id:1\n"
	unit := actors.Outgoing{Head: []byte(head), Shared: sh}

	raw := dialWS(t, s.URL+"/ws")
	rc := testutil.Recv(t, ts.opened, testutil.Patience, "a session to open")
	rc.Send(unit)
	wantEq(t, "raw", readWS(t, raw), head+tail)
	rc.SetFraming(actors.FramingJSON)
	rc.Send(actors.Outgoing{Shared: sh})
	wantEq(t, "raw json", readWS(t, raw), body)

	sj := dialWS(t, newSessionURL(s.URL)+"/websocket")
	readWS(t, sj)
	sc := testutil.Recv(t, ts.opened, testutil.Patience, "a session to open")
	sc.Send(unit)
	sc.Send(unit)
	got := readWS(t, sj)
	one := `"MESSAGE\nsubscription:sub-0\nmessage-id:1\n` + sockTail + `"`
	if got != "a["+one+"]" && got != "a["+one+","+one+"]" {
		t.Fatalf("sockjs frame = %.200q", got)
	}

	u := newSessionURL(s.URL)
	do(t, "POST", u+"/xhr", "", nil)
	pc := testutil.Recv(t, ts.opened, testutil.Patience, "a session to open")
	pc.Send(unit)
	pc.Send(unit)
	_, got = do(t, "POST", u+"/xhr", "", nil)
	wantEq(t, "polling batch", got, "a["+one+","+one+"]\n")
}

func TestSlowConsumerQueueFull(t *testing.T) {
	t.Parallel()
	ts := newTestSessions(false)
	// A write timeout far longer than the bound below: a Send that blocked
	// on the socket would block that long.
	s := newServer(t, Config{QueueLength: 4, WriteTimeout: 20 * time.Second}, ts)

	// A polling session between polls: the queue fills, then Send fails.
	u := newSessionURL(s.URL)
	do(t, "POST", u+"/xhr", "", nil)
	pc := testutil.Recv(t, ts.opened, testutil.Patience, "a session to open")
	for i := range 4 {
		if !pc.Send(actors.Outgoing{Head: []byte("m")}) {
			t.Fatalf("Send %d refused", i)
		}
	}
	if pc.Send(actors.Outgoing{Head: []byte("m")}) {
		t.Fatal("Send beyond QueueLength accepted")
	}

	// A raw WebSocket client that never reads: Send fails once the socket
	// buffers and the queue are full, without blocking.
	raw := dialWS(t, s.URL+"/ws")
	_ = raw
	rc := testutil.Recv(t, ts.opened, testutil.Patience, "a session to open")
	big := &actors.Shared{STOMPTail: make([]byte, 1<<20)}
	testutil.WaitFor(t, testutil.Patience, "Send to refuse a unit", func() error {
		start := time.Now()
		ok := rc.Send(actors.Outgoing{Head: []byte("MESSAGE\n"), Shared: big})
		// Generous for a busy machine, far below the write timeout.
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("Send blocked for %v", d)
		}
		if ok {
			return errors.New("queue not full yet")
		}
		return nil
	})
}

func TestHandlerClose(t *testing.T) {
	t.Parallel()
	ts := newTestSessions(true)
	s := newServer(t, Config{}, ts)
	ws := dialWS(t, newSessionURL(s.URL)+"/websocket")
	readWS(t, ws)
	testutil.Recv(t, ts.opened, testutil.Patience, "a session to open")
	u := newSessionURL(s.URL)
	do(t, "POST", u+"/xhr", "", nil)
	s.h.Close(1001, "Server shutting down")
	wantEq(t, "ws close frame", readWS(t, ws), `c[1001,"Server shutting down"]`)
	_, body := do(t, "POST", u+"/xhr", "", nil)
	wantEq(t, "polling close frame", body, `c[1001,"Server shutting down"]`+"\n")
	resp, _ := do(t, "POST", newSessionURL(s.URL)+"/xhr", "", nil)
	wantEq(t, "new session after Close", resp.StatusCode, 503)
}

func TestCookieNeeded(t *testing.T) {
	t.Parallel()
	s := newServer(t, Config{CookieNeeded: true}, newTestSessions(true))
	resp, _ := do(t, "POST", newSessionURL(s.URL)+"/xhr", "", nil)
	wantEq(t, "cookie", resp.Header.Get("Set-Cookie"), "JSESSIONID=dummy; path=/")
	resp, _ = do(t, "POST", newSessionURL(s.URL)+"/xhr", "", map[string]string{"Cookie": "JSESSIONID=abc"})
	wantEq(t, "echoed cookie", resp.Header.Get("Set-Cookie"), "JSESSIONID=abc; path=/")
	resp, _ = do(t, "GET", s.URL+"/ws/info", "", nil)
	wantEq(t, "no cookie on info", resp.Header.Get("Set-Cookie"), "")
}
