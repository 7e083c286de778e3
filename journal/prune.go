package journal

import (
	"bytes"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/eventara/eventara/protocol/event"
)

// Prune deletes the records received before `before`, but none after the
// newest checkpoint's UpTo (state not yet checkpointed must stay
// replayable); with no checkpoint it deletes nothing. It returns how many
// events it deleted. Deletes are not synced: a crash can only bring back
// records that a later Prune deletes again.
func (j *Journal) Prune(before time.Time) (int, error) {
	if err := j.acquire(); err != nil {
		return 0, fmt.Errorf("prune journal: %w", err)
	}
	defer j.release()
	if err := j.failed(); err != nil {
		return 0, fmt.Errorf("prune journal: %w", err)
	}
	cp, ok, err := j.loadCheckpoint()
	if err != nil {
		return 0, fmt.Errorf("prune journal: %w", err)
	}
	if !ok {
		return 0, nil
	}
	upper := recordKey(event.MinID(before))
	if cpEnd := keyAfter(recordKey(cp.UpTo)); bytes.Compare(cpEnd, upper) < 0 {
		upper = cpEnd
	}
	it, err := j.db.NewIter(&pebble.IterOptions{LowerBound: recordLower, UpperBound: upper})
	if err != nil {
		return 0, fmt.Errorf("prune journal: %w", err)
	}
	defer it.Close()

	events := 0
	b := j.db.NewBatch()
	defer func() { b.Close() }()
	// run is the first key of the current run of prunable records, which
	// is deleted with one range tombstone.
	var run, key []byte
	endRun := func(end []byte) error {
		if run == nil {
			return nil
		}
		err := b.DeleteRange(run, end, nil)
		run = nil
		return err
	}
	flush := func() error {
		if err := j.commit(b, pebble.NoSync); err != nil {
			return err
		}
		b.Close()
		b = j.db.NewBatch()
		return nil
	}
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		v, err := it.ValueAndErr()
		if err != nil {
			return events, fmt.Errorf("prune journal: %w", err)
		}
		h, perr := event.PeekRecord(v)
		if perr == nil && !h.ReceivedAt.Before(before) {
			// Received later than its ID says (cannot happen with IDs made
			// from the receive time); keep it.
			if err := endRun(k); err != nil {
				return events, fmt.Errorf("prune journal: %w", err)
			}
			continue
		}
		if run == nil {
			run = append([]byte(nil), k...)
		}
		if perr == nil && h.Kind == event.KindEvent {
			id, _ := idFromRecordKey(k)
			key = appendTypeKey(key[:0], h.Type, id)
			if err := b.Delete(key, nil); err != nil {
				return events, fmt.Errorf("prune journal: %w", err)
			}
			events++
		}
		if int(b.Count()) >= j.cfg.PruneBatch {
			if err := endRun(keyAfter(k)); err != nil {
				return events, fmt.Errorf("prune journal: %w", err)
			}
			if err := flush(); err != nil {
				return events, fmt.Errorf("prune journal: %w", err)
			}
		}
	}
	if err := it.Error(); err != nil {
		return events, fmt.Errorf("prune journal: %w", err)
	}
	if err := endRun(upper); err != nil {
		return events, fmt.Errorf("prune journal: %w", err)
	}
	if err := j.commit(b, pebble.NoSync); err != nil {
		return events, fmt.Errorf("prune journal: %w", err)
	}
	if events > 0 {
		j.log.Debug().Int("events", events).Time("before", before).Msg("journal: pruned")
	}
	return events, nil
}
