package journal

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/eventara/eventara/protocol/event"
)

// pageArgs validates page and size and returns how many to skip.
func pageArgs(page, size int) (int, error) {
	if page < 0 || size < 1 {
		return 0, fmt.Errorf("page %d size %d: %w", page, size, ErrInvalidArgument)
	}
	if page > math.MaxInt/size {
		return math.MaxInt, nil
	}
	return page * size, nil
}

// List returns events (KindEvent only) newest first, skipping page*size, at
// most size, only those received at or after since; hasMore tells whether
// another page exists. A record that fails its checksum is skipped with a
// warning.
func (j *Journal) List(page, size int, since time.Time) (evs []event.Event, hasMore bool, err error) {
	skip, err := pageArgs(page, size)
	if err != nil {
		return nil, false, fmt.Errorf("list journal: %w", err)
	}
	if err := j.acquire(); err != nil {
		return nil, false, fmt.Errorf("list journal: %w", err)
	}
	defer j.release()
	it, err := j.db.NewIter(&pebble.IterOptions{
		LowerBound: recordKey(event.MinID(since)),
		UpperBound: recordUpper,
	})
	if err != nil {
		return nil, false, fmt.Errorf("list journal: %w", err)
	}
	defer it.Close()
	for ok := it.Last(); ok; ok = it.Prev() {
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, false, fmt.Errorf("list journal: %w", err)
		}
		h, err := event.PeekRecord(v)
		if err != nil {
			j.warnCorrupt(it.Key(), err)
			continue
		}
		if h.Kind != event.KindEvent || h.ReceivedAt.Before(since) {
			continue
		}
		if skip > 0 {
			skip--
			continue
		}
		if len(evs) == size {
			hasMore = true
			break
		}
		rec, err := event.DecodeRecord(v)
		if err != nil {
			j.warnCorrupt(it.Key(), err)
			continue
		}
		evs = append(evs, rec.Event)
	}
	if err := it.Error(); err != nil {
		return nil, false, fmt.Errorf("list journal: %w", err)
	}
	return evs, hasMore, nil
}

// ListByType is List restricted to one event type.
func (j *Journal) ListByType(eventType string, page, size int, since time.Time) ([]event.Event, bool, error) {
	skip, err := pageArgs(page, size)
	if err != nil {
		return nil, false, fmt.Errorf("list journal type %q: %w", eventType, err)
	}
	if err := j.acquire(); err != nil {
		return nil, false, fmt.Errorf("list journal type %q: %w", eventType, err)
	}
	defer j.release()
	prefix := typePrefix(nil, eventType)
	lower := appendTypeKey(nil, eventType, event.MinID(since))
	it, err := j.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return nil, false, fmt.Errorf("list journal type %q: %w", eventType, err)
	}
	defer it.Close()
	var evs []event.Event
	hasMore := false
	for ok := it.Last(); ok; ok = it.Prev() {
		k := it.Key()
		if len(k) != len(prefix)+len(event.ID{}) {
			continue // cannot happen: the length prefix fixes the key length
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, false, fmt.Errorf("list journal type %q: %w", eventType, err)
		}
		if at, ok := readTime(v); !ok || at.Before(since) {
			continue
		}
		var id event.ID
		copy(id[:], k[len(prefix):])
		if skip > 0 {
			skip--
			continue
		}
		if len(evs) == size {
			hasMore = true
			break
		}
		rec, err := j.get(id)
		switch {
		case errors.Is(err, ErrNotFound):
			continue // an index entry left by a cut tail
		case errors.Is(err, ErrCorrupt):
			j.warnCorrupt(recordKey(id), err)
			continue
		case err != nil:
			return nil, false, fmt.Errorf("list journal type %q: %w", eventType, err)
		}
		evs = append(evs, rec.Event)
	}
	if err := it.Error(); err != nil {
		return nil, false, fmt.Errorf("list journal type %q: %w", eventType, err)
	}
	return evs, hasMore, nil
}

func (j *Journal) warnCorrupt(key []byte, err error) {
	id, _ := idFromRecordKey(key)
	j.log.Warn().Str("id", id.String()).Err(err).Msg("journal: skipping corrupt record")
}
