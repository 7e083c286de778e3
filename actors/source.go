package actors

import (
	"time"

	"github.com/eventara/eventara/journal"
	"github.com/eventara/eventara/protocol/event"
)

// A source is where the aggregator's input comes from: where the ingest
// actor appends, who hands the durable records to the aggregator, and
// what ticks. It is the one seam between one node and a cluster; two
// implementations sit side by side:
//
//   - localSource (source_local.go), one node: ingest appends to the
//     pebble journal (group commit, one group in flight) and hands each
//     durable group to the aggregator itself; the scheduler ticks on this
//     node's clock;
//   - streamSource (source_stream.go), cluster mode (stream.go): ingest
//     publishes to the cluster's replicated stream (several groups in
//     flight); the applier reads the whole stream in order and hands its
//     records and its ticks to the aggregator, so every node cuts the
//     same snapshot for the same tick.
//
// The aggregator, its windows, the topics and the subscriptions are the
// same actors in both, and so is the fan-out: every node builds the
// snapshot its own clients get, so a push never crosses nodes (topic.go).
type source interface {
	// appender returns where the ingest actor appends, over the node's
	// local journal j, and how it groups requests (maxGroup: Config.MaxGroupEvents).
	appender(j Journal, maxGroup int) (Appender, groupShape)
	// ingestHands says the ingest actor hands each durable group to the
	// aggregator (one node); otherwise the stream's reader does.
	ingestHands() bool
	// start starts the ticks once the actors are up: rec is what recovery
	// found, readAfter where cluster mode reads the stream from when not
	// after the checkpoint (a node starting from a shared checkpoint).
	start(rec *recovered, readAfter uint64) error
}

// groupShape is how the ingest actor groups requests: at most maxGroup
// events per group, maxInFlight groups in flight, and a group beyond the
// first only with minExtra events pending.
type groupShape struct {
	maxGroup, maxInFlight, minExtra int
}

// Appender is what the ingest actor needs of the journal.
type Appender interface {
	// Append journals recs, and keys (the Idempotency records of keyed
	// requests among them) in the same synced write.
	Append(recs []event.Record, keys ...journal.Idempotency) error
	// LookupIdempotency returns what the keyed request sent before with
	// key stored.
	LookupIdempotency(key string) (journal.Idempotency, bool, error)
}

// keyClaimer is what an Appender shared by several nodes (cluster mode's
// streamAppender) adds so that a key holds across them while a retry
// races the first request through another node: see ClaimKey and
// CompleteKey there.
type keyClaimer interface {
	ClaimKey(k journal.Idempotency) (prior journal.Idempotency, at time.Time, taken bool, err error)
	CompleteKey(prior journal.Idempotency, at time.Time, evs []event.Event) error
}
