package notify

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// received is one request a test receiver got.
type received struct {
	header http.Header
	method string
	body   []byte
}

// receiver is an httptest server answering with the codes of answer in
// turn (the last one repeats), recording every request.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []received
	answer []int
	header http.Header // added to every answer
}

func newReceiver(t *testing.T, answer ...int) *receiver {
	r := &receiver{answer: answer, header: http.Header{}}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, received{req.Header.Clone(), req.Method, body})
		code := r.answer[min(len(r.got), len(r.answer))-1]
		for k, v := range r.header {
			w.Header()[k] = v
		}
		r.mu.Unlock()
		w.WriteHeader(code)
		_, _ = io.WriteString(w, http.StatusText(code))
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

// fixedNow is a clock standing at ts.
func fixedNow(ts time.Time) func() time.Time { return func() time.Time { return ts } }

// The webhook request carries the body, the headers, the bearer token, and
// a signature a receiver verifies the documented way.
func TestWebhookSendSignedRequest(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, 204)
	now := time.Unix(1_790_000_000, 0)
	ch := newChannel(t, hookReq(rcv.URL+"/in", `,"method":"PUT","authToken":"`+secretToken+`","signingSecret":"`+secretSigning+`","headers":{"X-Team":"ops"}`))
	s := NewSender(SenderConfig{Self: testSelf, Now: fixedNow(now)})
	defer s.Close()
	n := notification(t, ch, firingRecord(60))
	a := s.Send(context.Background(), ch, &n)
	if a.Outcome != Success || a.StatusCode != 204 || a.Error != "" {
		t.Fatalf("attempt %+v", a)
	}
	got := rcv.requests()
	if len(got) != 1 {
		t.Fatalf("%d requests", len(got))
	}
	r := got[0]
	h := r.header
	for k, want := range map[string]string{
		"Content-Type": "application/json", "Authorization": "Bearer " + secretToken, "X-Team": "ops",
		"Idempotency-Key": "r1-1:firing", "X-Eventara-Alert-Id": "r1-1", "X-Eventara-Event": "firing",
		"X-Eventara-Delivery": "r1-1:FIRING:ch1", "X-Eventara-Timestamp": "1790000000",
	} {
		if h.Get(k) != want {
			t.Errorf("header %s = %q, want %q", k, h.Get(k), want)
		}
	}
	if r.method != "PUT" || string(r.body) != string(WebhookBody(&n)) {
		t.Errorf("%s %s", r.method, r.body)
	}
	// The receiver's side: recompute the HMAC over timestamp "." body.
	ts, sig := h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if err := Verify([]byte(secretSigning), ts, sig, r.body, now.Add(time.Minute), 5*time.Minute); err != nil {
		t.Fatalf("signature does not verify: %v (%s)", err, sig)
	}
	if !strings.HasPrefix(sig, "sha256=") || len(sig) != len("sha256=")+64 {
		t.Errorf("signature format %q", sig)
	}
	// Tampering with the body, the timestamp or the key fails; so does an old request.
	tampered := append([]byte(nil), r.body...)
	tampered[len(tampered)-2] ^= 1
	for name, err := range map[string]error{
		"body":      Verify([]byte(secretSigning), ts, sig, tampered, now, 5*time.Minute),
		"timestamp": Verify([]byte(secretSigning), "1790000001", sig, r.body, now, 5*time.Minute),
		"key":       Verify([]byte("another-secret-0123"), ts, sig, r.body, now, 5*time.Minute),
		"replay":    Verify([]byte(secretSigning), ts, sig, r.body, now.Add(time.Hour), 5*time.Minute),
	} {
		if err == nil {
			t.Errorf("tampered %s verified", name)
		}
	}
}

func TestUnsignedWebhookHasNoSignature(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, 200)
	ch := newChannel(t, hookReq(rcv.URL, ""))
	s := NewSender(SenderConfig{Self: testSelf})
	defer s.Close()
	n := notification(t, ch, firingRecord(60))
	if a := s.Send(context.Background(), ch, &n); a.Outcome != Success {
		t.Fatalf("%+v", a)
	}
	h := rcv.requests()[0].header
	if h.Get(HeaderSignature) != "" || h.Get("Authorization") != "" || rcv.requests()[0].method != "POST" {
		t.Errorf("headers %v", h)
	}
}

func TestHTTPOutcomeClassification(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_790_000_000, 0)
	cases := []struct {
		code       int
		retryAfter string
		want       Outcome
		wantAfter  time.Duration
	}{
		{200, "", Success, 0}, {202, "", Success, 0}, {204, "", Success, 0},
		{301, "", Permanent, 0}, {302, "", Permanent, 0},
		{400, "", Permanent, 0}, {401, "", Permanent, 0}, {403, "", Permanent, 0}, {404, "", Permanent, 0}, {410, "", Permanent, 0},
		{408, "", Retryable, 0}, {425, "", Retryable, 0},
		{429, "30", Retryable, 30 * time.Second},
		{429, now.Add(2 * time.Minute).UTC().Format(http.TimeFormat), Retryable, 2 * time.Minute},
		{429, "soon", Retryable, 0},
		{500, "", Retryable, 0}, {502, "", Retryable, 0}, {503, "7", Retryable, 7 * time.Second}, {504, "", Retryable, 0},
		{501, "", Permanent, 0},
	}
	s := NewSender(SenderConfig{Self: testSelf, Now: fixedNow(now)})
	defer s.Close()
	for _, c := range cases {
		rcv := newReceiver(t, c.code)
		if c.retryAfter != "" {
			rcv.header.Set("Retry-After", c.retryAfter)
		}
		rcv.header.Set("Location", "http://127.0.0.1:9/loop")
		ch := newChannel(t, hookReq(rcv.URL, ""))
		n := notification(t, ch, firingRecord(60))
		a := s.Send(context.Background(), ch, &n)
		if a.Outcome != c.want || a.StatusCode != c.code || a.RetryAfter != c.wantAfter {
			t.Errorf("%d (Retry-After %q): got %s %d after %s, want %s after %s", c.code, c.retryAfter, a.Outcome, a.StatusCode, a.RetryAfter, c.want, c.wantAfter)
		}
		if c.want != Success && (a.Error == "" || a.Response != http.StatusText(c.code)) {
			t.Errorf("%d: error %q response %q", c.code, a.Error, a.Response)
		}
		if len(rcv.requests()) != 1 {
			t.Errorf("%d: %d requests (a redirect followed?)", c.code, len(rcv.requests()))
		}
	}
}

func TestNetworkErrorsAreRetryable(t *testing.T) {
	t.Parallel()
	// A server that is gone: connection refused.
	gone := httptest.NewServer(http.NotFoundHandler())
	url := gone.URL
	gone.Close()
	// A server that answers too late: the sender's timeout.
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(release)
	s := NewSender(SenderConfig{Self: testSelf, Timeout: 300 * time.Millisecond})
	defer s.Close()
	for name, target := range map[string]string{"refused": url, "timeout": slow.URL} {
		ch := newChannel(t, hookReq(target, ""))
		n := notification(t, ch, firingRecord(60))
		a := s.Send(context.Background(), ch, &n)
		if a.Outcome != Retryable || a.Error == "" || a.StatusCode != 0 {
			t.Errorf("%s: %+v", name, a)
		}
		if name == "timeout" && a.Error != "timed out" {
			t.Errorf("timeout error %q", a.Error)
		}
	}
}

// Slack and Discord deliveries are POSTs of their own JSON with the
// de-duplication headers.
func TestChatSend(t *testing.T) {
	t.Parallel()
	for _, typ := range []ChannelType{TypeSlack, TypeDiscord} {
		rcv := newReceiver(t, 200)
		ch := newChannel(t, `{"channelType":"`+string(typ)+`","name":"c","config":{"url":"`+rcv.URL+`/hook/`+secretSlack+`"}}`)
		s := NewSender(SenderConfig{Self: testSelf})
		n := notification(t, ch, resolvedRecord(60, 120))
		a := s.Send(context.Background(), ch, &n)
		s.Close()
		if a.Outcome != Success || a.Recipient != MaskURL(string(ch.Config.Slack.urlOr(ch.Config.Discord)), true) {
			t.Fatalf("%s: %+v", typ, a)
		}
		r := rcv.requests()[0]
		var body map[string]any
		if err := json.Unmarshal(r.body, &body); err != nil || r.method != "POST" || r.header.Get("Idempotency-Key") != "r1-1:resolved" {
			t.Fatalf("%s: %s %v %v", typ, r.method, r.header, err)
		}
		key := map[ChannelType]string{TypeSlack: "blocks", TypeDiscord: "embeds"}[typ]
		if _, ok := body[key]; !ok {
			t.Errorf("%s body lacks %s: %s", typ, key, r.body)
		}
	}
}

// urlOr returns c's URL, or other's when c is nil (test helper).
func (c *ChatConfig) urlOr(other *ChatConfig) HookURL {
	if c != nil {
		return c.URL
	}
	return other.URL
}

func TestSendRefusesMismatchedChannel(t *testing.T) {
	t.Parallel()
	ch := newChannel(t, hookReq("https://a.example", ""))
	n := notification(t, ch, firingRecord(60))
	other := ch.Clone()
	other.ID = "ch2"
	s := NewSender(SenderConfig{Self: testSelf})
	defer s.Close()
	if a := s.Send(context.Background(), other, &n); a.Outcome != Permanent {
		t.Fatalf("%+v", a)
	}
}
