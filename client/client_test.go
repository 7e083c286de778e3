package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eventara/eventara/client"
	"github.com/eventara/eventara/internal/testutil"
)

// These tests stand an httptest server in for Eventara, answering as its
// handlers do (transport/events.go), to reach the answers a real server
// gives rarely (503, 504, a dropped connection). test/client_test.go runs
// the client against the real binary.

// hit is one request the fake server saw.
type hit struct {
	at     time.Time
	method string
	uri    string // escaped path and query, as on the wire
	header http.Header
	body   string
}

// fake serves answer(n, request) for the n-th request (from 1) and records
// every request.
type fake struct {
	*httptest.Server
	mu   sync.Mutex
	hits []hit
}

func newFake(t *testing.T, answer func(n int, w http.ResponseWriter, r *http.Request)) *fake {
	t.Helper()
	f := &fake{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.hits = append(f.hits, hit{time.Now(), r.Method, r.URL.RequestURI(), r.Header.Clone(), string(b)})
		n := len(f.hits)
		f.mu.Unlock()
		answer(n, w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fake) seen() []hit {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]hit(nil), f.hits...)
}

// newClient returns a client of f with fast retries; its idle
// connections are closed when the test ends (TestMain checks for leaks).
func newClient(t *testing.T, base string, opts ...client.Option) *client.Client {
	t.Helper()
	opts = append([]client.Option{client.WithRetry(client.RetryPolicy{InitialBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond})}, opts...)
	c, err := client.New(base, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

func reply(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

const acceptedJSON = `{"eventId":"01M996RPAT0QGBMYB76HTTZYBM","eventType":"page_view","status":"accepted","receivedAt":"2026-12-07T21:32:42.202Z"}`

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Patience)
	t.Cleanup(cancel)
	return ctx
}

func TestNewRejectsBadBaseURL(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"", "localhost:8080", "ftp://host", "http://", "http://h/?a=b", "http://user:pw@h", "://x"} {
		if _, err := client.New(u); err == nil {
			t.Errorf("New(%q): no error", u)
		}
	}
}

func TestIngestSendsTheEventAndToken(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(_ int, w http.ResponseWriter, _ *http.Request) { reply(w, 202, acceptedJSON) })
	c := newClient(t, f.URL+"/prefix/", client.WithToken("s3cret"))
	ts := time.Date(2026, 12, 7, 21, 0, 0, 0, time.UTC)
	a, err := c.Ingest(ctxT(t), client.Event{EventType: "page_view", Source: "web", Timestamp: ts, Severity: client.SeverityError,
		Tags: map[string]string{"env": "prod"}, Metadata: map[string]any{"latency": 42}}, client.IdempotencyKey("k-1"))
	if err != nil {
		t.Fatal(err)
	}
	want := client.Accepted{EventID: "01M996RPAT0QGBMYB76HTTZYBM", EventType: "page_view", Status: "accepted",
		ReceivedAt: time.Date(2026, 12, 7, 21, 32, 42, 202e6, time.UTC)}
	if !a.ReceivedAt.Equal(want.ReceivedAt) || a.EventID != want.EventID || a.Status != want.Status || a.EventType != want.EventType {
		t.Errorf("Accepted = %+v, want %+v", a, want)
	}
	h := f.seen()[0]
	if h.method != "POST" || h.uri != "/prefix/api/v1/events" {
		t.Errorf("request %s %s, want POST /prefix/api/v1/events", h.method, h.uri)
	}
	for k, v := range map[string]string{"Authorization": "Bearer s3cret", "Content-Type": "application/json", "Idempotency-Key": "k-1"} {
		if got := h.header.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	wantBody := `{"eventType":"page_view","source":"web","timestamp":"2026-12-07T21:00:00Z","severity":"ERROR","tags":{"env":"prod"},"metadata":{"latency":42}}`
	if h.body != wantBody {
		t.Errorf("body\n%s\nwant\n%s", h.body, wantBody)
	}
}

func TestIngestOmitsUnsetFields(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(_ int, w http.ResponseWriter, _ *http.Request) { reply(w, 202, acceptedJSON) })
	c := newClient(t, f.URL)
	if _, err := c.Ingest(ctxT(t), client.Event{EventType: "a", Source: "b"}); err != nil {
		t.Fatal(err)
	}
	h := f.seen()[0]
	if h.body != `{"eventType":"a","source":"b"}` {
		t.Errorf("body %s", h.body)
	}
	if h.header.Get("Authorization") != "" {
		t.Errorf("Authorization %q sent without a token", h.header.Get("Authorization"))
	}
	if k := h.header.Get("Idempotency-Key"); len(k) != 32 {
		t.Errorf("generated Idempotency-Key %q, want 32 hex digits", k)
	}
}

func TestIngestRetries503HonouringRetryAfter(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			reply(w, 503, `{"status":"error","message":"ingest queue full, retry later"}`)
			return
		}
		reply(w, 202, acceptedJSON)
	})
	c := newClient(t, f.URL)
	if _, err := c.Ingest(ctxT(t), client.Event{EventType: "a", Source: "b"}); err != nil {
		t.Fatal(err)
	}
	hits := f.seen()
	if len(hits) != 2 {
		t.Fatalf("%d requests, want 2", len(hits))
	}
	if gap := hits[1].at.Sub(hits[0].at); gap < time.Second {
		t.Errorf("retried after %s, before the Retry-After of 1s", gap)
	}
	if k0, k1 := hits[0].header.Get("Idempotency-Key"), hits[1].header.Get("Idempotency-Key"); k0 == "" || k0 != k1 {
		t.Errorf("Idempotency-Key %q then %q: want the same key on a retry", k0, k1)
	}
	if hits[0].body != hits[1].body {
		t.Errorf("retry sent %q, first try %q", hits[1].body, hits[0].body)
	}
}

func TestIngestRetriesConnectionErrorsAnd504(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		switch n {
		case 1: // the connection drops without an answer
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		case 2:
			reply(w, 504, `{"status":"error","message":"no answer from the journal in time: the events may or may not have been stored"}`)
		default:
			reply(w, 202, acceptedJSON)
		}
	})
	c := newClient(t, f.URL)
	if _, err := c.Ingest(ctxT(t), client.Event{EventType: "a", Source: "b"}); err != nil {
		t.Fatal(err)
	}
	if n := len(f.seen()); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}

func TestBadRequestIsTypedAndNotRetried(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		reply(w, 400, `{"status":"error","message":"invalid event","errors":{"eventType":"must not be blank","severity":"must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL"}}`)
	})
	c := newClient(t, f.URL)
	_, err := c.Ingest(ctxT(t), client.Event{Source: "b", Severity: "loud"})
	var ae *client.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T), want an *APIError", err, err)
	}
	if ae.StatusCode != 400 || ae.Message != "invalid event" || ae.Errors["eventType"] != "must not be blank" || len(ae.Errors) != 2 {
		t.Errorf("APIError %+v", ae)
	}
	if !errors.Is(err, client.ErrInvalid) || errors.Is(err, client.ErrNotFound) {
		t.Errorf("errors.Is: ErrInvalid %v, ErrNotFound %v", errors.Is(err, client.ErrInvalid), errors.Is(err, client.ErrNotFound))
	}
	want := "eventara: POST /api/v1/events: 400 invalid event (eventType: must not be blank; severity: must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL)"
	if err.Error() != want {
		t.Errorf("error text\n%s\nwant\n%s", err, want)
	}
	if n := len(f.seen()); n != 1 {
		t.Errorf("%d requests, want 1: a 400 is never retried", n)
	}
}

func TestBatchRefusedWhole(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		reply(w, 400, `{"status":"error","message":"no valid event in batch","rejected":[{"index":0,"errors":{"eventType":"is required"}}]}`)
	})
	c := newClient(t, f.URL)
	_, err := c.IngestBatch(ctxT(t), []client.Event{{Source: "s"}})
	var ae *client.APIError
	if !errors.As(err, &ae) || len(ae.Rejected) != 1 || ae.Rejected[0].Index != 0 || ae.Rejected[0].Errors["eventType"] != "is required" {
		t.Fatalf("error %v, want an *APIError with one rejection", err)
	}
	if h := f.seen()[0]; h.body != `[{"eventType":"","source":"s"}]` || h.uri != "/api/v1/events/batch" {
		t.Errorf("sent %s %s", h.uri, h.body)
	}
}

func TestRetriesEndAtMaxAttempts(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		reply(w, 503, `{"status":"error","message":"disk full: 1 bytes free"}`)
	})
	c := newClient(t, f.URL, client.WithRetry(client.RetryPolicy{MaxAttempts: 3, InitialBackoff: time.Millisecond}))
	_, err := c.Ingest(ctxT(t), client.Event{EventType: "a", Source: "b"})
	if !errors.Is(err, client.ErrUnavailable) || !strings.Contains(err.Error(), "(3 attempts)") || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("error %v, want ErrUnavailable after 3 attempts with the server's message", err)
	}
	if n := len(f.seen()); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}

func TestRetryStopsBeforeTheDeadline(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "60")
		reply(w, 503, `{"status":"error","message":"journal failed: EIO"}`)
	})
	c := newClient(t, f.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	_, err := c.Ingest(ctx, client.Event{EventType: "a", Source: "b"})
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("gave up after %s: it should see at once that a Retry-After of 60s passes the deadline", took)
	}
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.RetryAfter != time.Minute || !strings.Contains(err.Error(), "deadline") {
		t.Errorf("error %v, want the 503 with its Retry-After and why retrying stopped", err)
	}
	if n := len(f.seen()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

// answered is a RoundTripper that reads each answer whole, then says so
// on its channel: the test knows the client has the answer in hand.
type answered struct {
	ch chan int
}

func (a answered) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(strings.NewReader(string(b)))
	a.ch <- resp.StatusCode
	return resp, nil
}

func TestCancelStopsRetrying(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "60")
		reply(w, 503, `{"status":"error","message":"shutting down"}`)
	})
	tr := answered{make(chan int, 10)}
	c := newClient(t, f.URL, client.WithHTTPClient(&http.Client{Transport: tr}))
	t.Cleanup(http.DefaultTransport.(*http.Transport).CloseIdleConnections)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := c.Ingest(ctx, client.Event{EventType: "a", Source: "b"})
		errc <- err
	}()
	testutil.Recv(t, tr.ch, testutil.Patience, "the first answer")
	cancel() // while it waits out the Retry-After, or just before
	err := testutil.Recv(t, errc, testutil.Patience, "Ingest's return after cancel")
	if !errors.Is(err, context.Canceled) || !errors.Is(err, client.ErrUnavailable) {
		t.Errorf("error %v, want context.Canceled and the last answer", err)
	}
	if n := len(f.seen()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestEventNotFound(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		reply(w, 404, `{"status":"error","message":"no event \"01M8HH73MCX5X3AMCJ1QSTMP9P\""}`)
	})
	c := newClient(t, f.URL)
	_, err := c.Event(ctxT(t), "01M8HH73MCX5X3AMCJ1QSTMP9P")
	if !errors.Is(err, client.ErrNotFound) {
		t.Errorf("error %v, want ErrNotFound", err)
	}
	if n := len(f.seen()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
	if _, err := c.Event(ctxT(t), ""); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("empty id: %v, want ErrNotFound", err)
	}
}

func TestEventsQuery(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		reply(w, 200, `{"events":[{"eventId":"01M996RPAT0QGBMYB76HTTZYBM","eventType":"a/b c","source":"web","timestamp":"2026-12-07T21:32:42.202Z","receivedAt":"2026-12-07T21:32:42.202Z","userId":"u1","severity":"ERROR","latency":42,"tags":{"a":"b"},"metadata":{"latency":42}}],"page":2,"size":5,"hasMore":true}`)
	})
	c := newClient(t, f.URL)
	p, err := c.Events(ctxT(t), client.EventQuery{Type: "a/b c", Page: 2, Size: 5})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.seen()[0].uri; got != "/api/v1/events/type/a%2Fb%20c?page=2&size=5" {
		t.Errorf("request %s", got)
	}
	if p.Page != 2 || p.Size != 5 || !p.HasMore || len(p.Events) != 1 {
		t.Fatalf("page %+v", p)
	}
	e := p.Events[0]
	if e.EventType != "a/b c" || e.Severity != client.SeverityError || e.Latency != 42 || e.Tags["a"] != "b" || string(e.Metadata) != `{"latency":42}` || e.UserID != "u1" {
		t.Errorf("event %+v", e)
	}
	if _, err := c.Events(ctxT(t), client.EventQuery{}); err != nil {
		t.Fatal(err)
	}
	if got := f.seen()[1].uri; got != "/api/v1/events" {
		t.Errorf("request %s, want /api/v1/events", got)
	}
}

func TestHealth(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		switch n {
		case 1:
			reply(w, 200, `{"status":"UP","build":{"version":"v1.2.3","commit":"abc","goVersion":"go1.26.8"},"timestamp":"1796679163455","journal":"writable","uptimeSeconds":3,"lastSnapshot":"2026-12-07T21:32:43.001Z","diskFreeBytes":74550980608,"diskFreeLimitBytes":536870912}`)
		case 2:
			reply(w, 503, `{"status":"DOWN","timestamp":"1796679163455","journal":"full","reason":"disk","uptimeSeconds":9}`)
		default:
			reply(w, 503, `{"status":"error","message":"too many connections: the server holds at most 1"}`)
		}
	})
	c := newClient(t, f.URL)
	h, err := c.Health(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if !h.Up() || h.Build.Version != "v1.2.3" || h.Uptime != 3*time.Second || h.Time.UnixMilli() != 1796679163455 ||
		h.LastSnapshot.IsZero() || !h.LastCheckpoint.IsZero() || h.DiskFreeBytes == nil || *h.DiskFreeLimitBytes != 536870912 {
		t.Errorf("health %+v", h)
	}
	h, err = c.Health(ctxT(t))
	if err != nil {
		t.Fatalf("a DOWN answer is no error: %v", err)
	}
	if h.Up() || h.Reason != "disk" || h.Journal != "full" || h.DiskFreeBytes != nil {
		t.Errorf("health %+v", h)
	}
	if _, err = c.Health(ctxT(t)); !errors.Is(err, client.ErrUnavailable) {
		t.Errorf("a 503 error body: %v, want ErrUnavailable", err)
	}
	if n := len(f.seen()); n != 3 {
		t.Errorf("%d requests, want 3: health is never retried", n)
	}
}

func TestNonJSONErrorAnswer(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(401)
		_, _ = io.WriteString(w, "<html>go away</html>")
	})
	c := newClient(t, f.URL)
	_, err := c.Metrics(ctxT(t))
	var ae *client.APIError
	if !errors.As(err, &ae) || !errors.Is(err, client.ErrUnauthorized) || ae.Message != "Unauthorized: <html>go away</html>" {
		t.Errorf("error %v", err)
	}
}

func TestMetricsDecodes(t *testing.T) {
	t.Parallel()
	body := `{"summary":{"totalEvents":2,"eventsPerSecond":0.03,"systemHealth":"critical","lastUpdated":"2026-12-07T21:32:43Z"},"throughput":{"peak":{"value":2,"timestamp":null}},"eventsBySeverity":{"ERROR":1}}`
	f := newFake(t, func(_ int, w http.ResponseWriter, _ *http.Request) { reply(w, 200, body) })
	c := newClient(t, f.URL)
	s, err := c.Metrics(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if s.Summary.TotalEvents != 2 || s.Summary.SystemHealth != "critical" || s.Throughput.Peak.Timestamp != nil ||
		s.EventsBySeverity[client.SeverityError] != 1 || !s.Summary.LastUpdated.Equal(time.Date(2026, 12, 7, 21, 32, 43, 0, time.UTC)) {
		b, _ := json.Marshal(s)
		t.Errorf("snapshot %s", b)
	}
}

func TestAnAnswerThatCannotBeReadIsNotRetried(t *testing.T) {
	t.Parallel()
	// A 202 whose body is cut short: the event may be stored, so sending
	// it again could store it twice.
	f := newFake(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", "500")
		w.WriteHeader(202)
		_, _ = io.WriteString(w, `{"eventId":"01M9`)
		w.(http.Flusher).Flush()
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	})
	c := newClient(t, f.URL)
	_, err := c.Ingest(ctxT(t), client.Event{EventType: "a", Source: "b"})
	if err == nil || !strings.Contains(err.Error(), "read 202 answer") {
		t.Errorf("error %v, want the 202 that could not be read", err)
	}
	if n := len(f.seen()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}
