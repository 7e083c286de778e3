package cluster

import (
	"errors"
	"fmt"
)

var (
	// ErrInvalidConfig is returned (wrapped) by Start, Node.Stream,
	// Stream.Publisher and Stream.Consume for a configuration that cannot
	// work: a missing name or directory, an address that does not parse,
	// a tick under a second.
	ErrInvalidConfig = errors.New("cluster: invalid configuration")
	// ErrInvalidArgument is returned (wrapped) by Append for a record with
	// a zero ID: the ID is the duplicate-detection key, so a record without
	// one could be stored twice by a retry.
	ErrInvalidArgument = errors.New("cluster: invalid argument")
	// ErrNotReady is returned (wrapped) by Start and Node.Stream when the
	// node, its JetStream meta leader or the stream's leader was not there
	// within the configured wait. Nothing is left running.
	ErrNotReady = errors.New("cluster: not ready")
	// ErrUnavailable is matched (errors.Is) by the *AppendError of an
	// Append that ran out of time: no quorum, no stream leader, an
	// election in progress, acks that did not come. Some records may
	// have been stored all the same; appending them again with the same
	// IDs within the duplicate window stores each once. HTTP maps it to
	// 503 with Retry-After.
	ErrUnavailable = errors.New("cluster: journal unavailable")
	// ErrRejected is matched by the *AppendError of an Append the stream
	// refused for good (a record over the server's payload limit, a
	// stream that no longer exists): retrying the same records cannot
	// succeed.
	ErrRejected = errors.New("cluster: record rejected")
	// ErrClosed is returned (wrapped) by calls on a Node after Shutdown
	// and by Append once the node's connection is closed.
	ErrClosed = errors.New("cluster: node shut down")
	// ErrCheckpointFormat is returned (wrapped) by DecodeSharedCheckpoint
	// for bytes that are not a shared checkpoint, or one of a format
	// version this build does not read.
	ErrCheckpointFormat = errors.New("cluster: not a shared checkpoint this build reads")
)

// AppendError is the error of an Append that did not get every record
// acknowledged. It matches ErrUnavailable or ErrRejected (errors.Is) and
// wraps the last failure, which may be a context error of the caller's.
type AppendError struct {
	// Acked is how many of the records were acknowledged: they are in the
	// stream, on a quorum of its replicas.
	Acked int
	// Failed is how many were not known to be acknowledged. They may or
	// may not be stored; appending them again with the same IDs within
	// the duplicate window stores each exactly once.
	Failed int
	// Attempts is how many publish rounds were made.
	Attempts int
	// Kind is ErrUnavailable or ErrRejected, or nil when the caller's
	// context was cancelled (Err then says so).
	Kind error
	// Err is the last failure seen.
	Err error
}

func (e *AppendError) Error() string {
	kind := "append canceled"
	if e.Kind != nil {
		kind = e.Kind.Error()
	}
	return fmt.Sprintf("%s: %d of %d records not acknowledged after %d attempts: %v",
		kind, e.Failed, e.Acked+e.Failed, e.Attempts, e.Err)
}

// Unwrap returns Kind and Err, so that errors.Is matches either.
func (e *AppendError) Unwrap() []error {
	if e.Kind == nil {
		return []error{e.Err}
	}
	return []error{e.Kind, e.Err}
}
