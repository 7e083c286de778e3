package actors

import (
	"time"

	"github.com/eventara/eventara/protocol/event"
	"github.com/eventara/eventara/snapshots"
)

// Messages of the ingest → aggregator → window pipeline and the scheduler.
// Each is an immutable pointer type: the sender never touches it again.

// ingestRequest asks the ingest actor to journal events (or a reset).
// reply has room for one result so the actor never blocks on it.
type ingestRequest struct {
	events []event.Event
	reset  bool
	reply  chan ingestResult
}

// ingestResult answers an ingestRequest: the events as stamped and journaled,
// or the error that kept them out.
type ingestResult struct {
	events []event.Event
	err    error
}

// commitDone tells the ingest actor that the group it handed to the journal
// writer is durable (err nil) or failed.
type commitDone struct {
	group []*ingestRequest
	recs  []event.Record
	err   error
}

// applyBatch hands journaled records, in journal order, to the aggregator
// and from it to every window actor. recs is shared and read-only.
type applyBatch struct {
	recs []event.Record
}

// Tick is the scheduler's once-per-interval message to the aggregator.
type Tick struct {
	Now time.Time
}

// advanceWindow asks a window actor to slide to now and answer its view.
type advanceWindow struct {
	now time.Time
}

// windowViewReply answers advanceWindow.
type windowViewReply struct {
	view snapshots.WindowView
}

// windowStateRequest asks a window actor for its checkpoint bytes.
type windowStateRequest struct{}

// windowStateReply answers windowStateRequest.
type windowStateReply struct {
	name  string
	state []byte
	err   error
}

// checkpointDone reports a finished checkpoint write to the aggregator.
type checkpointDone struct {
	err error
}

// finalCheckpoint asks the aggregator for a synchronous checkpoint at stop.
type finalCheckpoint struct {
	done chan error
}

// rebuild asks the aggregator for a snapshot now (after a reset, so the
// next read shows it); done is closed once the snapshot is published.
type rebuild struct {
	done chan struct{}
}
