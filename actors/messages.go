package actors

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/eventara/eventara/protocol/event"
	"github.com/eventara/eventara/snapshots"
)

// Messages of the ingest → aggregator → window pipeline and the scheduler.
// Each is an immutable pointer type: the sender never touches it again.

// ingestRequest asks the ingest actor to journal events (or a reset).
// It is answered exactly once, through answer: reply has room for that one
// result so no answerer blocks, and the answer gives the request's events
// back to admission.
type ingestRequest struct {
	events []event.Event
	reset  bool
	key    *IngestKey // set for a request sent with an Idempotency-Key
	reply  chan ingestResult
	// adm and cost are what System.Ingest admitted; answered makes the
	// first answer the only one (an abandoning supervisor and a failing
	// actor may both try).
	adm      *admission
	cost     int
	answered atomic.Bool
}

// size is what the request counts against MaxPendingEvents and
// MaxGroupEvents: its events, or one for a reset.
func (m *ingestRequest) size() int {
	if m.reset {
		return 1
	}
	return len(m.events)
}

// answer delivers res unless the request was answered already, and
// releases its admission. It never blocks.
func (m *ingestRequest) answer(res ingestResult) {
	if !m.answered.CompareAndSwap(false, true) {
		return
	}
	if m.adm != nil {
		m.adm.release(m.cost) // first: a caller that got its answer may ingest again at once
	}
	m.reply <- res
}

// ingestResult answers an ingestRequest: the events as stamped and journaled,
// or the error that kept them out.
type ingestResult struct {
	events   []event.Event
	replayed bool // answered from an earlier request with the same key
	err      error
}

// commitDone tells the ingest actor that the group it handed to the journal
// writer is durable (err nil) or failed. redelivered marks the copy a
// supervisor sent again after the ingest actor failed on the original.
type commitDone struct {
	flight uint64 // the group's number (ingestCarry.flights)
	group  []*ingestRequest
	recs   []event.Record
	// answered marks the keyed requests of group answered by the journal
	// writer (replayed, or refused for a key reused with another request):
	// none of their records is in recs.
	answered    map[*ingestRequest]bool
	err         error
	redelivered bool
}

// drainIngest asks the ingest actor to close done once no request is
// pending and no group in flight (used by Stop).
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
	m.answer(ingestResult{err: ErrRestarting}) // a no-op when answered already
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
		r.answer(ingestResult{err: fmt.Errorf("%w: %w: failed twice while answering a commit", ErrOutcomeUnknown, ErrRestarting)})
	}
}

func (m *finalCheckpoint) abandon(*System, *actor.PID) {
	m.answer(fmt.Errorf("final checkpoint: %w", ErrRestarting))
}

// answer delivers the checkpoint's outcome unless it was answered already.
func (m *finalCheckpoint) answer(err error) {
	select {
	case m.done <- err:
	default:
	}
}

func (m *rebuild) abandon(*System, *actor.PID) { m.answer() }

// answer closes done, once.
func (m *rebuild) answer() { m.once.Do(func() { close(m.done) }) }

// applyBatch hands journaled records, in journal order, to the aggregator
// and from it to every window actor. recs is shared and read-only; seq is
// the backlog's count of events handed over, this batch's included.
type applyBatch struct {
	recs []event.Record
	seq  uint64
	// pos and epoch are set in cluster mode (applier.go): each record's
	// stream sequence, and the rewind epoch it was read in.
	pos   []uint64
	epoch uint64
}

// Tick is the scheduler's once-per-interval message to the aggregator.
// At most one waits in the aggregator's mailbox (System.sendTick).
type Tick struct {
	Now time.Time
	// stream is set for a tick read from the cluster's stream (Now is then
	// its stream time): the applier waits for it.
	stream *streamTick
}

// abandon frees the tick's place when it was never handled (the
// aggregator failed on it, or a fault dropped it), so ticks go on.
func (m *Tick) abandon(sys *System, _ *actor.PID) {
	if m.stream != nil {
		m.stream.finish()
		return
	}
	sys.tickQueued.release()
}

// advanceWindow asks a window actor to slide to now and send its view to
// its parent (*windowView). The aggregator has at most one outstanding per
// window.
type advanceWindow struct {
	now time.Time
	seq uint64 // the aggregator's tick number
}

// abandon tells the aggregator that the window failed on the request, so
// it may ask again next tick.
func (m *advanceWindow) abandon(sys *System, to *actor.PID) {
	sys.root.Send(sys.aggregator, &windowView{window: to.Id, seq: m.seq, lost: true})
}

// windowView answers advanceWindow: the window's view as of the tick's
// now, or lost when the window failed on the request.
type windowView struct {
	window string // the window actor's path
	seq    uint64
	view   snapshots.WindowView
	lost   bool
}

// tickDeadline ends the wait for windows' views of tick seq: a window that
// has not answered is shown with its last view.
type tickDeadline struct {
	seq uint64
}

// windowStateRequest asks a window actor to send its checkpoint bytes to
// its parent (*windowState).
type windowStateRequest struct {
	seq uint64 // the aggregator's checkpoint number
}

func (m *windowStateRequest) abandon(sys *System, to *actor.PID) {
	sys.root.Send(sys.aggregator, &windowState{window: to.Id, seq: m.seq, err: ErrRestarting})
}

// windowState answers windowStateRequest.
type windowState struct {
	window string
	seq    uint64
	state  []byte
	err    error
}

// captureDeadline ends the wait for windows' states of checkpoint seq.
type captureDeadline struct {
	seq uint64
}

// checkpointDone reports a finished checkpoint write to the aggregator.
type checkpointDone struct {
	err error
}

// finalCheckpoint asks the aggregator for a checkpoint of everything
// applied, at stop; done (room for one) gets its outcome.
type finalCheckpoint struct {
	done chan error
}

// rebuild asks the aggregator for a snapshot now (after a reset, so the
// next read shows it); done is closed once the snapshot is published.
type rebuild struct {
	done chan struct{}
	once sync.Once
}
