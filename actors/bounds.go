package actors

import "sync/atomic"

// Ingestion is bounded by one figure, MaxPendingEvents, that covers every
// queue an accepted event passes through before the metrics have applied
// it: the ingest actor's mailbox and pending list (counted by admission)
// and the aggregator's and windows' mailboxes (counted by backlog).
//
// Queue: the ingest actor's mailbox and its pending group.
// Bound: MaxPendingEvents events, admitted events plus backlog.
// At the bound: System.Ingest answers ErrOverloaded at once, before the
// request reaches the mailbox (HTTP 503 with Retry-After); nothing queued.
// Guarded by TestIngestAdmittedBeforeTheMailbox (a stalled ingest actor:
// its mailbox never holds more than the bound) and TestBacklogBoundsIngestion.

// admission counts the events of ingest requests from the moment
// System.Ingest admits them until they are answered, whatever the answer
// (durable, refused by the journal, abandoned by a restart). A request is
// admitted only while admitted events plus the backlog plus its own stay
// within the bound, so a stalled or restarting ingest actor makes callers
// wait in HTTP handlers (each holding its own request) rather than pile
// messages up in a mailbox.
type admission struct {
	pending atomic.Int64
	max     int64
	backlog *backlog
}

// admit reserves n events, or reports false when they would pass the bound.
func (a *admission) admit(n int) bool {
	for {
		cur := a.pending.Load()
		if cur+int64(a.backlog.size())+int64(n) > a.max {
			return false
		}
		if a.pending.CompareAndSwap(cur, cur+int64(n)) {
			return true
		}
	}
}

// release gives back n events admitted before.
func (a *admission) release(n int) { a.pending.Add(-int64(n)) }

// backlog counts the events ingest has handed to the aggregator that some
// consumer of them (the aggregator's totals, or one of its windows) has not
// applied yet: what waits in their mailboxes. Ingest admits a request only
// while its pending events plus the backlog stay within MaxPendingEvents,
// so a stalled or crash-looping window makes ingestion answer 503
// (ErrOverloaded) instead of letting journaled batches pile up in memory.
//
// Counting is by sequence, not by messages, so a batch lost with a
// stopped or failed actor cannot leak: ingest numbers the events it hands
// over (sent), each applyBatch carries the running total after its last
// record, and each consumer records the highest it has handled (applied),
// including batches it skipped as already recovered. A consumer that
// rebuilt itself from the journal is marked applied up to what had been
// sent when it began reading, which the journal holds.
type backlog struct {
	sent    atomic.Uint64
	applied []atomic.Uint64 // 0: the aggregator; 1+: its windows, in spec order
}

func newBacklog(windows int) *backlog {
	return &backlog{applied: make([]atomic.Uint64, 1+windows)}
}

// hand counts n more events handed to the aggregator and returns the
// sequence the batch carries.
func (b *backlog) hand(n int) uint64 { return b.sent.Add(uint64(n)) }

// done records that consumer i has handled everything up to seq.
func (b *backlog) done(i int, seq uint64) {
	a := &b.applied[i]
	for {
		cur := a.Load()
		if seq <= cur || a.CompareAndSwap(cur, seq) {
			return
		}
	}
}

// doneAll marks every consumer as having handled everything up to seq.
func (b *backlog) doneAll(seq uint64) {
	for i := range b.applied {
		b.done(i, seq)
	}
}

// size is how many handed-over events the slowest consumer has not
// handled.
func (b *backlog) size() int {
	least := b.applied[0].Load()
	for i := 1; i < len(b.applied); i++ {
		least = min(least, b.applied[i].Load())
	}
	sent := b.sent.Load() // read after applied: sent >= every applied value
	return int(sent - min(least, sent))
}

// oneQueued bounds a stream of messages of one kind to one mailbox to at
// most one waiting at a time: the sender reserves before it sends and
// skips (coalesces) when the last one was not taken yet; the receiver
// releases when it takes the message, and so does the supervisor or the
// fault injector when the message is lost (abandon). A value that
// changes with every message (the newest tick, the newest snapshot) is
// then never behind by more than one.
type oneQueued struct {
	busy atomic.Bool
}

// reserve reports whether the caller may send now.
func (q *oneQueued) reserve() bool { return q.busy.CompareAndSwap(false, true) }

// release frees the place once the message was taken (or lost).
func (q *oneQueued) release() { q.busy.Store(false) }
