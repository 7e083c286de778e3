package actors

import (
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/eventara/eventara/internal/testutil"
	"github.com/eventara/eventara/protocol/stomp"
)

func TestStompConnectHandshake(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		connect       string
		wantVersion   string
		wantHeartBeat string // "" = no heart-beat header
	}{
		{"stompjs", "CONNECT\naccept-version:1.2,1.1,1.0\nheart-beat:4000,4000\n\n\x00", "1.2", "10000,10000"},
		{"STOMP command, 1.1", "STOMP\naccept-version:1.1\nhost:localhost\n\n\x00", "1.1", "10000,10000"},
		{"no accept-version is 1.0", "CONNECT\nlogin:x\n\n\x00", "1.0", ""},
		{"CRLF lines", "CONNECT\r\naccept-version:1.2\r\n\r\n\x00", "1.2", "10000,10000"},
	}
	s := newStompTestSystem(t, SessionConfig{ServerName: "Eventara/test"})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := &stompTestConn{}
			sess := s.sessions.Open(c)
			// Split across two transport messages.
			sess.Receive([]byte(tt.connect[:5]))
			sess.Receive([]byte(tt.connect[5:]))
			f := waitFrames(t, c, 1)[0].frame
			if f.Command != stomp.CmdConnected {
				t.Fatalf("got %s %v", f.Command, f.Headers)
			}
			if got := f.Header(stomp.HdrVersion); got != tt.wantVersion {
				t.Errorf("version = %q, want %q", got, tt.wantVersion)
			}
			if got := f.Header(stomp.HdrHeartBeat); got != tt.wantHeartBeat {
				t.Errorf("heart-beat = %q, want %q", got, tt.wantHeartBeat)
			}
			if f.Header(stomp.HdrSession) == "" {
				t.Error("no session header")
			}
			if got := f.Header(stomp.HdrServer); got != "Eventara/test" {
				t.Errorf("server = %q", got)
			}
			if closed, _, _ := c.closeState(); closed {
				t.Error("closed after CONNECT")
			}
		})
	}
}

func TestStompReceipts(t *testing.T) {
	t.Parallel()
	s := newStompTestSystem(t, SessionConfig{})
	c, sess := openStomp(t, s)
	for i, fr := range []string{
		"SUBSCRIBE\nid:sub-0\ndestination:/topic/metrics\nreceipt:r-sub\n\n\x00",
		"SEND\ndestination:/app/subscribe\nreceipt:r-send\ncontent-length:22\n\n{\"action\":\"subscribe\"}\x00",
		"ACK\nid:1\nreceipt:r-ack\n\n\x00",
		"NACK\nid:1\nreceipt:r-nack\n\n\x00",
		"UNSUBSCRIBE\nid:sub-0\nreceipt:r-unsub\n\n\x00",
		"SUBSCRIBE\nid:sub:1\ndestination:/topic/metrics\nreceipt:r\\cescaped\n\n\x00",
	} {
		sess.Receive([]byte(fr))
		waitFrames(t, c, i+2)
	}
	var got []string
	for _, f := range c.frames(t) {
		if f.frame.Command == stomp.CmdReceipt {
			got = append(got, f.frame.Header(stomp.HdrReceiptID))
		}
	}
	want := "r-sub r-send r-ack r-nack r-unsub r:escaped"
	if strings.Join(got, " ") != want {
		t.Fatalf("receipts %q, want %q", got, want)
	}
	if closed, _, _ := c.closeState(); closed {
		t.Fatal("closed")
	}
}

func TestStompDisconnect(t *testing.T) {
	t.Parallel()
	s := newStompTestSystem(t, SessionConfig{})
	c, sess := openStomp(t, s)
	sess.Receive([]byte("SUBSCRIBE\nid:0\ndestination:/topic/metrics\n\n\x00DISCONNECT\nreceipt:77\n\n\x00"))
	code, _ := waitClosed(t, c)
	if code != closeNormal {
		t.Fatalf("code %d, want %d", code, closeNormal)
	}
	fs := c.frames(t)
	last := fs[len(fs)-1].frame
	if last.Command != stomp.CmdReceipt || last.Header(stomp.HdrReceiptID) != "77" {
		t.Fatalf("last frame %s %v, want RECEIPT 77", last.Command, last.Headers)
	}
}

func TestStompErrors(t *testing.T) {
	t.Parallel()
	const connect = "CONNECT\naccept-version:1.2\n\n\x00"
	tests := []struct {
		name      string
		cfg       SessionConfig
		in        []string
		wantCode  int
		wantMsg   string
		wantRcpt  string // receipt-id on the ERROR
		wantExtra string // a header "k:v" the ERROR must carry
	}{
		{"frame before CONNECT", SessionConfig{}, []string{"SUBSCRIBE\nid:0\ndestination:/topic/metrics\n\n\x00"}, closeProtocolError, "frame before CONNECT", "", ""},
		{"unsupported version", SessionConfig{}, []string{"CONNECT\naccept-version:2.0\n\n\x00"}, closeProtocolError, "unsupported protocol version", "", "version:1.0,1.1,1.2"},
		{"bad heart-beat", SessionConfig{}, []string{"CONNECT\naccept-version:1.2\nheart-beat:soon\n\n\x00"}, closeProtocolError, "invalid heart-beat header", "", ""},
		{"unknown command", SessionConfig{}, []string{connect, "FROB\nreceipt:9\n\n\x00"}, closeProtocolError, "unknown command", "9", ""},
		{"unknown destination", SessionConfig{}, []string{connect, "SUBSCRIBE\nid:0\ndestination:/topic/other\n\n\x00"}, closeProtocolError, "unknown destination", "", ""},
		{"SEND to a topic", SessionConfig{}, []string{connect, "SEND\ndestination:/topic/metrics\nreceipt:x\n\nhi\x00"}, closeProtocolError, "SEND to a topic is not allowed", "x", ""},
		{"SEND to an unknown destination", SessionConfig{}, []string{connect, "SEND\ndestination:/app/other\n\n\x00"}, closeProtocolError, "unknown destination", "", ""},
		{"SUBSCRIBE without id", SessionConfig{}, []string{connect, "SUBSCRIBE\ndestination:/topic/metrics\n\n\x00"}, closeProtocolError, "SUBSCRIBE without id", "", ""},
		{"duplicate id", SessionConfig{}, []string{connect, "SUBSCRIBE\nid:0\ndestination:/topic/metrics\n\n\x00SUBSCRIBE\nid:0\ndestination:/topic/metrics\n\n\x00"}, closeProtocolError, "duplicate subscription id", "", ""},
		{"too many subscriptions", SessionConfig{MaxSubscriptions: 1}, []string{connect, "SUBSCRIBE\nid:0\ndestination:/topic/metrics\n\n\x00SUBSCRIBE\nid:1\ndestination:/topic/metrics\n\n\x00"}, closePolicy, "too many subscriptions", "", ""},
		{"second CONNECT", SessionConfig{}, []string{connect, connect}, closeProtocolError, "already connected", "", ""},
		{"malformed frame", SessionConfig{}, []string{connect, "SEND\nno colon here\n\n\x00"}, closeProtocolError, "malformed frame", "", ""},
		{"bad escape", SessionConfig{}, []string{connect, "SEND\ndestination:/app\\tsubscribe\n\n\x00"}, closeProtocolError, "malformed frame", "", ""},
		{"frame over the limit", SessionConfig{Limits: stomp.Limits{MaxFrameSize: 64}}, []string{connect, "SEND\ndestination:/app/subscribe\n\n" + strings.Repeat("x", 100)}, closeTooBig, "body too large", "", ""},
		{"too many headers", SessionConfig{Limits: stomp.Limits{MaxHeaders: 2}}, []string{connect, "SEND\na:1\nb:2\nc:3\n\n\x00"}, closeTooBig, "too many headers", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newStompTestSystem(t, tt.cfg)
			c := &stompTestConn{}
			sess := s.sessions.Open(c)
			for _, in := range tt.in {
				sess.Receive([]byte(in))
			}
			code, reason := waitClosed(t, c)
			if code != tt.wantCode {
				t.Errorf("close code %d, want %d", code, tt.wantCode)
			}
			if reason == "" {
				t.Error("empty close reason")
			}
			fs := c.frames(t)
			last := fs[len(fs)-1].frame
			if last.Command != stomp.CmdError {
				t.Fatalf("last frame %s, want ERROR", last.Command)
			}
			if got := last.Header(stomp.HdrMessage); got != tt.wantMsg {
				t.Errorf("message %q, want %q", got, tt.wantMsg)
			}
			if got := last.Header(stomp.HdrReceiptID); got != tt.wantRcpt {
				t.Errorf("receipt-id %q, want %q", got, tt.wantRcpt)
			}
			if tt.wantExtra != "" {
				k, v, _ := strings.Cut(tt.wantExtra, ":")
				if got := last.Header(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestStompConnectTimeout(t *testing.T) {
	t.Parallel()
	s := newStompTestSystem(t, SessionConfig{ConnectTimeout: 30 * time.Millisecond})
	c := &stompTestConn{}
	s.sessions.Open(c)
	if code, _ := waitClosed(t, c); code != closePolicy {
		t.Fatalf("code %d, want %d", code, closePolicy)
	}
	if fs := c.frames(t); len(fs) != 1 || fs[0].frame.Header(stomp.HdrMessage) != "no CONNECT frame" {
		t.Fatalf("want one ERROR, got %d frames", len(fs))
	}
}

func TestStompHeartBeats(t *testing.T) {
	t.Parallel()
	cfg := SessionConfig{HeartBeatSend: 20 * time.Millisecond, HeartBeatReceive: 20 * time.Millisecond}

	t.Run("server sends at the negotiated interval", func(t *testing.T) {
		t.Parallel()
		s := newStompTestSystem(t, cfg)
		c := &stompTestConn{}
		sess := s.sessions.Open(c)
		sess.Receive([]byte("CONNECT\naccept-version:1.2\nheart-beat:0,20\n\n\x00"))
		start := time.Now()
		testutil.Eventually(t, "3 heart-beats", func() bool { return c.heartBeats() >= 3 })
		if el := time.Since(start); el < 50*time.Millisecond {
			t.Fatalf("3 heart-beats after %v: too fast for 20 ms", el)
		}
		for _, o := range c.outgoing() {
			if o.HeartBeat && string(o.Head) != "\n" {
				t.Fatalf("heart-beat head %q", o.Head)
			}
		}
		if closed, _, _ := c.closeState(); closed {
			t.Fatal("closed a client that does not send heart-beats (cx=0)")
		}
	})

	t.Run("silent client is closed", func(t *testing.T) {
		t.Parallel()
		s := newStompTestSystem(t, cfg)
		c := &stompTestConn{}
		sess := s.sessions.Open(c)
		start := time.Now()
		sess.Receive([]byte("CONNECT\naccept-version:1.2\nheart-beat:20,0\n\n\x00"))
		code, reason := waitClosed(t, c)
		if code != closePolicy || reason != reasonHeartBeat {
			t.Fatalf("closed %d %q", code, reason)
		}
		if el := time.Since(start); el < 40*time.Millisecond {
			t.Fatalf("closed after %v, before twice the interval", el)
		}
		if c.heartBeats() != 0 {
			t.Fatal("sent heart-beats to a client with cy=0")
		}
	})

	t.Run("client heart-beats keep it open", func(t *testing.T) {
		t.Parallel()
		// A wider interval than above: the server closes a client silent for
		// 2 × 250 ms, and this client beats every 10 ms, so only a stall of
		// half a second (not a busy machine's usual hiccup) could starve it.
		s := newStompTestSystem(t, SessionConfig{HeartBeatReceive: 250 * time.Millisecond})
		c := &stompTestConn{}
		sess := s.sessions.Open(c)
		sess.Receive([]byte("CONNECT\naccept-version:1.2\nheart-beat:250,0\n\n\x00"))
		waitFrames(t, c, 1) // CONNECTED: the server watches from here
		for start := time.Now(); time.Since(start) < 1500*time.Millisecond; {
			time.Sleep(10 * time.Millisecond) // the client's own heart-beat pace
			sess.Receive([]byte("\n"))
		}
		if closed, code, reason := c.closeState(); closed {
			t.Fatalf("closed %d %q while heart-beating", code, reason)
		}
		// The server was watching all along: silent now, the client is closed.
		if code, reason := waitClosed(t, c); code != closePolicy || reason != reasonHeartBeat {
			t.Fatalf("closed %d %q after the heart-beats stopped, want %d %q", code, reason, closePolicy, reasonHeartBeat)
		}
	})
}

func TestStompJSONForm(t *testing.T) {
	t.Parallel()
	s := newStompTestSystem(t, SessionConfig{})
	publish(s, testSnapshot(`{"summary":{"totalEvents":1}}`, time.UnixMilli(1_700_000_000_000)))

	c := &stompTestConn{}
	sess := s.sessions.Open(c)
	sess.Receive([]byte(`{"command":"SUBSCRIBE","destination":"/topic/metrics","id":"sub-0"}`))
	testutil.Eventually(t, "first snapshot", func() bool { return len(c.outgoing()) >= 1 })
	c.mu.Lock()
	framing := c.framing
	c.mu.Unlock()
	if framing != FramingJSON {
		t.Fatal("SetFraming(FramingJSON) not called")
	}
	o := c.outgoing()[0]
	if o.Head != nil || o.Shared == nil || string(o.Shared.JSON) != `{"summary":{"totalEvents":1}}` {
		t.Fatalf("got %+v", o)
	}

	// /app/subscribe and a receipt in the JSON form.
	sess.Receive([]byte(`{"command":"SEND","destination":"/app/subscribe","receipt":"r1","body":"{\"action\":\"subscribe\"}"}`))
	testutil.Eventually(t, "second snapshot and receipt", func() bool { return len(c.outgoing()) >= 3 })
	var sawReceipt bool
	for _, o := range c.outgoing()[1:] {
		if o.Shared == nil {
			sawReceipt = string(o.Head) == `{"receipt-id":"r1"}`
		}
	}
	if !sawReceipt {
		t.Fatal("no JSON receipt")
	}

	sess.Receive([]byte(`{"command":"FROB"}`))
	if code, _ := waitClosed(t, c); code != closeProtocolError {
		t.Fatalf("code %d", code)
	}
	out := c.outgoing()
	var e struct{ Error string }
	if err := json.Unmarshal(out[len(out)-1].Head, &e); err != nil || !strings.Contains(e.Error, "unknown command") {
		t.Fatalf("last unit %q, want a JSON error", out[len(out)-1].Head)
	}
}

func TestStompJSONFormErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"not JSON", `{"command":`, "malformed command"},
		{"unknown destination", `{"command":"SUBSCRIBE","destination":"/topic/x","id":"a"}`, "unknown destination"},
		{"SEND to a topic", `{"command":"SEND","destination":"/topic/metrics"}`, "SEND to a topic is not allowed"},
	}
	s := newStompTestSystem(t, SessionConfig{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := &stompTestConn{}
			s.sessions.Open(c).Receive([]byte(tt.in))
			if code, _ := waitClosed(t, c); code != closeProtocolError {
				t.Fatalf("code %d", code)
			}
			out := c.outgoing()
			var e struct{ Error string }
			if err := json.Unmarshal(out[len(out)-1].Head, &e); err != nil || !strings.HasPrefix(e.Error, tt.want) {
				t.Fatalf("got %q, want an error starting %q", out[len(out)-1].Head, tt.want)
			}
		})
	}
}

func TestStompConnectionPanicClosesOnlyIt(t *testing.T) {
	t.Parallel()
	s := newStompTestSystem(t, SessionConfig{})
	other, _ := openStomp(t, s)
	c := &stompTestConn{panicOnSend: true}
	s.sessions.Open(c).Receive([]byte("CONNECT\n\n\x00"))
	if code, _ := waitClosed(t, c); code != closeInternal {
		t.Fatalf("code %d, want %d", code, closeInternal)
	}
	if closed, _, _ := other.closeState(); closed {
		t.Fatal("a crash closed another session")
	}
	// The manager still opens sessions.
	openStomp(t, s)
}

func TestStompStopSessionsClosesClients(t *testing.T) {
	t.Parallel()
	s := newStompTestSystem(t, SessionConfig{})
	c, _ := openStomp(t, s)
	stopSessions(s)
	if code, _ := waitClosed(t, c); code != closeGoingAway {
		t.Fatalf("code %d, want %d", code, closeGoingAway)
	}
	late := &stompTestConn{}
	s.sessions.Open(late)
	if code, _ := waitClosed(t, late); code != closeGoingAway {
		t.Fatalf("late open: code %d, want %d", code, closeGoingAway)
	}
}

// A session queues a client's messages for its connection actor only up to
// MaxInboundPending; past it, it drops them and tells the actor once.
func TestSessionInboundBounded(t *testing.T) {
	t.Parallel()
	s := newStompTestSystem(t, SessionConfig{})
	release := make(chan struct{})
	var mu sync.Mutex
	var inbounds, overflows int
	pid := s.root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		switch ctx.Message().(type) {
		case *inbound:
			<-release
			mu.Lock()
			inbounds++
			mu.Unlock()
		case *inboundOverflow:
			mu.Lock()
			overflows++
			mu.Unlock()
		}
	}))
	defer s.root.Stop(pid)
	sess := &session{root: s.root, pid: pid, pending: new(atomic.Int64), limit: 1000}
	for range 20 {
		sess.Receive(make([]byte, 100)) // 164 each: six fit in 1000
	}
	if got := sess.pending.Load(); got != 6*inboundCost(make([]byte, 100)) {
		t.Fatalf("pending = %d bytes, want six messages' worth", got)
	}
	close(release)
	testutil.Eventually(t, "six messages and one overflow", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return inbounds == 6 && overflows == 1
	})
}

// The connection actor takes each message off the count as it reads it,
// and answers an overflow with an ERROR and a 1008 close.
func TestStompInboundOverflowCloses(t *testing.T) {
	t.Parallel()
	s := newStompTestSystem(t, SessionConfig{})
	c, sess := openStomp(t, s)
	ss := sess.(*session)
	testutil.Eventually(t, "the count back to zero", func() bool { return ss.pending.Load() == 0 })
	s.root.Send(ss.pid, &inboundOverflow{})
	if code, _ := waitClosed(t, c); code != closePolicy {
		t.Fatalf("close code %d, want %d", code, closePolicy)
	}
	fs := c.frames(t)
	last := fs[len(fs)-1].frame
	if last.Command != stomp.CmdError || last.Header(stomp.HdrMessage) != "Too many frames in flight" {
		t.Fatalf("last frame %s %q, want ERROR \"Too many frames in flight\"", last.Command, last.Header(stomp.HdrMessage))
	}
}
