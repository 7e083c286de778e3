package journal

import "errors"

var (
	// ErrNotFound is returned by Get for an ID that was never appended, was
	// pruned by retention, or names a control record rather than an event.
	ErrNotFound = errors.New("journal: not found")
	// ErrClosed is returned by every method called after Close.
	ErrClosed = errors.New("journal: closed")
	// ErrInvalidArgument is returned for a negative page, a size below one,
	// a record with a zero ID or an unknown kind, or a Config without Dir.
	ErrInvalidArgument = errors.New("journal: invalid argument")
	// ErrCorrupt is returned by Get for a stored record that fails its
	// checksum. Replay cuts such records off instead of returning it.
	ErrCorrupt = errors.New("journal: corrupt record")
)
