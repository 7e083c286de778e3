package client

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Sentinel errors. An *APIError matches the one of its status code with
// errors.Is, so callers can test for the kind of refusal and still read
// the server's message with errors.As.
var (
	// ErrInvalid: the server refused the request as malformed (400); the
	// *APIError's Errors (or Rejected, for a batch) say which field.
	ErrInvalid = errors.New("eventara: invalid request")
	// ErrUnauthorized: no token, or a token the server does not know (401).
	ErrUnauthorized = errors.New("eventara: unauthorized")
	// ErrForbidden: the token lacks the role the request needs (403).
	ErrForbidden = errors.New("eventara: forbidden")
	// ErrNotFound: no such event, or it is past the retention (404).
	ErrNotFound = errors.New("eventara: not found")
	// ErrUnavailable: the server could not take or answer the request
	// (503): a full disk, a failed journal, a full ingest queue, shutting
	// down, or no snapshot built yet. Returned only once the retries are
	// used up.
	ErrUnavailable = errors.New("eventara: unavailable")
)

// APIError is an answer other than a success: the status and what the
// server's JSON error body said ({"status":"error","message":…,
// "errors":{field:msg}}).
type APIError struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Message is the server's message, or the status text when the body
	// was not Eventara's JSON (a proxy's answer, say).
	Message string
	// Errors maps a field (eventType, tags.env, body, page, ...) to what
	// is wrong with it; nil when the server named no field.
	Errors map[string]string
	// Rejected holds each event's field errors when a whole batch was
	// refused because none of its events was valid.
	Rejected []Rejection
	// RetryAfter is the server's Retry-After, zero when it sent none.
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(e.StatusCode))
	b.WriteByte(' ')
	b.WriteString(e.Message)
	if len(e.Errors) > 0 {
		b.WriteString(" (")
		b.WriteString(fieldList(e.Errors))
		b.WriteByte(')')
	}
	for i, r := range e.Rejected {
		if i == 3 {
			b.WriteString(" [" + strconv.Itoa(len(e.Rejected)-3) + " more]")
			break
		}
		b.WriteString(" [" + strconv.Itoa(r.Index) + ": " + fieldList(r.Errors) + "]")
	}
	return b.String()
}

// Is matches the sentinel error of the status code.
func (e *APIError) Is(target error) bool {
	switch e.StatusCode {
	case http.StatusBadRequest:
		return target == ErrInvalid
	case http.StatusUnauthorized:
		return target == ErrUnauthorized
	case http.StatusForbidden:
		return target == ErrForbidden
	case http.StatusNotFound:
		return target == ErrNotFound
	case http.StatusServiceUnavailable:
		return target == ErrUnavailable
	}
	return false
}

// fieldList formats field errors sorted by field: "a: x; b: y".
func fieldList(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + m[k]
	}
	return strings.Join(parts, "; ")
}

// errorBody is the server's JSON error answer.
type errorBody struct {
	Status   string            `json:"status"`
	Message  string            `json:"message"`
	Errors   map[string]string `json:"errors"`
	Rejected []Rejection       `json:"rejected"`
}

// apiError builds the *APIError of a response with status code and body.
func apiError(resp *http.Response, body []byte) *APIError {
	e := &APIError{StatusCode: resp.StatusCode, RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
	var eb errorBody
	if json.Unmarshal(body, &eb) == nil && eb.Message != "" {
		e.Message, e.Errors, e.Rejected = eb.Message, eb.Errors, eb.Rejected
		return e
	}
	e.Message = http.StatusText(resp.StatusCode)
	if s := strings.TrimSpace(string(body)); s != "" {
		if len(s) > 200 {
			s = s[:200] + "…"
		}
		e.Message += ": " + strings.ToValidUTF8(s, "?")
	}
	return e
}

// StompError is an ERROR frame from the server: the session was refused
// or ended by it.
type StompError struct {
	// Message is the frame's message header (authentication required…,
	// invalid token, forbidden…, Slow consumer…).
	Message string
	// Body is the frame's body, the details.
	Body string
}

// Is matches ErrUnauthorized and ErrForbidden by the server's messages
// for a missing or unknown token ("authentication required…", "invalid
// token") and a token without the read role ("forbidden…").
func (e *StompError) Is(target error) bool {
	switch {
	case strings.HasPrefix(e.Message, "authentication required"), strings.HasPrefix(e.Message, "invalid token"):
		return target == ErrUnauthorized
	case strings.HasPrefix(e.Message, "forbidden"):
		return target == ErrForbidden
	}
	return false
}

func (e *StompError) Error() string {
	if e.Body == "" {
		return "STOMP ERROR: " + e.Message
	}
	return "STOMP ERROR: " + e.Message + ": " + e.Body
}
