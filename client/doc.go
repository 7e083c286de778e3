// Package client is a Go client for Eventara's HTTP API and its live
// metrics push.
//
// A Client ingests events (Ingest, IngestBatch), reads them back (Events,
// Event), reads the metrics snapshot (Metrics) and the health answer
// (Health), and follows the snapshot live over STOMP on the plain
// WebSocket endpoint (Subscribe). Its types are the API's JSON shapes as
// the server writes them (README "HTTP API", spec/metrics.md).
//
// # Errors and retries
//
// Every answer that is not a success is an *APIError carrying the
// server's message and field errors; errors.Is matches it against
// ErrInvalid (400), ErrUnauthorized (401), ErrForbidden (403),
// ErrNotFound (404) and ErrUnavailable (503). A request that failed with
// 429, 502, 503, 504 or a connection error is tried again, at most
// RetryPolicy.MaxAttempts times in all, after a capped exponential
// backoff with jitter that is never shorter than the server's
// Retry-After, and never past the context's deadline. Other answers,
// 400 above all, are returned at once. Each ingest call sends one
// Idempotency-Key on all its tries, so a retry after a 502, a 504 or a
// connection lost mid-request is answered from the first try and stores
// nothing twice (IdempotencyKey).
//
// A Subscription refused for good ends with the handshake's *APIError or
// the ERROR frame's *StompError, which match ErrUnauthorized and
// ErrForbidden too.
//
// # Concurrency
//
// A Client is safe for concurrent use. A Subscription runs one goroutine
// for its whole life plus, while connected, one that sends heart-beats;
// both end when the Subscribe context ends, and the Subscription's
// channel is closed last (TestSubscribeNoLeakAfterCancel, with goleak in
// TestMain).
//
// The package writes no logs: what a caller may want to know comes back
// as errors and, for a Subscription, as its Stats.
package client
