package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/eventara/eventara/protocol/stomp"
)

// stompSubprotocols are offered in the handshake; the server picks the
// highest. STOMP's own accept-version then decides the version.
var stompSubprotocols = []string{"v12.stomp", "v11.stomp", "v10.stomp"}

const (
	metricsTopic   = "/topic/metrics"
	subscriptionID = "sub-0"
)

// session runs one connection: handshake, CONNECT, SUBSCRIBE, then
// snapshots until the connection ends. healthy says a snapshot arrived
// (so the next reconnection starts its backoff afresh); retryAfter is a
// refused handshake's Retry-After. A refusal that retrying cannot change
// is a *permanentError.
func (s *Subscription) session(ctx context.Context) (healthy bool, retryAfter time.Duration, err error) {
	hctx, cancel := context.WithTimeout(ctx, s.cfg.handshakeTimeout)
	defer cancel()
	conn, resp, err := websocket.Dial(hctx, s.url, &websocket.DialOptions{
		HTTPClient: s.client.http, HTTPHeader: s.header, Subprotocols: stompSubprotocols,
		// The server compresses each snapshot once for every subscriber
		// that offers this (about a tenth of the bytes).
		CompressionMode: websocket.CompressionNoContextTakeover,
	})
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			body, _ := io.ReadAll(resp.Body) // at most 1 KiB, kept by websocket.Dial
			ae := apiError(resp, body)
			err = fmt.Errorf("eventara: WebSocket handshake: %w", ae)
			if resp.StatusCode/100 == 4 && resp.StatusCode != http.StatusRequestTimeout && resp.StatusCode != http.StatusTooManyRequests {
				return false, 0, &permanentError{err}
			}
			return false, ae.RetryAfter, err
		}
		return false, 0, fmt.Errorf("eventara: %w", err)
	}
	defer conn.CloseNow()
	conn.SetReadLimit(int64(s.cfg.maxMessage))
	sc := &stompConn{conn: conn, dec: stomp.NewDecoder(stomp.Limits{MaxFrameSize: s.cfg.maxMessage})}

	offer := stomp.HeartBeat{Send: s.cfg.heartBeat, Receive: s.cfg.heartBeat}
	connect := &stomp.Frame{Command: stomp.CmdConnect, Headers: []stomp.Header{
		{Key: stomp.HdrAcceptVersion, Value: stomp.SupportedVersions},
		{Key: stomp.HdrHost, Value: hostname(s.url)},
		{Key: stomp.HdrHeartBeat, Value: offer.String()},
	}}
	if s.client.token != "" {
		connect.Headers = append(connect.Headers, stomp.Header{Key: "Authorization", Value: "Bearer " + s.client.token})
	}
	if err := sc.write(hctx, connect); err != nil {
		return false, 0, err
	}
	var connected *stomp.Frame
	for connected == nil {
		if connected, err = sc.next(hctx); err != nil {
			return false, 0, fmt.Errorf("eventara: waiting for CONNECTED: %w", err)
		}
	}
	switch connected.Command {
	case stomp.CmdConnected:
	case stomp.CmdError:
		return false, 0, &permanentError{stompError(connected)}
	default:
		return false, 0, fmt.Errorf("eventara: %s frame answering CONNECT", connected.Command)
	}
	if v, ok := stomp.ParseVersion(connected.Header(stomp.HdrVersion)); ok {
		sc.version = v
	}
	sc.dec.SetVersion(sc.version)
	serverHB, err := stomp.ParseHeartBeat(connected.Header(stomp.HdrHeartBeat))
	if err != nil {
		return false, 0, fmt.Errorf("eventara: CONNECTED: %w", err)
	}
	// NegotiateHeartBeat speaks for the server: its send is how often the
	// server sends, its receive how often this client must.
	expect, sendEvery := stomp.NegotiateHeartBeat(offer, serverHB)
	subscribe := &stomp.Frame{Command: stomp.CmdSubscribe, Headers: []stomp.Header{
		{Key: stomp.HdrID, Value: subscriptionID},
		{Key: stomp.HdrDestination, Value: metricsTopic},
		{Key: stomp.HdrAck, Value: "auto"},
	}}
	if err := sc.write(hctx, subscribe); err != nil {
		return false, 0, err
	}
	s.connects.Add(1)
	s.connected.Store(true)

	var wg sync.WaitGroup
	hbCtx, stop := context.WithCancel(ctx)
	defer func() {
		stop()
		wg.Wait()
	}()
	if sendEvery > 0 {
		wg.Go(func() { sc.heartBeats(hbCtx, sendEvery) })
	}
	for {
		f, err := sc.nextWithin(ctx, 2*expect)
		if err != nil {
			return healthy, 0, err
		}
		if f == nil { // a heart-beat
			continue
		}
		switch f.Command {
		case stomp.CmdMessage:
			if f.Header(stomp.HdrSubscription) != subscriptionID {
				continue
			}
			var snap Snapshot
			if err := json.Unmarshal(f.Body, &snap); err != nil {
				s.setLast(fmt.Errorf("eventara: a /topic/metrics message is no snapshot: %w", err))
				continue
			}
			healthy = true
			s.deliver(snap)
		case stomp.CmdError:
			return healthy, 0, stompError(f)
		}
	}
}

func stompError(f *stomp.Frame) *StompError {
	return &StompError{Message: f.Header(stomp.HdrMessage), Body: string(f.Body)}
}

func hostname(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// stompConn is STOMP over one WebSocket: frames in text messages.
type stompConn struct {
	conn    *websocket.Conn
	dec     *stomp.Decoder
	version stomp.Version
	buf     []byte
}

// write sends one frame. Only the session's goroutine writes frames; the
// heart-beat goroutine writes through the same Conn, whose writes are
// safe for concurrent use.
func (c *stompConn) write(ctx context.Context, f *stomp.Frame) error {
	c.buf = stomp.AppendFrame(c.buf[:0], f, c.version)
	if err := c.conn.Write(ctx, websocket.MessageText, c.buf); err != nil {
		return fmt.Errorf("eventara: send %s: %w", f.Command, err)
	}
	return nil
}

// next returns the next frame, or nil for a heart-beat.
func (c *stompConn) next(ctx context.Context) (*stomp.Frame, error) {
	for {
		f, hb, err := c.dec.Next()
		if err != nil {
			return nil, fmt.Errorf("eventara: from the server: %w", err)
		}
		if f != nil || hb {
			return f, nil
		}
		_, data, err := c.conn.Read(ctx)
		if err != nil {
			return nil, fmt.Errorf("eventara: read: %w", err)
		}
		c.dec.Feed(data)
	}
}

// nextWithin is next, failing when nothing at all arrives within silence
// (no limit when silence is zero). A read cut short by its deadline
// closes the connection (websocket.Conn.Read does), which is what a
// silent server deserves.
func (c *stompConn) nextWithin(ctx context.Context, silence time.Duration) (*stomp.Frame, error) {
	if silence <= 0 {
		return c.next(ctx)
	}
	rctx, cancel := context.WithTimeout(ctx, silence)
	defer cancel()
	f, err := c.next(rctx)
	if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
		return nil, fmt.Errorf("eventara: nothing from the server for %s (heart-beats agreed): %w", silence, err)
	}
	return f, err
}

// heartBeats sends an EOL every interval until ctx ends or a write fails
// (the reader then sees the connection end).
func (c *stompConn) heartBeats(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	eol := []byte{'\n'}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := c.conn.Write(ctx, websocket.MessageText, eol); err != nil {
				return
			}
		}
	}
}
