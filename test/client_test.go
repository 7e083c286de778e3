package test

// The Go client (package client) against the real binary: ingestion and
// read-back, batches, field errors, retries, authentication, and the live
// subscription across a server restart. client's own tests cover what a
// real server does rarely on cue with stand-in servers.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/eventara/eventara/client"
	"github.com/eventara/eventara/internal/testutil"
)

// goClient is a client of base whose idle connections close with the test.
func goClient(t *testing.T, base string, opts ...client.Option) *client.Client {
	t.Helper()
	c, err := client.New(base, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

func patienceCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Patience)
	t.Cleanup(cancel)
	return ctx
}

// jsonKeys lists the object key paths of a JSON document ("a.b", "[]" for
// list items); the entries of the maps named in maps count as "*".
func jsonKeys(t *testing.T, b []byte, maps ...string) []string {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	var out []string
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, c := range v {
				if slices.Contains(maps, prefix) {
					k = "*"
				}
				if prefix != "" {
					k = prefix + "." + k
				}
				out = append(out, k)
				walk(k, c)
			}
		case []any:
			for _, c := range v {
				walk(prefix+"[]", c)
			}
		}
	}
	walk("", v)
	slices.Sort(out)
	return slices.Compact(out)
}

// checkClientType decodes the server's JSON into v refusing unknown
// fields, encodes v again, and wants the same keys: the client's type
// reads everything the server writes and invents nothing.
func checkClientType(t *testing.T, what string, raw []byte, v any, maps ...string) {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(raw))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		t.Fatalf("%s: the client's %T cannot read the server's JSON: %v\n%s", what, v, err, raw)
	}
	again, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if s, c := jsonKeys(t, raw, maps...), jsonKeys(t, again, maps...); !slices.Equal(s, c) {
		t.Errorf("%s: keys differ\nserver: %v\nclient: %v", what, s, c)
	}
}

func TestClientIngestAndReadBack(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := goClient(t, "http://"+s.addr)
	ctx := patienceCtx(t)

	h, err := c.Health(ctx)
	if err != nil || !h.Up() || h.Journal != "writable" || h.Build.GoVersion == "" {
		t.Fatalf("health %+v, %v", h, err)
	}
	ts := time.Now().Add(-time.Minute).UTC().Truncate(time.Millisecond)
	ev := client.Event{EventType: "checkout", Source: "shop", Timestamp: ts, UserID: "u-7", SessionID: "s-1",
		Severity: client.SeverityWarning, Tags: map[string]string{"env": "prod", "region": "eu"},
		Metadata: map[string]any{"latency": 125.5, "cart": map[string]any{"items": 3}}}
	a, err := c.Ingest(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	if a.Status != "accepted" || a.EventType != "checkout" || len(a.EventID) != 26 || a.ReceivedAt.IsZero() {
		t.Errorf("accepted %+v", a)
	}
	if _, err := c.Ingest(ctx, client.Event{EventType: "other", Source: "shop"}); err != nil {
		t.Fatal(err)
	}

	got, err := c.Event(ctx, a.EventID)
	if err != nil {
		t.Fatal(err)
	}
	if got.EventID != a.EventID || got.EventType != ev.EventType || got.Source != ev.Source || !got.Timestamp.Equal(ts) ||
		!got.ReceivedAt.Equal(a.ReceivedAt) || got.UserID != "u-7" || got.SessionID != "s-1" || got.Severity != client.SeverityWarning ||
		got.Latency != 125.5 || got.Tags["region"] != "eu" || len(got.Tags) != 2 {
		t.Errorf("read back %+v", got)
	}
	var meta map[string]any
	if err := json.Unmarshal(got.Metadata, &meta); err != nil || meta["latency"] != 125.5 {
		t.Errorf("metadata %s: %v", got.Metadata, err)
	}

	byType, err := c.Events(ctx, client.EventQuery{Type: "checkout"})
	if err != nil {
		t.Fatal(err)
	}
	if len(byType.Events) != 1 || byType.Events[0].EventID != a.EventID || byType.HasMore || byType.Size != 20 {
		t.Errorf("events of type checkout: %+v", byType)
	}
	page, err := c.Events(ctx, client.EventQuery{Size: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Events) != 1 || page.Events[0].EventType != "other" || !page.HasMore {
		t.Errorf("newest first, one per page: %+v", page)
	}
	page, err = c.Events(ctx, client.EventQuery{Size: 1, Page: 1})
	if err != nil || len(page.Events) != 1 || page.Events[0].EventID != a.EventID || page.HasMore {
		t.Errorf("second page: %+v, %v", page, err)
	}
	if _, err := c.Events(ctx, client.EventQuery{Size: 500}); !errors.Is(err, client.ErrInvalid) {
		t.Errorf("size 500: %v, want ErrInvalid", err)
	}

	if _, err := c.Event(ctx, "01M8HH73MCX5X3AMCJ1QSTMP9P"); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("unknown id: %v, want ErrNotFound", err)
	}
	if _, err := c.Event(ctx, "not-an-id"); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("malformed id: %v, want ErrNotFound", err)
	}

	var m client.Snapshot
	testutil.WaitFor(t, testutil.Patience, "both events in the metrics", func() error {
		if m, err = c.Metrics(ctx); err != nil {
			return err
		}
		if m.Summary.TotalEvents != 2 {
			return fmt.Errorf("totalEvents %d", m.Summary.TotalEvents)
		}
		return nil
	})
	if m.EventsByType["checkout"].Count != 1 || m.EventsBySeverity[client.SeverityWarning] != 1 || m.LatencyMetrics.MaxLatency < 125 ||
		m.UserMetrics.TopActiveUsers[0].UserID != "u-7" || m.Throughput.Peak.Timestamp == nil {
		t.Errorf("snapshot %+v", m)
	}

	// The types read every key the server writes, and write no other.
	_, raw := do(t, http.MethodGet, s.url("/api/v1/metrics"), "", nil)
	checkClientType(t, "GET /api/v1/metrics", raw, &client.Snapshot{}, "eventsByType", "eventsBySource", "eventsBySeverity")
	_, raw = do(t, http.MethodGet, s.url("/api/v1/events"), "", nil)
	checkClientType(t, "GET /api/v1/events", raw, &client.Page{}, "events[].tags")
}

func TestClientBatchPartialRejection(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := goClient(t, "http://"+s.addr)
	ctx := patienceCtx(t)

	res, err := c.IngestBatch(ctx, []client.Event{
		{EventType: "a", Source: "batch"},
		{EventType: "  ", Source: "batch", Severity: "LOUD"},
		{EventType: "b", Source: "batch", Severity: "error"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 2 || len(res.EventIDs) != 2 || len(res.Rejected) != 1 {
		t.Fatalf("batch result %+v", res)
	}
	if r := res.Rejected[0]; r.Index != 1 || r.Errors["eventType"] == "" || r.Errors["severity"] == "" {
		t.Errorf("rejection %+v, want index 1 with eventType and severity errors", r)
	}
	for i, want := range []string{"a", "b"} {
		e, err := c.Event(ctx, res.EventIDs[i])
		if err != nil || e.EventType != want {
			t.Errorf("event %d (%s): %+v, %v", i, res.EventIDs[i], e, err)
		}
	}

	_, err = c.IngestBatch(ctx, []client.Event{{Source: "batch"}, {EventType: "x"}})
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.StatusCode != 400 || len(ae.Rejected) != 2 || ae.Rejected[0].Errors["eventType"] != "must not be blank" ||
		ae.Rejected[1].Errors["source"] != "must not be blank" {
		t.Fatalf("a batch with no valid event: %v, want a 400 listing both", err)
	}
	if _, err := c.IngestBatch(ctx, nil); !errors.Is(err, client.ErrInvalid) {
		t.Errorf("an empty batch: %v, want ErrInvalid", err)
	}
	s.waitTotal(t, 2)
}

// countingProxy forwards to the server at target; before doing so it
// lets intercept answer a request itself (it returns true then). It
// records every request's arrival and Idempotency-Key.
type countingProxy struct {
	*httptest.Server
	mu       sync.Mutex
	arrivals []time.Time
	keys     []string
}

func newCountingProxy(t *testing.T, target string, intercept func(n int, w http.ResponseWriter, r *http.Request) bool) *countingProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	tr := &http.Transport{}
	rp.Transport = tr
	p := &countingProxy{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.arrivals = append(p.arrivals, time.Now())
		p.keys = append(p.keys, r.Header.Get("Idempotency-Key"))
		n := len(p.arrivals)
		p.mu.Unlock()
		if intercept != nil && intercept(n, w, r) {
			_, _ = io.Copy(io.Discard, r.Body)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		p.Close()
		tr.CloseIdleConnections()
	})
	return p
}

func (p *countingProxy) seen() ([]time.Time, []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.arrivals), slices.Clone(p.keys)
}

func TestClientFieldErrorsAreTypedAndNotRetried(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	p := newCountingProxy(t, "http://"+s.addr, nil)
	c := goClient(t, p.URL)
	_, err := c.Ingest(patienceCtx(t), client.Event{EventType: "", Source: "web", Severity: "LOUD", Tags: map[string]string{"": "x"}})
	var ae *client.APIError
	if !errors.As(err, &ae) || !errors.Is(err, client.ErrInvalid) {
		t.Fatalf("error %v (%T), want an *APIError matching ErrInvalid", err, err)
	}
	if ae.StatusCode != 400 || ae.Message != "invalid event" || ae.Errors["eventType"] != "must not be blank" ||
		ae.Errors["severity"] != "must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL" {
		t.Errorf("APIError %+v", ae)
	}
	if arrivals, _ := p.seen(); len(arrivals) != 1 {
		t.Errorf("%d requests reached the server, want 1: a 400 is never retried", len(arrivals))
	}
}

func TestClientRetries503HonouringRetryAfter(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	// In front of the real server, a proxy answers the first two tries as
	// an overloaded Eventara does, then lets the third through.
	p := newCountingProxy(t, "http://"+s.addr, func(n int, w http.ResponseWriter, r *http.Request) bool {
		if n > 2 {
			return false
		}
		w.Header().Set("Retry-After", "1")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, `{"status":"error","message":"ingest queue full, retry later"}`)
		return true
	})
	c := goClient(t, p.URL, client.WithRetry(client.RetryPolicy{MaxAttempts: 3, InitialBackoff: 10 * time.Millisecond}))
	a, err := c.Ingest(patienceCtx(t), client.Event{EventType: "retried", Source: "proxy"})
	if err != nil {
		t.Fatal(err)
	}
	arrivals, keys := p.seen()
	if len(arrivals) != 3 {
		t.Fatalf("%d tries, want 3", len(arrivals))
	}
	for i := 1; i < 3; i++ {
		if gap := arrivals[i].Sub(arrivals[i-1]); gap < time.Second {
			t.Errorf("try %d came %s after the one before, inside its Retry-After of 1s", i+1, gap)
		}
		if keys[i] == "" || keys[i] != keys[0] {
			t.Errorf("Idempotency-Key of try %d %q, of try 1 %q: want one key per call", i+1, keys[i], keys[0])
		}
	}
	page, err := c.Events(patienceCtx(t), client.EventQuery{Type: "retried"})
	if err != nil || len(page.Events) != 1 || page.Events[0].EventID != a.EventID {
		t.Errorf("stored: %+v, %v; want the one event, once", page, err)
	}
}

func TestClientSubscribeAcrossRestart(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	c := goClient(t, "http://"+s.addr)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sub, err := c.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	waitTotal := func(want uint64) client.Snapshot {
		t.Helper()
		deadline := time.After(testutil.Patience)
		for {
			select {
			case snap, ok := <-sub.C:
				if !ok {
					t.Fatalf("C closed: %v", sub.Err())
				}
				if snap.Summary.TotalEvents == want {
					return snap
				}
			case <-deadline:
				t.Fatalf("no snapshot with totalEvents %d within %s; stats %+v\n%s", want, testutil.Patience, sub.Stats(), s.logs)
			}
		}
	}
	if _, err := c.Ingest(patienceCtx(t), client.Event{EventType: "before", Source: "restart"}); err != nil {
		t.Fatal(err)
	}
	first := waitTotal(1)
	if first.EventsByType["before"].Count != 1 || sub.Stats().Connects != 1 {
		t.Errorf("first snapshot %+v, stats %+v", first.EventsByType, sub.Stats())
	}

	s.restartSameAddr()
	if _, err := c.Ingest(patienceCtx(t), client.Event{EventType: "after", Source: "restart"}); err != nil {
		t.Fatal(err)
	}
	second := waitTotal(2) // the total survived the restart, and the subscription found the new process
	if second.EventsByType["after"].Count != 1 {
		t.Errorf("second snapshot %+v", second.EventsByType)
	}
	if st := sub.Stats(); st.Connects < 2 || st.LastError == nil {
		t.Errorf("stats %+v, want a reconnection and why the first session ended", st)
	}

	cancel()
	for range sub.C {
	}
	if !errors.Is(sub.Err(), context.Canceled) {
		t.Errorf("Err %v, want context.Canceled", sub.Err())
	}
}

func TestClientAuthentication(t *testing.T) {
	s := startAuthServer(t)
	base := "http://" + s.addr
	ctx := patienceCtx(t)

	anon := goClient(t, base)
	if h, err := anon.Health(ctx); err != nil || !h.Up() {
		t.Errorf("health without a token: %+v, %v; it stays open", h, err)
	}
	if _, err := anon.Ingest(ctx, client.Event{EventType: "a", Source: "b"}); !errors.Is(err, client.ErrUnauthorized) {
		t.Errorf("ingest without a token: %v, want ErrUnauthorized", err)
	}
	ingest := goClient(t, base, client.WithToken(tokIngest))
	a, err := ingest.Ingest(ctx, client.Event{EventType: "a", Source: "b"})
	if err != nil {
		t.Fatalf("ingest with the ingest token: %v", err)
	}
	if _, err := ingest.Metrics(ctx); !errors.Is(err, client.ErrForbidden) {
		t.Errorf("metrics with the ingest token: %v, want ErrForbidden", err)
	}
	read := goClient(t, base, client.WithToken(tokRead))
	if _, err := read.Ingest(ctx, client.Event{EventType: "a", Source: "b"}); !errors.Is(err, client.ErrForbidden) {
		t.Errorf("ingest with the read token: %v, want ErrForbidden", err)
	}
	if e, err := read.Event(ctx, a.EventID); err != nil || e.EventID != a.EventID {
		t.Errorf("read back with the read token: %+v, %v", e, err)
	}

	sctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sub, err := read.Subscribe(sctx)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case snap, ok := <-sub.C:
		if !ok {
			t.Fatalf("subscription with the read token ended: %v", sub.Err())
		}
		if snap.Summary.LastUpdated.IsZero() {
			t.Errorf("snapshot %+v", snap.Summary)
		}
	case <-time.After(testutil.Patience):
		t.Fatalf("no snapshot with the read token; stats %+v", sub.Stats())
	}
	cancel()
	for range sub.C {
	}

	for _, tc := range []struct {
		token string
		want  error
	}{{"", client.ErrUnauthorized}, {"wrong-token", client.ErrUnauthorized}, {tokIngest, client.ErrForbidden}} {
		c := goClient(t, base, client.WithToken(tc.token))
		sub, err := c.Subscribe(patienceCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		for range sub.C {
			t.Errorf("token %q: a snapshot", tc.token)
		}
		if err := sub.Err(); !errors.Is(err, tc.want) {
			t.Errorf("subscribe with token %q: %v, want %v", tc.token, err, tc.want)
		}
	}
}
