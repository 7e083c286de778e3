package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"time"
)

// Outcome classifies one delivery attempt.
type Outcome string

// Outcomes. A RETRYABLE attempt is tried again after a backoff until the
// outbox gives up; a PERMANENT one is not tried again.
const (
	Success   Outcome = "SUCCESS"   // 2xx; the SMTP server took the mail
	Retryable Outcome = "RETRYABLE" // 5xx, 408, 429, timeouts, connection errors, SMTP 4xx
	Permanent Outcome = "PERMANENT" // other 4xx, redirects, SMTP 5xx, a config that cannot be sent
)

// Attempt is one try at delivering a notification: what the outbox
// journals and the delivery log shows. Strings in it never hold a secret
// of the channel (they are redacted).
type Attempt struct {
	// N numbers the notification's attempts from 1 (set by the outbox's
	// owner from Delivery.N).
	N     int       `json:"n"`
	Start time.Time `json:"start"`
	// Outcome is empty while the attempt is in flight (RecordSending).
	Outcome    Outcome       `json:"outcome,omitempty"`
	StatusCode int           `json:"statusCode,omitempty"` // HTTP status, or SMTP reply code
	Response   string        `json:"response,omitempty"`   // the start of the answer, at most MaxResponseExcerpt bytes
	Duration   time.Duration `json:"duration"`
	Error      string        `json:"error,omitempty"`
	// RetryAfter is what the receiver asked for (Retry-After of a 429 or
	// 503); the outbox waits at least that long, up to MaxRetryAfter.
	RetryAfter time.Duration `json:"retryAfter,omitempty"`
	Recipient  string        `json:"recipient,omitempty"` // masked (Channel.Recipient)
	// By names, in a cluster, the node that makes the attempt ("" on one
	// node): with N it tells an attempt from another deliverer's attempt
	// of the same notification (Outbox.Apply).
	By string `json:"by,omitempty"`
}

// MaxResponseExcerpt bounds Attempt.Response.
const MaxResponseExcerpt = 512

// SenderConfig configures a Sender. Zero values are the defaults.
type SenderConfig struct {
	// Timeout bounds one attempt, connection to answer. Zero means 10 s.
	Timeout time.Duration
	// Self refuses connections to the service itself at dial time (see
	// Self.DialControl); zero refuses loopback on every port, so set it.
	Self Self
	// RootCAs are the CAs trusted for HTTPS and SMTP TLS; nil means the
	// system's. (Tests pass their own CA; there is no "skip verify".)
	TLS *tls.Config
	// Now is the clock for the signature timestamp and attempt times;
	// nil means time.Now.
	Now func() time.Time
	// UserAgent of HTTP requests; "" means "Eventara-Notifier/1".
	UserAgent string
	// HELO is the name the SMTP client greets with; "" means "localhost".
	HELO string
}

// Sender delivers notifications. It is safe for concurrent use: the
// notifier's per-channel children share one.
type Sender struct {
	cfg    SenderConfig
	client *http.Client
	dialer *net.Dialer
}

// NewSender returns a Sender for cfg.
func NewSender(cfg SenderConfig) *Sender {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "Eventara-Notifier/1"
	}
	if cfg.HELO == "" {
		cfg.HELO = "localhost"
	}
	d := &net.Dialer{Timeout: cfg.Timeout, Control: cfg.Self.DialControl}
	tr := &http.Transport{
		Proxy:               nil, // a proxy would dial for us and bypass DialControl
		DialContext:         d.DialContext,
		TLSClientConfig:     tlsConfig(cfg.TLS, ""),
		TLSHandshakeTimeout: cfg.Timeout,
		MaxIdleConns:        16,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   true,
	}
	return &Sender{cfg: cfg, dialer: d, client: &http.Client{
		Transport: tr,
		Timeout:   cfg.Timeout,
		// A redirect could lead anywhere, the service itself included:
		// never follow one (a 3xx is a PERMANENT outcome).
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func tlsConfig(base *tls.Config, serverName string) *tls.Config {
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if base != nil {
		c = base.Clone()
		if c.MinVersion < tls.VersionTLS12 {
			c.MinVersion = tls.VersionTLS12
		}
	}
	if serverName != "" {
		c.ServerName = serverName
	}
	return c
}

// Close releases idle connections.
func (s *Sender) Close() { s.client.CloseIdleConnections() }

// Send makes one attempt at delivering n through ch and says how it went.
// It never panics and never blocks past the Sender's Timeout (or ctx).
// The returned Attempt has N unset: the caller sets it.
func (s *Sender) Send(ctx context.Context, ch *Channel, n *Notification) Attempt {
	start := s.cfg.Now()
	a := Attempt{Start: start, Recipient: ch.Recipient()}
	if ch.ChannelType != n.ChannelType || ch.ID != n.ChannelID {
		a.Outcome, a.Error = Permanent, "notification is for channel "+n.ChannelID+" ("+string(n.ChannelType)+"), not "+ch.ID
		return a
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	switch {
	case ch.Config.Webhook != nil:
		s.sendWebhook(ctx, ch.Config.Webhook, n, &a)
	case ch.Config.Slack != nil:
		s.sendJSON(ctx, string(ch.Config.Slack.URL), SlackBody(n), n, &a)
	case ch.Config.Discord != nil:
		s.sendJSON(ctx, string(ch.Config.Discord.URL), DiscordBody(n), n, &a)
	case ch.Config.Email != nil:
		s.sendEmail(ctx, ch.Config.Email, n, &a)
	default:
		a.Outcome, a.Error = Permanent, "channel has no config"
	}
	a.Duration = s.cfg.Now().Sub(start)
	secrets := ch.Config.Secrets()
	a.Error, a.Response = redact(a.Error, secrets), redact(a.Response, secrets)
	return a
}

// transient reports a network-level error worth retrying: timeouts,
// refused or reset connections, DNS failures. A refusal by Self is not.
func transient(err error) bool {
	if errors.Is(err, errSelf) {
		return false
	}
	var ne net.Error
	var oe *net.OpError
	var de *net.DNSError
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		errors.As(err, &ne) || errors.As(err, &oe) || errors.As(err, &de)
}
