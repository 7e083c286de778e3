package actors

import (
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

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
// writer is durable (err nil) or failed. redelivered marks the copy a
// supervisor sent again after the ingest actor failed on the original.
type commitDone struct {
	group       []*ingestRequest
	recs        []event.Record
	err         error
	redelivered bool
}

// drainIngest asks the ingest actor to close done once no request is
// pending and no group is in flight (used by Stop).
type drainIngest struct {
	done chan struct{}
}

// abandoner is implemented by messages whose sender waits for an answer.
// When the actor handling one fails, its supervisor calls abandon, so that
// no caller waits for an answer that will not come. It runs on the
// supervisor's goroutine and only sends.
type abandoner interface {
	abandon(sys *System, to *actor.PID)
}

func (m *ingestRequest) abandon(*System, *actor.PID) {
	select {
	case m.reply <- ingestResult{err: ErrRestarting}:
	default: // answered already
	}
}

// abandon hands a group whose journal write ended back to the restarted
// ingest actor, once: the records may be durable, so they must still reach
// the aggregator and their callers. A second failure fails the callers;
// what was journaled is counted after the next aggregator recovery.
func (m *commitDone) abandon(sys *System, to *actor.PID) {
	if !m.redelivered {
		again := *m
		again.redelivered = true
		sys.root.Send(to, &again)
		return
	}
	for _, r := range m.group {
		select {
		case r.reply <- ingestResult{err: fmt.Errorf("%w: %w: failed twice while answering a commit", ErrOutcomeUnknown, ErrRestarting)}:
		default:
		}
	}
}

func (m *finalCheckpoint) abandon(*System, *actor.PID) {
	select {
	case m.done <- fmt.Errorf("final checkpoint: %w", ErrRestarting):
	default:
	}
}

func (m *rebuild) abandon(*System, *actor.PID) { close(m.done) }

// applyBatch hands journaled records, in journal order, to the aggregator
// and from it to every window actor. recs is shared and read-only; seq is
// the backlog's count of events handed over, this batch's included.
type applyBatch struct {
	recs []event.Record
	seq  uint64
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
