package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Client talks to one Eventara server. Create it with New; it is safe for
// concurrent use.
type Client struct {
	base   *url.URL // scheme, host and path prefix, no trailing slash
	http   *http.Client
	owned  bool // http was made by New: CloseIdleConnections may close it
	token  string
	retry  RetryPolicy
	jitter func() float64
}

// Option configures a Client in New.
type Option func(*Client)

// WithHTTPClient makes the client send its requests with hc (its
// Transport, TLS settings, proxy, Timeout). Without it, the client uses a
// Transport of its own, cloned from http.DefaultTransport. The WebSocket
// of Subscribe is dialled with hc too; its Timeout then bounds only the
// handshake.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) { c.http, c.owned = hc, false }
}

// WithToken authenticates every request with token, as the server's
// --auth-tokens expect: "Authorization: Bearer <token>" on HTTP requests
// and on the WebSocket handshake, and the same header in the STOMP
// CONNECT frame. The token needs the ingest role to ingest, read to read
// metrics and events and to subscribe (admin grants both).
func WithToken(token string) Option {
	return func(c *Client) { c.token = token }
}

// WithRetry sets the retry policy (RetryPolicy's zero fields take its
// defaults). RetryPolicy{MaxAttempts: 1} turns retries off.
func WithRetry(p RetryPolicy) Option {
	return func(c *Client) { c.retry = p }
}

// New returns a client of the server at baseURL, such as
// "http://localhost:8080" (a path prefix, for a server behind a reverse
// proxy, is kept: "https://example.com/eventara").
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("eventara: base URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("eventara: base URL %q: want http:// or https:// and a host", baseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("eventara: base URL %q: no query, fragment or user info", baseURL)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	c := &Client{base: u, jitter: rand.Float64}
	for _, o := range opts {
		o(c)
	}
	if err := c.retry.validate(); err != nil {
		return nil, fmt.Errorf("eventara: %w", err)
	}
	c.retry = c.retry.withDefaults()
	if c.http == nil {
		c.http = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
		c.owned = true
	}
	return c, nil
}

// CloseIdleConnections closes the keep-alive connections the client's
// Transport holds idle. A client given its own http.Client leaves that
// one alone.
func (c *Client) CloseIdleConnections() {
	if c.owned {
		c.http.CloseIdleConnections()
	}
}

// maxResponse bounds a response body read into memory: a page of 100
// events of 16 KiB metadata each is 1.6 MiB, a snapshot tens of KiB.
const maxResponse = 32 << 20

// request is one API call.
type request struct {
	method string
	path   string // below the base URL, escaped, starting with "/"
	query  url.Values
	body   []byte // JSON, or nil
	header http.Header
	// retry allows retries (idempotent reads, and ingestion, which the
	// caller asked for).
	retry bool
	// accept lists further statuses whose body is decoded into out
	// instead of becoming an *APIError (health's 503 DOWN).
	accept []int
}

// do sends r, retrying as the policy says, and decodes a success's JSON
// body into out. Its errors name the operation.
func (c *Client) do(ctx context.Context, r request, out any) error {
	attempts := 1
	if r.retry {
		attempts = c.retry.MaxAttempts
	}
	for n := 1; ; n++ {
		status, err := c.once(ctx, r, out)
		if err == nil {
			return nil
		}
		if cerr := ctx.Err(); cerr != nil {
			if !errors.Is(err, cerr) {
				err = fmt.Errorf("%w (last: %w)", cerr, err)
			}
			return c.fail(r, n, err)
		}
		// Retry what did not get an answer (status 0: the connection
		// failed) and the answers that ask for it; not an answer that
		// came but could not be read (a 202 may be behind it).
		var retryAfter time.Duration
		var ae *APIError
		switch {
		case errors.As(err, &ae) && retryableStatus(status):
			retryAfter = ae.RetryAfter
		case status != 0:
			return c.fail(r, n, err)
		}
		if n >= attempts {
			return c.fail(r, n, err)
		}
		if serr := sleep(ctx, c.retry.backoff(n, retryAfter, c.jitter())); serr != nil {
			return c.fail(r, n, fmt.Errorf("%w (last: %w)", serr, err))
		}
	}
}

// fail names the operation and the number of tries in err. A transport
// error that the context's end caused already says so (context.Canceled
// or DeadlineExceeded, which errors.Is finds).
func (c *Client) fail(r request, attempts int, err error) error {
	if attempts > 1 {
		return fmt.Errorf("eventara: %s %s (%d attempts): %w", r.method, r.path, attempts, err)
	}
	return fmt.Errorf("eventara: %s %s: %w", r.method, r.path, err)
}

// once sends r once. It returns the status (0 when no response came) and
// nil, an *APIError, or a transport, reading or decoding error.
func (c *Client) once(ctx context.Context, r request, out any) (int, error) {
	u := c.url(r.path)
	if len(r.query) > 0 {
		u.RawQuery = r.query.Encode()
	}
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u.String(), body)
	if err != nil {
		return 0, err
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "eventara-go-client")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("read %d answer: %w", resp.StatusCode, err)
	}
	if len(b) > maxResponse {
		return resp.StatusCode, fmt.Errorf("response larger than %d bytes", maxResponse)
	}
	if resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("decode %d answer: %w", resp.StatusCode, err)
		}
		return resp.StatusCode, nil
	}
	// An accepted status still carries an error body when another check
	// (a connection limit, say) answered first: every error body says
	// "status":"error".
	var probe struct{ Status string }
	if slices.Contains(r.accept, resp.StatusCode) && json.Unmarshal(b, &probe) == nil && probe.Status != "error" &&
		json.Unmarshal(b, out) == nil {
		return resp.StatusCode, nil
	}
	return resp.StatusCode, apiError(resp, b)
}

// url is the base URL with path (escaped, as on the wire) appended.
func (c *Client) url(path string) *url.URL {
	u := *c.base
	u.RawPath = c.base.EscapedPath() + path
	if p, err := url.PathUnescape(u.RawPath); err == nil {
		u.Path = p
	}
	return &u
}
