package client

import (
	"net/http"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	t.Parallel()
	p := RetryPolicy{InitialBackoff: 100 * time.Millisecond, MaxBackoff: time.Second}.withDefaults()
	for _, tc := range []struct {
		name       string
		n          int
		retryAfter time.Duration
		r          float64
		want       time.Duration
	}{
		{"first retry, least jitter", 1, 0, 0, 50 * time.Millisecond},
		{"first retry, most jitter", 1, 0, 0.999999, 99999950 * time.Nanosecond},
		{"doubles", 3, 0, 0, 200 * time.Millisecond},
		{"capped", 5, 0, 0, 500 * time.Millisecond},
		{"capped, most jitter", 5, 0, 0.999999, 999999500 * time.Nanosecond},
		{"no overflow on many retries", 200, 0, 0, 500 * time.Millisecond},
		{"Retry-After is a floor above the cap", 1, 10 * time.Second, 0, 10 * time.Second},
		{"Retry-After gets up to a tenth of jitter", 1, 10 * time.Second, 0.5, 10*time.Second + 500*time.Millisecond},
		{"Retry-After below the backoff changes nothing", 4, 100 * time.Millisecond, 0, 400 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := p.backoff(tc.n, tc.retryAfter, tc.r); got != tc.want {
				t.Errorf("backoff(%d, %s, %v) = %s, want %s", tc.n, tc.retryAfter, tc.r, got, tc.want)
			}
		})
	}
}

func TestRetryPolicyDefaultsAndValidation(t *testing.T) {
	t.Parallel()
	got := RetryPolicy{}.withDefaults()
	want := RetryPolicy{MaxAttempts: DefaultMaxAttempts, InitialBackoff: DefaultInitialBackoff, MaxBackoff: DefaultMaxBackoff}
	if got != want {
		t.Errorf("zero policy with defaults = %+v, want %+v", got, want)
	}
	for _, bad := range []RetryPolicy{{MaxAttempts: -1}, {InitialBackoff: -time.Second}, {MaxBackoff: -1}} {
		if err := bad.validate(); err == nil {
			t.Errorf("%+v: validate passed, want an error", bad)
		}
	}
	if _, err := New("http://localhost:8080", WithRetry(RetryPolicy{MaxAttempts: -1})); err == nil {
		t.Error("New with MaxAttempts -1: no error")
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"10", 10 * time.Second},
		{" 1 ", time.Second},
		{"0", 0},
		{"-5", 0},
		{"soon", 0},
		{"99999999999", 24 * time.Hour},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
	} {
		if got := parseRetryAfter(tc.in, now); got != tc.want {
			t.Errorf("parseRetryAfter(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestRetryableStatus(t *testing.T) {
	t.Parallel()
	for code, want := range map[int]bool{
		200: false, 400: false, 401: false, 403: false, 404: false, 413: false, 415: false, 500: false,
		429: true, 502: true, 503: true, 504: true,
	} {
		if got := retryableStatus(code); got != want {
			t.Errorf("retryableStatus(%d) = %v, want %v", code, got, want)
		}
	}
}
