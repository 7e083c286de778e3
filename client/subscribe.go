package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// SubscribeOption varies one Subscribe call.
type SubscribeOption func(*subscribeConfig)

type subscribeConfig struct {
	heartBeat        time.Duration
	maxMessage       int
	handshakeTimeout time.Duration
}

// Defaults of Subscribe.
const (
	// DefaultHeartBeat is the STOMP heart-beat offered both ways.
	DefaultHeartBeat = 10 * time.Second
	// DefaultMaxMessageSize bounds one WebSocket message (one snapshot).
	// The server keeps a snapshot to tens of KiB (spec/metrics.md,
	// Bounds).
	DefaultMaxMessageSize = 4 << 20
	// DefaultHandshakeTimeout bounds the WebSocket handshake plus STOMP's
	// CONNECT → CONNECTED.
	DefaultHandshakeTimeout = 10 * time.Second
)

// HeartBeat sets the STOMP heart-beat the subscription offers: it sends
// a heart-beat at least this often when the server wants them, and asks
// the server for one at least this often. The server's --stomp-heartbeat
// (10 s by default) is the shortest it agrees to; a session that hears
// nothing for twice the agreed interval is dropped and reconnected. Zero
// means DefaultHeartBeat, a negative d no heart-beats (a dead connection
// is then noticed only by TCP).
func HeartBeat(d time.Duration) SubscribeOption {
	return func(c *subscribeConfig) { c.heartBeat = d }
}

// MaxMessageSize bounds one message from the server; a larger one ends
// the session (and the subscription reconnects). Zero means
// DefaultMaxMessageSize.
func MaxMessageSize(n int) SubscribeOption {
	return func(c *subscribeConfig) { c.maxMessage = n }
}

// Subscription follows the live snapshot. Read C; when C is closed, Err
// says why.
type Subscription struct {
	// C delivers snapshots, oldest first. It holds one snapshot: a reader
	// slower than the server's tick (one a second) gets the newest one,
	// and the ones it missed are counted in Stats().Dropped, never queued.
	// C is closed when the Subscribe context ends or the server refuses
	// the subscription for good.
	C <-chan Snapshot

	c      chan Snapshot
	client *Client
	cfg    subscribeConfig
	url    string
	header http.Header

	received, dropped, connects atomic.Uint64
	connected                   atomic.Bool

	mu      sync.Mutex
	err     error // why C was closed
	lastErr error // why the last session ended or the last dial failed
}

// SubscriptionStats says how a Subscription fares.
type SubscriptionStats struct {
	// Received counts the snapshots decoded, Dropped those replaced by a
	// newer one before the reader took them.
	Received, Dropped uint64
	// Connects counts the STOMP sessions established: 1 plus the
	// reconnections.
	Connects uint64
	// Connected is true while a session is established.
	Connected bool
	// LastError is why the last session ended or the last connection
	// attempt failed; nil before the first.
	LastError error
}

// Stats returns the subscription's counters.
func (s *Subscription) Stats() SubscriptionStats {
	s.mu.Lock()
	last := s.lastErr
	s.mu.Unlock()
	return SubscriptionStats{Received: s.received.Load(), Dropped: s.dropped.Load(), Connects: s.connects.Load(),
		Connected: s.connected.Load(), LastError: last}
}

// Err is why C was closed: the context's error (context.Canceled or
// DeadlineExceeded) when it ended, else what the server refused the
// subscription with for good: an *APIError matching ErrUnauthorized or
// ErrForbidden from the handshake, or a *StompError answering CONNECT. It
// is nil while C is open.
func (s *Subscription) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Subscribe follows /topic/metrics over STOMP on the server's plain
// WebSocket endpoint (/ws). It returns at once; a goroutine connects
// (CONNECT with the client's token, SUBSCRIBE, heart-beats as HeartBeat
// says) and delivers each snapshot to the Subscription's C. When the
// connection drops, the server restarts or a connection attempt fails,
// it connects again after the client's RetryPolicy backoff (honouring a
// refused handshake's Retry-After), for as long as ctx lasts. It stops
// for good on a refusal that retrying cannot change: a handshake answered
// 4xx (401 or 403 for a bad token) or an ERROR frame answering CONNECT.
//
// When ctx ends the connection is closed, every goroutine of the
// subscription returns, and then C is closed.
func (c *Client) Subscribe(ctx context.Context, opts ...SubscribeOption) (*Subscription, error) {
	cfg := subscribeConfig{handshakeTimeout: DefaultHandshakeTimeout}
	for _, o := range opts {
		o(&cfg)
	}
	switch {
	case cfg.heartBeat == 0:
		cfg.heartBeat = DefaultHeartBeat
	case cfg.heartBeat < 0:
		cfg.heartBeat = 0
	}
	if cfg.maxMessage < 0 {
		return nil, fmt.Errorf("eventara: MaxMessageSize %d: must not be negative", cfg.maxMessage)
	}
	if cfg.maxMessage == 0 {
		cfg.maxMessage = DefaultMaxMessageSize
	}
	u := c.url("/ws")
	u.Scheme = map[string]string{"http": "ws", "https": "wss"}[u.Scheme]
	h := http.Header{"User-Agent": {"eventara-go-client"}}
	if c.token != "" {
		h.Set("Authorization", "Bearer "+c.token)
	}
	ch := make(chan Snapshot, 1)
	s := &Subscription{C: ch, c: ch, client: c, cfg: cfg, url: u.String(), header: h}
	go s.run(ctx)
	return s, nil
}

// permanentError marks a refusal that reconnecting cannot change.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// run connects, reads, and reconnects until ctx ends or a refusal is
// permanent; then it closes C.
func (s *Subscription) run(ctx context.Context) {
	failures := 0
	for {
		healthy, retryAfter, err := s.session(ctx)
		s.connected.Store(false)
		if ctx.Err() != nil {
			s.finish(ctx.Err())
			return
		}
		if perm := (*permanentError)(nil); errors.As(err, &perm) {
			s.setLast(perm.err)
			s.finish(perm.err)
			return
		}
		s.setLast(err)
		if healthy {
			failures = 0
		}
		failures++
		t := time.NewTimer(s.client.retry.backoff(failures, retryAfter, s.client.jitter()))
		select {
		case <-ctx.Done():
			t.Stop()
			s.finish(ctx.Err())
			return
		case <-t.C:
		}
	}
}

func (s *Subscription) setLast(err error) {
	s.mu.Lock()
	s.lastErr = err
	s.mu.Unlock()
}

// finish records why the subscription ended and closes C, last.
func (s *Subscription) finish(err error) {
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
	close(s.c)
}

// deliver hands snap to the reader, replacing a snapshot the reader has
// not taken yet. Only run's goroutine sends, so the second send cannot
// find C full.
func (s *Subscription) deliver(snap Snapshot) {
	s.received.Add(1)
	for {
		select {
		case s.c <- snap:
			return
		default:
		}
		select {
		case <-s.c:
			s.dropped.Add(1)
		default:
		}
	}
}
