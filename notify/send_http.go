package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Headers of every HTTP delivery (webhook, Slack, Discord).
const (
	HeaderIdempotencyKey = "Idempotency-Key"      // "<alertId>:<transition>", lower-case transition
	HeaderAlertID        = "X-Eventara-Alert-Id"  // the alert id
	HeaderEvent          = "X-Eventara-Event"     // firing, resolved, test
	HeaderDelivery       = "X-Eventara-Delivery"  // the notification id
	HeaderTimestamp      = "X-Eventara-Timestamp" // Unix seconds, signed
	HeaderSignature      = "X-Eventara-Signature" // "sha256=" + hex HMAC-SHA256(secret, timestamp + "." + body)
)

// Sign returns the X-Eventara-Signature value of body sent at timestamp
// (the X-Eventara-Timestamp value) with secret.
func Sign(secret []byte, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify is what a receiver does with a signed delivery: it recomputes
// the signature over the timestamp and the raw body, compares in constant
// time, and refuses a timestamp further than tolerance from now (a
// replayed request). doc.go has the same recipe for other languages.
func Verify(secret []byte, timestamp, signature string, body []byte, now time.Time, tolerance time.Duration) error {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return errors.New("bad timestamp")
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return errors.New("timestamp outside the tolerance")
	}
	if !hmac.Equal([]byte(Sign(secret, timestamp, body)), []byte(signature)) {
		return errors.New("signature mismatch")
	}
	return nil
}

func (s *Sender) sendWebhook(ctx context.Context, w *WebhookConfig, n *Notification, a *Attempt) {
	body := WebhookBody(n)
	req, err := http.NewRequestWithContext(ctx, w.Method, string(w.URL), bytes.NewReader(body))
	if err != nil {
		a.Outcome, a.Error = Permanent, "cannot build the request: bad method or url"
		return
	}
	for k, v := range w.Headers {
		req.Header.Set(k, string(v))
	}
	if w.AuthToken != "" {
		req.Header.Set("Authorization", "Bearer "+string(w.AuthToken))
	}
	ts := strconv.FormatInt(s.cfg.Now().Unix(), 10)
	req.Header.Set(HeaderTimestamp, ts)
	if w.SigningSecret != "" {
		req.Header.Set(HeaderSignature, Sign([]byte(w.SigningSecret), ts, body))
	}
	s.do(req, n, a)
}

func (s *Sender) sendJSON(ctx context.Context, target string, body []byte, n *Notification, a *Attempt) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		a.Outcome, a.Error = Permanent, "cannot build the request: bad url"
		return
	}
	s.do(req, n, a)
}

// do sets the common headers, sends, and classifies the answer.
func (s *Sender) do(req *http.Request, n *Notification, a *Attempt) {
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", s.cfg.UserAgent)
	h.Set(HeaderIdempotencyKey, n.IdempotencyKey())
	h.Set(HeaderAlertID, n.Message.AlertID)
	h.Set(HeaderEvent, strings.ToLower(string(n.Message.Transition)))
	h.Set(HeaderDelivery, n.ID)
	resp, err := s.client.Do(req)
	if err != nil {
		a.Error = describeHTTPError(err)
		a.Outcome = Permanent
		if transient(err) {
			a.Outcome = Retryable
		}
		return
	}
	defer resp.Body.Close()
	excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, MaxResponseExcerpt))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // let the connection be reused
	a.StatusCode, a.Response = resp.StatusCode, cleanExcerpt(excerpt)
	a.Outcome = classifyHTTP(resp.StatusCode)
	switch {
	case a.Outcome == Success:
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		a.Error = fmt.Sprintf("HTTP %d: redirects are not followed", resp.StatusCode)
	default:
		a.Error = "HTTP " + strconv.Itoa(resp.StatusCode) + " " + http.StatusText(resp.StatusCode)
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		a.RetryAfter = retryAfter(resp.Header.Get("Retry-After"), s.cfg.Now())
	}
}

// classifyHTTP: 2xx success; 408, 425, 429 and 5xx retryable (except 501
// Not Implemented and 505, which will not change); the rest permanent.
func classifyHTTP(code int) Outcome {
	switch {
	case code >= 200 && code < 300:
		return Success
	case code == http.StatusRequestTimeout, code == http.StatusTooEarly, code == http.StatusTooManyRequests:
		return Retryable
	case code == http.StatusNotImplemented, code == http.StatusHTTPVersionNotSupported:
		return Permanent
	case code >= 500:
		return Retryable
	}
	return Permanent
}

// retryAfter parses a Retry-After value: seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil {
		if secs < 0 {
			return 0
		}
		return time.Duration(min(secs, 86400)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), 24*time.Hour)
	}
	return 0
}

// describeHTTPError drops the URL (it may hold a secret) from a client
// error and keeps what happened.
func describeHTTPError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out"
	case errors.Is(err, context.Canceled):
		return "canceled (the service is stopping)"
	}
	return clipLen(err.Error(), 300)
}

// cleanExcerpt makes a response excerpt valid one-line-ish text.
func cleanExcerpt(b []byte) string {
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	for len(s) > MaxResponseExcerpt {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return strings.TrimSpace(s)
}

func clipLen(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
