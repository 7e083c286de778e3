package journal

import (
	"bytes"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/eventara/eventara/protocol/event"
)

// Replay calls fn for every record with an ID greater than after, in
// journal order. The *Record is reused between calls: fn may keep the Event
// it holds (a copy of the struct), not the pointer. An error from fn stops
// the replay and is returned.
//
// A record that fails to decode is a torn or corrupt tail: it and every
// record after it are deleted (synced) with a Warn log, and Replay returns
// nil, so that start-up never crash-loops on it.
func (j *Journal) Replay(after event.ID, fn func(*event.Record) error) error {
	if err := j.acquire(); err != nil {
		return fmt.Errorf("replay journal: %w", err)
	}
	defer j.release()
	it, err := j.db.NewIter(&pebble.IterOptions{LowerBound: recordKey(after), UpperBound: recordUpper})
	if err != nil {
		return fmt.Errorf("replay journal: %w", err)
	}
	var rec event.Record
	var cutAt []byte
	var cutErr error
	for ok := it.First(); ok; ok = it.Next() {
		id, _ := idFromRecordKey(it.Key())
		if id == after {
			continue
		}
		v, err := it.ValueAndErr()
		if err == nil {
			rec, err = event.DecodeRecord(v)
			if err == nil && rec.Event.ID != id {
				err = fmt.Errorf("record %s stored under key %s: %w", rec.Event.ID, id, event.ErrCorruptRecord)
			}
		}
		if err != nil {
			cutAt, cutErr = append([]byte(nil), it.Key()...), err
			break
		}
		if err := fn(&rec); err != nil {
			_ = it.Close()
			return fmt.Errorf("replay journal at %s: %w", id, err)
		}
	}
	err = it.Error()
	_ = it.Close()
	if err != nil {
		return fmt.Errorf("replay journal: %w", err)
	}
	if cutAt == nil {
		return nil
	}
	n, err := j.cutTail(cutAt)
	id, _ := idFromRecordKey(cutAt)
	if err != nil {
		// The records stay; the next start-up tries again. Replay still
		// succeeds, with what came before the damage.
		j.log.Error().Err(err).Str("id", id.String()).Msg("journal: cutting the corrupt tail failed")
		return nil
	}
	j.log.Warn().Str("id", id.String()).Int("dropped", n).Str("reason", cutErr.Error()).
		Msg("journal: corrupt or torn record found; cut it and every record after it")
	return nil
}

// cutTail deletes the record at from, every record after it, and their
// index entries. It returns how many records it deleted.
func (j *Journal) cutTail(from []byte) (int, error) {
	id, ok := idFromRecordKey(from)
	if !ok {
		return 0, fmt.Errorf("cut journal tail: bad key %x", from)
	}
	b := j.db.NewBatch()
	defer b.Close()
	if _, err := j.cutIndex(b, id); err != nil {
		return 0, err
	}
	it, err := j.db.NewIter(&pebble.IterOptions{LowerBound: from, UpperBound: recordUpper})
	if err != nil {
		return 0, err
	}
	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		n++
	}
	err = it.Error()
	_ = it.Close()
	if err != nil {
		return 0, err
	}
	if err := b.DeleteRange(from, recordUpper, nil); err != nil {
		return 0, err
	}
	return n, j.commit(b, pebble.Sync)
}

// cutIndex adds to b the deletion of every index entry with an ID at or
// after from. Damaged records cannot tell their type, so it visits each
// type's key range instead (one seek per type, not a scan of the index).
// It returns how many types had entries deleted.
func (j *Journal) cutIndex(b *pebble.Batch, from event.ID) (int, error) {
	it, err := j.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixType}, UpperBound: []byte{prefixType + 1}})
	if err != nil {
		return 0, err
	}
	defer it.Close()
	types := 0
	for ok := it.First(); ok; {
		prefix, valid := typePrefixOf(it.Key())
		if !valid {
			ok = it.Next()
			continue
		}
		prefix = append([]byte(nil), prefix...)
		start := append(append([]byte(nil), prefix...), from[:]...)
		end := prefixEnd(prefix)
		if it.SeekGE(start) && bytes.HasPrefix(it.Key(), prefix) {
			if err := b.DeleteRange(start, end, nil); err != nil {
				return 0, err
			}
			types++
		}
		if end == nil {
			break
		}
		ok = it.SeekGE(end)
	}
	return types, it.Error()
}
