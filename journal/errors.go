package journal

import (
	"errors"
	"fmt"
)

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
	// ErrDiskFull is matched (errors.Is) by the *DiskFullError that Append,
	// SaveCheckpoint and Probe return while the free-space guard refuses
	// writes. Nothing was written; the caller may retry once space is back,
	// which the guard notices by itself.
	ErrDiskFull = errors.New("disk full")
	// ErrFailed is matched (errors.Is) by the *FailedError that every write
	// returns once the store hit an error it cannot continue from (an I/O
	// error in the commit path). Reads keep working; writes need a restart.
	ErrFailed = errors.New("journal failed")
)

// DiskFullError is a write refused by the free-space guard (see disk.go).
// Its message is meant for clients: it says how much is free and the limit,
// and where writes resume.
type DiskFullError struct {
	// FreeBytes is the space available in the data directory's file system
	// at the last check.
	FreeBytes uint64
	// LimitBytes is the floor below which writes are refused (0: the floor
	// is off and the refusal is the emergency ballast's).
	LimitBytes uint64
	// ResumeBytes is the free space at which writes resume.
	ResumeBytes uint64
	// BallastReleased says the disk actually ran out (ENOSPC) and the
	// emergency ballast was deleted to finish the write that hit it.
	BallastReleased bool
}

func (e *DiskFullError) Error() string {
	msg := fmt.Sprintf("disk full: %d bytes free, limit %d bytes; writes resume at %d bytes free", e.FreeBytes, e.LimitBytes, e.ResumeBytes)
	if e.BallastReleased {
		msg += " (the disk ran out and the emergency ballast was released)"
	}
	return msg
}

// Is makes errors.Is(err, ErrDiskFull) true.
func (e *DiskFullError) Is(target error) bool { return target == ErrDiskFull }

// FailedError is a write refused because the store failed (see fail.go).
type FailedError struct {
	// Cause is pebble's report of the failure.
	Cause string
	// InFlight is set on the one error returned by the write that failed:
	// its fsync failed, so its records may or may not be on disk (and may be
	// visible to reads). Later writes were refused and stored nothing.
	InFlight bool
}

func (e *FailedError) Error() string { return "journal failed: " + e.Cause }

// Is makes errors.Is(err, ErrFailed) true.
func (e *FailedError) Is(target error) bool { return target == ErrFailed }
