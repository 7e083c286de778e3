package actors

import (
	"time"

	"github.com/eventara/eventara/journal"
	"github.com/eventara/eventara/protocol/event"
)

// Journal is what the actor tree needs of the durable log: appends (by the
// ingest actor, see Appender), replay and checkpoints (recovery, the
// aggregator), retention, reads for the REST API, and the health of the
// storage under it. *journal.Journal, the pebble journal of one node, is
// the implementation today; a cluster's journal sits behind the same seam.
type Journal interface {
	Appender
	// Replay calls fn for each record after the one with ID after, in
	// journal order.
	Replay(after event.ID, fn func(*event.Record) error) error
	LoadCheckpoint() (cp journal.Checkpoint, ok bool, err error)
	SaveCheckpoint(journal.Checkpoint) error
	// Prune drops events received before the retention start;
	// PruneIdempotency forgets idempotency keys stored before `before`.
	Prune(before time.Time) (int, error)
	PruneIdempotency(before time.Time) (int, error)

	Get(id event.ID) (event.Event, error)
	List(page, size int, since time.Time) ([]event.Event, bool, error)
	ListByType(eventType string, page, size int, since time.Time) ([]event.Event, bool, error)

	// Probe writes to the storage to prove it writable; Writable reports
	// the last known state without writing; DiskStatus is the free space
	// against the limit.
	Probe() error
	Writable() error
	DiskStatus() journal.DiskStatus
	// The state log of rules and alerts (journal/statelog.go): synced
	// appends numbered from 1, replay after a number, and compaction into
	// one snapshot that covers the log up to a number.
	AppendState(records [][]byte) (uint64, error)
	ReplayState(after uint64, fn func(seq uint64, data []byte) error) error
	CompactState(upTo uint64, data []byte) error
	LoadStateSnapshot() (upTo uint64, data []byte, ok bool, err error)
	// NotifyLog is the notifier's state log (channels and outbox), with
	// its own numbering and compaction.
	NotifyLog() *journal.StateLog

	// SetFault makes appends fail with err (nil clears it): fault
	// injection for drills.
	SetFault(err error)
}

var _ Journal = (*journal.Journal)(nil)
