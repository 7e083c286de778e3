package actors

import "errors"

// ErrOverloaded means the ingest queue is full; the caller should retry later
// (HTTP 503 with Retry-After). Nothing was written.
var ErrOverloaded = errors.New("ingest queue full")

// ErrJournal wraps a failed journal append: the events were not accepted.
var ErrJournal = errors.New("journal append failed")

// ErrStopped means the system is shutting down and takes no more work.
var ErrStopped = errors.New("actor system stopped")
