package transport

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// fakeClock is a clock the test moves by hand: rate limits are checked
// without sleeping, so a busy machine cannot refill a bucket behind the
// test's back.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time          { return c.now }
func (c *fakeClock) advance(d time.Duration) { c.now = c.now.Add(d) }

func TestRateLimiter(t *testing.T) {
	t.Parallel()
	clk := &fakeClock{now: time.Unix(0, 0)}
	l := newRateLimiter(RateLimit{Rate: 2, Burst: 3, Now: clk.Now})
	for i := range 3 {
		if ok, _ := l.take("a"); !ok {
			t.Fatalf("take %d refused", i)
		}
	}
	ok, wait := l.take("a")
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("fourth take: %v %v, want refused for 500ms", ok, wait)
	}
	if ok, _ := l.take("b"); !ok {
		t.Fatal("another key was limited")
	}
	clk.advance(499 * time.Millisecond)
	if ok, wait := l.take("a"); ok || wait != time.Millisecond {
		t.Fatalf("take 1ms before the refill: %v %v, want refused for 1ms", ok, wait)
	}
	clk.advance(time.Millisecond)
	if ok, _ := l.take("a"); !ok {
		t.Fatal("refilled token refused")
	}
	if ok, _ := l.take("a"); ok {
		t.Fatal("one token refilled, two taken")
	}
	// A long idle refills up to the burst, not beyond.
	clk.advance(time.Hour)
	for i := range 3 {
		if ok, _ := l.take("a"); !ok {
			t.Fatalf("take %d after an hour refused", i)
		}
	}
	if ok, _ := l.take("a"); ok {
		t.Fatal("more than the burst after an idle hour")
	}
}

func TestRateLimiterDefaultBurst(t *testing.T) {
	t.Parallel()
	clk := &fakeClock{now: time.Unix(0, 0)}
	for _, tc := range []struct {
		rate  float64
		burst int
	}{{0.5, 1}, {1, 1}, {5, 5}} {
		l := newRateLimiter(RateLimit{Rate: tc.rate, Now: clk.Now})
		for i := range tc.burst {
			if ok, _ := l.take("k"); !ok {
				t.Fatalf("rate %v: take %d refused", tc.rate, i)
			}
		}
		if ok, _ := l.take("k"); ok {
			t.Fatalf("rate %v: more than a burst of %d", tc.rate, tc.burst)
		}
	}
}

// TestRateLimiterBoundsItsBuckets: past maxBuckets, buckets that have
// refilled are dropped; while none has, new keys share one bucket.
func TestRateLimiterBoundsItsBuckets(t *testing.T) {
	t.Parallel()
	clk := &fakeClock{now: time.Unix(0, 0)}
	l := newRateLimiter(RateLimit{Rate: 1, Burst: 1, Now: clk.Now})
	for i := range maxBuckets {
		l.take(fmt.Sprint("k", i))
	}
	if ok, _ := l.take("overflow-1"); !ok {
		t.Fatal("first key past the cap refused: the overflow bucket starts full")
	}
	if ok, _ := l.take("overflow-2"); ok {
		t.Fatal("second key past the cap got a token: new keys should share the overflow bucket")
	}
	if len(l.buckets) != maxBuckets {
		t.Fatalf("%d buckets, want the cap %d", len(l.buckets), maxBuckets)
	}
	clk.advance(time.Second) // every bucket has refilled: a sweep drops them
	if ok, _ := l.take("fresh"); !ok {
		t.Fatal("new key after the sweep refused")
	}
	if len(l.buckets) != 1 {
		t.Fatalf("%d buckets after the sweep, want 1", len(l.buckets))
	}
}

// TestLimitIngest: only ingest POSTs are limited, per token or else per
// address; a refusal is a 429 with Retry-After in whole seconds, at least
// 1, and the request never reaches the handler.
func TestLimitIngest(t *testing.T) {
	t.Parallel()
	clk := &fakeClock{now: time.Unix(0, 0)}
	served := 0
	h := limitIngest(newRateLimiter(RateLimit{Rate: 0.4, Burst: 2, Now: clk.Now}),
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { served++; w.WriteHeader(http.StatusAccepted) }))
	do := func(method, path, remote, token string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, strings.NewReader("{}"))
		r.RemoteAddr = remote
		if token != "" {
			r = r.WithContext(context.WithValue(r.Context(), principalKey{}, token))
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	want := func(w *httptest.ResponseRecorder, code int, retryAfter string) {
		t.Helper()
		if w.Code != code || w.Header().Get("Retry-After") != retryAfter {
			t.Fatalf("got %d Retry-After %q (%s), want %d %q", w.Code, w.Header().Get("Retry-After"), w.Body, code, retryAfter)
		}
	}
	want(do("POST", "/api/v1/events", "192.0.2.1:1000", ""), 202, "")
	want(do("POST", "/api/v1/events/batch", "192.0.2.1:1001", ""), 202, "")
	w := do("POST", "/api/v1/events", "192.0.2.1:1002", "")
	want(w, 429, "3") // 2.5 s until a token, rounded up
	if !strings.Contains(w.Body.String(), "ingest rate limit exceeded: at most 0.4 requests per second (burst 2); retry after 3s") {
		t.Fatalf("429 body %s", w.Body)
	}
	want(do("POST", "/api/v1/events", "192.0.2.2:1000", ""), 202, "")        // another address
	want(do("POST", "/api/v1/events", "192.0.2.1:1003", "tok-a"), 202, "")   // a token is its own key
	want(do("GET", "/api/v1/events", "192.0.2.1:1004", ""), 202, "")         // reads are not limited,
	want(do("POST", "/api/v1/metrics/reset", "192.0.2.1:1005", ""), 202, "") // nor other POSTs
	clk.advance(2400 * time.Millisecond)
	want(do("POST", "/api/v1/events", "192.0.2.1:1006", ""), 429, "1") // 100 ms to go: at least 1
	clk.advance(100 * time.Millisecond)
	want(do("POST", "/api/v1/events", "192.0.2.1:1007", ""), 202, "")
	if served != 7 {
		t.Fatalf("handler served %d requests, want 7 (no refused one)", served)
	}
}
