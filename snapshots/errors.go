package snapshots

import "errors"

// ErrBadCheckpoint is returned (wrapped) by UnmarshalBinary when a checkpoint
// is truncated or corrupt; the receiver is left unchanged.
var ErrBadCheckpoint = errors.New("snapshots: bad checkpoint")

// ErrCheckpointVersion is returned (wrapped, together with ErrBadCheckpoint)
// when a checkpoint was written by a format version this build cannot read.
var ErrCheckpointVersion = errors.New("unsupported checkpoint version")
