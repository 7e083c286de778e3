package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// RetryPolicy says how often and how patiently a request is tried again.
// Zero fields take the documented defaults.
type RetryPolicy struct {
	// MaxAttempts bounds the tries of one request, the first included:
	// 1 means never retry. Zero means 5. A Subscription ignores it: it
	// reconnects until its context ends.
	MaxAttempts int
	// InitialBackoff is the wait before the first retry; the n-th retry
	// waits InitialBackoff·2^(n-1), capped at MaxBackoff, of which the
	// upper half is random (so clients that failed together spread out).
	// Zero means 100 ms.
	InitialBackoff time.Duration
	// MaxBackoff caps the computed wait. A server's Retry-After is
	// honoured even when longer. Zero means 5 s.
	MaxBackoff time.Duration
}

// Defaults of RetryPolicy.
const (
	DefaultMaxAttempts    = 5
	DefaultInitialBackoff = 100 * time.Millisecond
	DefaultMaxBackoff     = 5 * time.Second
)

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts == 0 {
		p.MaxAttempts = DefaultMaxAttempts
	}
	if p.InitialBackoff == 0 {
		p.InitialBackoff = DefaultInitialBackoff
	}
	if p.MaxBackoff == 0 {
		p.MaxBackoff = DefaultMaxBackoff
	}
	return p
}

func (p RetryPolicy) validate() error {
	switch {
	case p.MaxAttempts < 0:
		return fmt.Errorf("RetryPolicy.MaxAttempts %d: must be 0 (default) or more", p.MaxAttempts)
	case p.InitialBackoff < 0, p.MaxBackoff < 0:
		return errors.New("RetryPolicy: backoffs must not be negative")
	}
	return nil
}

// backoff is the wait before retry n (1 for the first retry), for a
// random draw r in [0, 1): half the capped exponential step, plus r times
// the other half ("equal jitter"). retryAfter, the server's wish, is a
// floor, to which up to a tenth more is added at random for the same
// reason.
func (p RetryPolicy) backoff(n int, retryAfter time.Duration, r float64) time.Duration {
	step := p.MaxBackoff
	if n-1 < 32 {
		if s := p.InitialBackoff << (n - 1); s > 0 && s < step {
			step = s
		}
	}
	d := step/2 + time.Duration(r*float64(step-step/2))
	if retryAfter > d {
		d = retryAfter + time.Duration(r*float64(retryAfter/10))
	}
	return d
}

// retryableStatus: the request was not served and may be sent again. 429
// (rate limit) and 503 (disk full, journal failed, queue full, shutting
// down) store nothing; 504 (the journal did not answer in time) and 502
// (a proxy in front lost the server) may have stored the events: the
// Idempotency-Key every ingest call sends makes the retry answer from them.
func retryableStatus(code int) bool {
	switch code {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// parseRetryAfter reads a Retry-After header, delay-seconds or an
// HTTP-date, as a duration from now; zero when absent or unreadable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		if n > int64(24*time.Hour/time.Second) {
			n = int64(24 * time.Hour / time.Second)
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// errDeadline says why retrying stopped before MaxAttempts.
var errDeadline = errors.New("the next try would start after the context's deadline")

// sleep waits d or until ctx ends. It gives up at once, with errDeadline,
// when ctx's deadline comes before d has passed: waiting for a try that
// cannot happen only delays the error.
func sleep(ctx context.Context, d time.Duration) error {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		return errDeadline
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
