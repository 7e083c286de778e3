package actors

import (
	"errors"
	"strconv"
	"time"

	"github.com/eventara/eventara/journal"
)

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

// ErrNotFound means no such event: unknown, or past the retention.
var ErrNotFound = journal.ErrNotFound

// DiskFullError refuses a write while the data directory is below its
// free-space floor (HTTP 503 "disk full: …").
type DiskFullError = journal.DiskFullError

// FailedError refuses every write once the journal has failed (an I/O
// error); reads go on until a restart.
type FailedError = journal.FailedError

// KeyReusedError refuses a request whose Idempotency-Key came before with
// another request (other events, or another endpoint): HTTP 422. Nothing
// was written.
type KeyReusedError struct {
	Key string
	At  time.Time // when the first request with the key was stored
}

func (e *KeyReusedError) Error() string {
	return "Idempotency-Key " + strconv.Quote(e.Key) + " was used at " + e.At.UTC().Format(time.RFC3339) +
		" with a different request; use a new key for a new request"
}
