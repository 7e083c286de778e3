package transport

import (
	"math"

	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// RateLimit is the ingest rate allowed to each token (or, for requests
// without one, each client IP): a token bucket of Burst requests refilled
// at Rate per second. A POST to /api/v1/events or /api/v1/events/batch
// takes one (a batch counts as one request: its size is bounded by the
// batch limits). The zero value (Rate 0) means no limit.
type RateLimit struct {
	// Rate is the sustained number of ingest requests per second.
	Rate float64
	// Burst is the bucket's size. Zero means max(1, Rate).
	Burst int
	// Now is the clock the buckets refill by. Nil means time.Now; tests
	// give a fake one instead of sleeping.
	Now func() time.Time
}

// maxBuckets bounds the limiter's memory: past it, buckets idle long
// enough to be full again are dropped, and if none is, new keys share one
// overflow bucket (so a flood of addresses cannot grow the map).
const maxBuckets = 100_000

// rateLimiter keeps one token bucket (golang.org/x/time/rate) per key.
type rateLimiter struct {
	rate  float64
	burst int
	now   func() time.Time

	mu       sync.Mutex
	buckets  map[string]*rate.Limiter
	overflow *rate.Limiter
}

func newRateLimiter(l RateLimit) *rateLimiter {
	burst := l.Burst
	if burst <= 0 {
		burst = int(math.Ceil(math.Max(1, l.Rate)))
	}
	now := l.Now
	if now == nil {
		now = time.Now
	}
	return &rateLimiter{rate: l.Rate, burst: burst, now: now, buckets: make(map[string]*rate.Limiter),
		overflow: rate.NewLimiter(rate.Limit(l.Rate), burst)}
}

// take takes one token from key's bucket. When it is empty it returns
// false and how long until a token is back.
func (l *rateLimiter) take(key string) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= maxBuckets {
			l.sweep(now)
		}
		if len(l.buckets) >= maxBuckets {
			b = l.overflow
		} else {
			b = rate.NewLimiter(rate.Limit(l.rate), l.burst)
			l.buckets[key] = b
		}
	}
	l.mu.Unlock()
	if b.AllowN(now, 1) {
		return true, 0
	}
	return false, time.Duration((1 - b.TokensAt(now)) / l.rate * float64(time.Second))
}

// sweep drops buckets that have refilled: a new bucket would be the same.
func (l *rateLimiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		if b.TokensAt(now) >= float64(l.burst) {
			delete(l.buckets, k)
		}
	}
}

// limitIngest answers 429 with Retry-After (whole seconds, at least 1) to
// an ingest request over its token's or address's rate.
func limitIngest(l *rateLimiter, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || (r.URL.Path != "/api/v1/events" && r.URL.Path != "/api/v1/events/batch") {
			next.ServeHTTP(w, r)
			return
		}
		key := principal(r)
		if key == "" {
			key = "ip:" + clientIP(r.RemoteAddr)
		}
		ok, wait := l.take(key)
		if !ok {
			secs := int(math.Ceil(wait.Seconds()))
			if secs < 1 {
				secs = 1
			}
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			writeError(w, http.StatusTooManyRequests, "ingest rate limit exceeded: at most "+
				strconv.FormatFloat(l.rate, 'g', -1, 64)+" requests per second (burst "+
				strconv.Itoa(l.burst)+"); retry after "+strconv.Itoa(secs)+"s", nil)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// clientIP is the host part of a RemoteAddr. Proxies' X-Forwarded-For is
// not trusted: behind a proxy every client is the proxy.
func clientIP(remote string) string {
	if h, _, err := net.SplitHostPort(remote); err == nil {
		return h
	}
	return remote
}
