package actors

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/eventara/eventara/cluster"
	"github.com/eventara/eventara/journal"
	"github.com/eventara/eventara/protocol/event"
)

// streamSource is cluster mode's source (source.go): the ingest actor
// publishes to the cluster's replicated stream (streamAppender: a 202
// after a quorum's acks, several groups in flight), and the applier
// (applier.go) reads the whole stream in order, copies its records into
// the local journal and hands them, and the stream's ticks, to the
// aggregator (stream.go explains the mode).
type streamSource struct {
	s *System
	c *clusterState
}

func (m streamSource) appender(j Journal, maxGroup int) (Appender, groupShape) {
	size, inFlight, minExtra := m.c.groupShape(maxGroup)
	return streamAppender{c: m.c, local: j}, groupShape{maxGroup: size, maxInFlight: inFlight, minExtra: minExtra}
}

// ingestHands is false: the applier hands the stream's records over, in
// stream order, on every node alike.
func (streamSource) ingestHands() bool { return false }

// start reads the stream after readAfter (or the checkpoint's sequence),
// whose ticks replace the scheduler, and starts publishing shared
// checkpoints.
func (m streamSource) start(rec *recovered, readAfter uint64) error {
	if readAfter == 0 {
		readAfter = rec.seq
	}
	if err := m.s.startApplier(readAfter); err != nil {
		return err
	}
	go m.c.shared.run(m.s.AlertingState)
	return nil
}

// streamAppender is the ingest actor's Appender in cluster mode: a group
// goes to the stream, acknowledged by a quorum, then its Idempotency-Keys
// as notes; keys are looked up in the local journal, where this node
// stores its own at once and the applier every node's (see IngestKeyed in
// cluster mode: README, "Cluster").
type streamAppender struct {
	c     *clusterState
	local Journal
}

// Append publishes recs and then, once every one is acknowledged, each
// key (the Idempotency record of a keyed request among them) as a note,
// so that every node's applier stores the key (applier's note) and a retry
// through any node is answered from it once that node has applied the
// note. A key is published only after all its events are stored, so a key
// found never names an event the stream lacks.
func (a streamAppender) Append(recs []event.Record, keys ...journal.Idempotency) error {
	start := time.Now()
	seq, err := a.c.pub.Append(context.Background(), recs)
	if err != nil {
		if errors.Is(err, cluster.ErrUnavailable) {
			return fmt.Errorf("%w: %w", ErrNoQuorum, err)
		}
		return fmt.Errorf("append %d records to the cluster stream: %w", len(recs), err)
	}
	a.c.metrics.ClusterPublished(time.Since(start))
	for {
		cur := a.c.acked.Load()
		if seq <= cur || a.c.acked.CompareAndSwap(cur, seq) {
			break
		}
	}
	for i := range keys {
		if err := a.publishKey(&keys[i]); err != nil {
			return fmt.Errorf("%w: events stored in the cluster but their Idempotency-Key not: %w", ErrOutcomeUnknown, err)
		}
	}
	if len(keys) > 0 {
		// The node that took the request knows the key at once, not only
		// once its applier reaches the note; kept synced, as on one node.
		if err := a.local.Append(nil, keys...); err != nil {
			return fmt.Errorf("%w: events stored in the cluster but their Idempotency-Key not: %w", ErrOutcomeUnknown, err)
		}
	}
	return nil
}

// publishKey publishes k as a note whose ID is its first event's (a
// publish retried after a lost ack is stored once).
func (a streamAppender) publishKey(k *journal.Idempotency) error {
	data, err := keyNote(noteKey, k)
	if err != nil {
		return err
	}
	_, err = a.c.pub.Note(context.Background(), "key-"+k.IDs[0].String(), data)
	return err
}

// The first byte of a note says what it carries: an Idempotency record
// stored with its events (noteKey), or one claiming its key (noteClaim).
const (
	noteKey   = 'K'
	noteClaim = 'C'
)

func keyNote(kind byte, k *journal.Idempotency) ([]byte, error) {
	data, err := k.MarshalBinary()
	if err == nil && len(k.IDs) == 0 {
		err = errors.New("idempotency key without events")
	}
	if err != nil {
		return nil, err
	}
	return append([]byte{kind}, data...), nil
}

// ClaimKey claims k's key in the whole cluster before its events are
// published (settleKeys), so that a retry racing the first request
// through another node, before that node has applied the first one's key
// note, is told apart: the claim's message ID is derived from the key, and
// the stream's duplicate window (StreamConfig.Duplicates) keeps the first.
// taken is false when this request won; otherwise prior is the first
// request's record, claimed at at, and, when the retry matches it,
// CompleteKey must succeed before the retry is answered from it.
func (a streamAppender) ClaimKey(k journal.Idempotency) (prior journal.Idempotency, at time.Time, taken bool, err error) {
	data, err := keyNote(noteClaim, &k)
	if err != nil {
		return prior, at, false, err
	}
	sum := sha256.Sum256([]byte(k.Key))
	cl, err := a.c.pub.Claim(context.Background(), "claim-"+hex.EncodeToString(sum[:]), data)
	if err != nil {
		if errors.Is(err, cluster.ErrUnavailable) {
			return prior, at, false, fmt.Errorf("%w: claim idempotency key: %w", ErrNoQuorum, err)
		}
		return prior, at, false, fmt.Errorf("claim idempotency key: %w", err)
	}
	if cl.Mine {
		return prior, at, false, nil
	}
	if len(cl.Data) == 0 || cl.Data[0] != noteClaim {
		return prior, at, false, fmt.Errorf("claim idempotency key: message %d is not a claim", cl.Seq)
	}
	if err := prior.UnmarshalBinary(cl.Data[1:]); err != nil {
		return prior, at, false, fmt.Errorf("claim idempotency key: %w", err)
	}
	return prior, cl.Time, true, nil
}

// CompleteKey makes sure the events of prior, the first request with a
// key claimed before (ClaimKey), are all in the stream, and its key note:
// the first request may have failed between its claim and its events'
// acks. evs are the retry's events replayed with prior's IDs and receive
// time, the bytes the first request published (same request: same
// fingerprint), so each is published again under its own ID and stored
// at most once. Safe only within the duplicate window of the first's
// records: for a claim older than half the window, the key must already
// be in the local journal (the first request's key note applied), or the
// retry is refused without storing anything.
func (a streamAppender) CompleteKey(prior journal.Idempotency, claimedAt time.Time, evs []event.Event) error {
	if time.Since(claimedAt) > a.c.cfg.Stream.Config().Duplicates/2 {
		if _, ok, err := a.local.LookupIdempotency(prior.Key); err != nil || !ok {
			return fmt.Errorf("the first request with this Idempotency-Key, claimed at %s, has not finished; retry after %s (%v)",
				prior.At.Format(time.RFC3339), a.c.cfg.Stream.Config().Duplicates, err)
		}
		return nil
	}
	recs := make([]event.Record, len(evs))
	for i := range evs {
		recs[i] = event.Record{Kind: event.KindEvent, Event: evs[i]}
	}
	if _, err := a.c.pub.Append(context.Background(), recs); err != nil {
		if errors.Is(err, cluster.ErrUnavailable) {
			return fmt.Errorf("%w: %w", ErrNoQuorum, err)
		}
		return fmt.Errorf("append %d records to the cluster stream: %w", len(recs), err)
	}
	if err := a.publishKey(&prior); err != nil {
		return fmt.Errorf("%w: events stored in the cluster but their Idempotency-Key not: %w", ErrOutcomeUnknown, err)
	}
	return nil
}

func (a streamAppender) LookupIdempotency(key string) (journal.Idempotency, bool, error) {
	return a.local.LookupIdempotency(key)
}
