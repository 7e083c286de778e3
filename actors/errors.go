package actors

import "errors"

// ErrOverloaded means the ingest queue is full; the caller should retry later
// (HTTP 503 with Retry-After). Nothing was written.
var ErrOverloaded = errors.New("ingest queue full")

// ErrJournal wraps a failed journal append: the events were not accepted.
var ErrJournal = errors.New("journal append failed")

// ErrStopped means the system is shutting down and takes no more work.
var ErrStopped = errors.New("actor system stopped")

// ErrOutcomeUnknown means the events may or may not be durable: the ingest
// actor failed while answering a commit that may have been synced. A client
// that retries may store them twice.
var ErrOutcomeUnknown = errors.New("outcome unknown: the events may have been stored")
