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
func (j *Journal) List(page, size int, since time.Time) ([]event.Event, bool, error) {
	evs, hasMore, err := j.page(page, size, &pebble.IterOptions{
		LowerBound: recordKey(event.MinID(since)),
		UpperBound: recordUpper,
	}, func(k, v []byte) bool {
		h, err := event.PeekRecord(v)
		if err != nil {
			j.warnCorrupt(k, err)
			return false
		}
		return h.Kind == event.KindEvent && !h.ReceivedAt.Before(since)
	}, func(k, v []byte) (event.Event, bool, error) {
		rec, err := event.DecodeRecord(v)
		if err != nil {
			j.warnCorrupt(k, err)
			return event.Event{}, false, nil
		}
		return rec.Event, true, nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("list journal: %w", err)
	}
	return evs, hasMore, nil
}

// ListByType is List restricted to one event type, read through the type
// index.
func (j *Journal) ListByType(eventType string, page, size int, since time.Time) ([]event.Event, bool, error) {
	prefix := typePrefix(nil, eventType)
	evs, hasMore, err := j.page(page, size, &pebble.IterOptions{
		LowerBound: appendTypeKey(nil, eventType, event.MinID(since)),
		UpperBound: prefixEnd(prefix),
	}, func(k, v []byte) bool {
		// The length prefix fixes the key length; the value is the time.
		at, ok := readTime(v)
		return len(k) == len(prefix)+len(event.ID{}) && ok && !at.Before(since)
	}, func(k, _ []byte) (event.Event, bool, error) {
		var id event.ID
		copy(id[:], k[len(prefix):])
		rec, err := j.get(id)
		switch {
		case errors.Is(err, ErrNotFound):
			return event.Event{}, false, nil // an index entry left by a cut tail
		case errors.Is(err, ErrCorrupt):
			j.warnCorrupt(recordKey(id), err)
			return event.Event{}, false, nil
		case err != nil:
			return event.Event{}, false, err
		}
		return rec.Event, true, nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("list journal type %q: %w", eventType, err)
	}
	return evs, hasMore, nil
}

// page is the one paging routine of the journal's listings: it walks the
// keys of opts newest first; match says whether an entry belongs to the
// listing (cheaply, without decoding the event); the first page*size
// matching entries are skipped, at most size are loaded (load may still
// drop its entry: false), and hasMore tells whether one more matched.
func (j *Journal) page(page, size int, opts *pebble.IterOptions, match func(k, v []byte) bool,
	load func(k, v []byte) (event.Event, bool, error)) (evs []event.Event, hasMore bool, err error) {
	skip, err := pageArgs(page, size)
	if err != nil {
		return nil, false, err
	}
	if err := j.acquire(); err != nil {
		return nil, false, err
	}
	defer j.release()
	it, err := j.db.NewIter(opts)
	if err != nil {
		return nil, false, err
	}
	defer it.Close()
	for ok := it.Last(); ok; ok = it.Prev() {
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, false, err
		}
		if !match(it.Key(), v) {
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
		e, ok, err := load(it.Key(), v)
		if err != nil {
			return nil, false, err
		}
		if ok {
			evs = append(evs, e)
		}
	}
	if err := it.Error(); err != nil {
		return nil, false, err
	}
	return evs, hasMore, nil
}

func (j *Journal) warnCorrupt(key []byte, err error) {
	id, _ := idFromRecordKey(key)
	j.log.Warn().Str("id", id.String()).Err(err).Msg("journal: skipping corrupt record")
}
