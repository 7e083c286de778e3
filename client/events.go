package client

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Severity is an event's level. The server accepts any case; it answers
// in upper case.
type Severity string

// The severities, in increasing order. ERROR and CRITICAL count as errors.
const (
	SeverityDebug    Severity = "DEBUG"
	SeverityInfo     Severity = "INFO"
	SeverityWarning  Severity = "WARNING"
	SeverityError    Severity = "ERROR"
	SeverityCritical Severity = "CRITICAL"
)

// Event is what Ingest sends: POST /api/v1/events's body. EventType and
// Source are required, non-blank, at most 100 characters; the server
// checks every field and answers a 400 with field errors (*APIError) for
// anything it refuses.
type Event struct {
	EventType string `json:"eventType"`
	Source    string `json:"source"`
	// Timestamp is when the event happened; zero means "when the server
	// receives it".
	Timestamp time.Time `json:"timestamp,omitzero"`
	UserID    string    `json:"userId,omitempty"`
	SessionID string    `json:"sessionId,omitempty"`
	// Severity is empty for INFO.
	Severity Severity          `json:"severity,omitempty"`
	Tags     map[string]string `json:"tags,omitempty"`
	// Metadata is any JSON object; metadata["latency"], a number of
	// milliseconds, is the event's latency in the metrics (else the
	// server's receivedAt − Timestamp).
	Metadata map[string]any `json:"metadata,omitempty"`
}

// Accepted is the answer to one ingested event: it is durable (fsynced)
// on the server.
type Accepted struct {
	EventID    string    `json:"eventId"`
	EventType  string    `json:"eventType"`
	Status     string    `json:"status"` // "accepted"
	ReceivedAt time.Time `json:"receivedAt"`
}

// BatchResult is the answer to a batch: the valid events were stored (in
// order, EventIDs[i] for the i-th valid one), the others are listed in
// Rejected with their index in the batch.
type BatchResult struct {
	Accepted int         `json:"accepted"`
	EventIDs []string    `json:"eventIds"`
	Rejected []Rejection `json:"rejected"`
}

// Rejection is one refused event of a batch.
type Rejection struct {
	// Index is the event's position in the batch, from 0.
	Index int `json:"index"`
	// Errors maps each bad field to what is wrong with it.
	Errors map[string]string `json:"errors"`
}

// StoredEvent is an event as the server returns it: what was sent, its
// id and receivedAt stamped in journal order, and the latency it counts.
type StoredEvent struct {
	// EventID is a ULID: 26 characters, sortable by time.
	EventID    string    `json:"eventId"`
	EventType  string    `json:"eventType"`
	Source     string    `json:"source"`
	Timestamp  time.Time `json:"timestamp"`
	ReceivedAt time.Time `json:"receivedAt"`
	UserID     string    `json:"userId,omitempty"`
	SessionID  string    `json:"sessionId,omitempty"`
	Severity   Severity  `json:"severity"`
	// Latency in milliseconds, zero when not greater than zero.
	Latency float64           `json:"latency,omitempty"`
	Tags    map[string]string `json:"tags,omitempty"`
	// Metadata is the object as it was sent, nil when there was none.
	Metadata json.RawMessage `json:"metadata,omitempty"`
}

// Page is one page of events, newest first.
type Page struct {
	Events  []StoredEvent `json:"events"`
	Page    int           `json:"page"`
	Size    int           `json:"size"`
	HasMore bool          `json:"hasMore"`
}

// EventQuery selects a page of events.
type EventQuery struct {
	// Type, when not empty, lists only events of that eventType.
	Type string
	// Page counts from 0.
	Page int
	// Size is the page size, 1 to 100; zero means the server's 20.
	Size int
}

// IngestOption varies one Ingest or IngestBatch call.
type IngestOption func(*ingestOptions)

type ingestOptions struct {
	key string
}

// IdempotencyKey sends key as the call's Idempotency-Key header, on the
// first try and on every retry of it. Without this option each call
// sends a random key of its own.
//
// The server remembers the key for its --idempotency-window (24 h): a
// retry after an answer that leaves the outcome open (504, 502, or a
// connection lost after the request went out) gets the first try's
// answer and stores nothing. Keep the key to retry a call yourself, even
// across a restart of either side. The key with other events is refused
// with 422 (an *APIError, not retried).
func IdempotencyKey(key string) IngestOption {
	return func(o *ingestOptions) { o.key = key }
}

func (c *Client) ingestHeader(opts []IngestOption) (http.Header, error) {
	var o ingestOptions
	for _, f := range opts {
		f(&o)
	}
	if o.key == "" {
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("eventara: idempotency key: %w", err)
		}
		o.key = hex.EncodeToString(b[:])
	}
	return http.Header{"Idempotency-Key": {o.key}}, nil
}

// Ingest sends one event (POST /api/v1/events). A nil error means the
// server has stored it durably. It retries as the client's RetryPolicy
// says (see IdempotencyKey for what a retry may repeat); a 400 comes back
// at once as an *APIError with the server's field errors.
func (c *Client) Ingest(ctx context.Context, ev Event, opts ...IngestOption) (Accepted, error) {
	var a Accepted
	body, err := json.Marshal(ev)
	if err != nil {
		return a, fmt.Errorf("eventara: encode event: %w", err)
	}
	h, err := c.ingestHeader(opts)
	if err != nil {
		return a, err
	}
	err = c.do(ctx, request{method: http.MethodPost, path: "/api/v1/events", body: body, header: h, retry: true}, &a)
	return a, err
}

// IngestBatch sends up to 10,000 events in one request (POST
// /api/v1/events/batch, at most 10 MiB). Valid events are stored even
// when others are refused: BatchResult.Rejected lists those. A batch
// with no valid event is a 400 *APIError whose Rejected says why. Retries
// as Ingest does.
func (c *Client) IngestBatch(ctx context.Context, evs []Event, opts ...IngestOption) (BatchResult, error) {
	var r BatchResult
	if evs == nil {
		evs = []Event{}
	}
	body, err := json.Marshal(evs)
	if err != nil {
		return r, fmt.Errorf("eventara: encode batch: %w", err)
	}
	h, err := c.ingestHeader(opts)
	if err != nil {
		return r, err
	}
	err = c.do(ctx, request{method: http.MethodPost, path: "/api/v1/events/batch", body: body, header: h, retry: true}, &r)
	return r, err
}

// Events returns a page of stored events, newest first (GET
// /api/v1/events, or /api/v1/events/type/{type} when q.Type is set).
// Events past the server's retention are gone.
func (c *Client) Events(ctx context.Context, q EventQuery) (Page, error) {
	var p Page
	path := "/api/v1/events"
	if q.Type != "" {
		path += "/type/" + url.PathEscape(q.Type)
	}
	v := url.Values{}
	if q.Page != 0 {
		v.Set("page", strconv.Itoa(q.Page))
	}
	if q.Size != 0 {
		v.Set("size", strconv.Itoa(q.Size))
	}
	err := c.do(ctx, request{method: http.MethodGet, path: path, query: v, retry: true}, &p)
	return p, err
}

// Event returns one stored event (GET /api/v1/events/{id}). An unknown
// id, or one past the retention, is an error that errors.Is matches with
// ErrNotFound.
func (c *Client) Event(ctx context.Context, id string) (StoredEvent, error) {
	var e StoredEvent
	if id == "" {
		return e, fmt.Errorf("eventara: GET event: empty id: %w", ErrNotFound)
	}
	err := c.do(ctx, request{method: http.MethodGet, path: "/api/v1/events/" + url.PathEscape(id), retry: true}, &e)
	return e, err
}
