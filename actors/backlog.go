package actors

import "sync/atomic"

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
