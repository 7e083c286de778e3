package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/cockroachdb/pebble/v2"
)

// The state log is a second, small log in the same store, beside the event
// journal: the records of the alerting state (rule changes, alert
// transitions), each an opaque byte string its owner encodes, numbered from
// 1 in append order. It lives under its own key prefixes so that nothing of
// the event journal sees it: Replay, List, Get and the retention's Prune
// scan only the 'e' and 't' spaces, and checkpoints are another space
// again. Its records are never pruned by age; the owner compacts them
// instead (CompactState): it writes its whole state as one snapshot that
// covers the log up to a sequence number, and the records it covers are
// deleted in the same synced batch, so start-up reads one snapshot plus a
// short tail whatever the log's age.
//
//	's' + seq (8 bytes, big-endian)  → version byte, data, CRC-32C (4, little-endian)
//	'S'                               → version byte, upTo (8), data, CRC-32C
//
// Appends are synced like the journal's: a nil error means durable. They
// are refused the same way (ErrDiskFull, ErrFailed, an injected fault).

const (
	prefixState      = 's'
	keyStateSnapshot = 'S'
	stateVersion     = 1
)

var (
	stateLower       = []byte{prefixState}
	stateUpper       = []byte{prefixState + 1}
	stateSnapshotKey = []byte{keyStateSnapshot}
)

// ErrStateCorrupt is returned by ReplayState and LoadStateSnapshot for a
// state record or snapshot that fails its checksum: unlike an event
// journal's torn tail, a damaged alerting state cannot be cut off silently.
var ErrStateCorrupt = errors.New("journal: state record damaged")

func stateKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{prefixState}, seq)
}

func sealState(head []byte, data []byte) []byte {
	b := append(head, data...)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

func openState(v []byte, headLen int) ([]byte, bool) {
	if len(v) < 1+headLen+4 || v[0] != stateVersion {
		return nil, false
	}
	body := v[:len(v)-4]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(v[len(body):]) {
		return nil, false
	}
	return body, true
}

// lastStateSeq returns the newest state record's number (0: none) and the
// snapshot's upTo; the next record is numbered after both.
func (j *Journal) lastStateSeq() (uint64, error) {
	var seq uint64
	v, closer, err := j.db.Get(stateSnapshotKey)
	switch {
	case err == nil:
		if body, ok := openState(v, 8); ok {
			seq = binary.BigEndian.Uint64(body[1:9])
		}
		_ = closer.Close()
	case !errors.Is(err, pebble.ErrNotFound):
		return 0, err
	}
	it, err := j.db.NewIter(&pebble.IterOptions{LowerBound: stateLower, UpperBound: stateUpper})
	if err != nil {
		return 0, err
	}
	defer it.Close()
	if it.Last() && len(it.Key()) == 9 {
		seq = max(seq, binary.BigEndian.Uint64(it.Key()[1:]))
	}
	return seq, it.Error()
}

// AppendState appends records to the state log in one synced batch and
// returns the number of the last one. Like Append, a nil error means every
// record is durable; an error means none is (a *FailedError with InFlight
// set: maybe).
func (j *Journal) AppendState(records [][]byte) (uint64, error) {
	if len(records) == 0 {
		return 0, fmt.Errorf("append state: %w", ErrInvalidArgument)
	}
	if err := j.injected(); err != nil {
		return 0, fmt.Errorf("append %d state records: %w", len(records), err)
	}
	if err := j.acquire(); err != nil {
		return 0, fmt.Errorf("append %d state records: %w", len(records), err)
	}
	defer j.release()
	if err := j.admit(); err != nil {
		return 0, fmt.Errorf("append %d state records: %w", len(records), err)
	}
	j.stateMu.Lock()
	defer j.stateMu.Unlock()
	if !j.stateSeqKnown {
		seq, err := j.lastStateSeq()
		if err != nil {
			return 0, fmt.Errorf("append state: read last sequence: %w", err)
		}
		j.stateSeq, j.stateSeqKnown = seq, true
	}
	b := j.db.NewBatch()
	defer b.Close()
	seq := j.stateSeq
	for _, r := range records {
		seq++
		if err := b.Set(stateKey(seq), sealState([]byte{stateVersion}, r), nil); err != nil {
			return 0, fmt.Errorf("append state record %d: %w", seq, err)
		}
	}
	if err := j.commit(b, pebble.Sync); err != nil {
		return 0, fmt.Errorf("append %d state records: %w", len(records), err)
	}
	j.stateSeq = seq
	return seq, nil
}

// ReplayState calls fn for each state record numbered after after, in
// order. A damaged record stops the replay with ErrStateCorrupt.
func (j *Journal) ReplayState(after uint64, fn func(seq uint64, data []byte) error) error {
	if err := j.acquire(); err != nil {
		return fmt.Errorf("replay state: %w", err)
	}
	defer j.release()
	it, err := j.db.NewIter(&pebble.IterOptions{LowerBound: stateKey(after + 1), UpperBound: stateUpper})
	if err != nil {
		return fmt.Errorf("replay state: %w", err)
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		if len(k) != 9 {
			return fmt.Errorf("replay state: key %x: %w", k, ErrStateCorrupt)
		}
		seq := binary.BigEndian.Uint64(k[1:])
		v, err := it.ValueAndErr()
		if err != nil {
			return fmt.Errorf("replay state record %d: %w", seq, err)
		}
		body, ok := openState(v, 0)
		if !ok {
			return fmt.Errorf("replay state record %d: %w", seq, ErrStateCorrupt)
		}
		if err := fn(seq, append([]byte(nil), body[1:]...)); err != nil {
			return err
		}
	}
	if err := it.Error(); err != nil {
		return fmt.Errorf("replay state: %w", err)
	}
	return nil
}

// CompactState stores data as the state snapshot covering the log up to
// and including upTo, and deletes those records, in one synced batch.
func (j *Journal) CompactState(upTo uint64, data []byte) error {
	if err := j.injected(); err != nil {
		return fmt.Errorf("compact state: %w", err)
	}
	if err := j.acquire(); err != nil {
		return fmt.Errorf("compact state: %w", err)
	}
	defer j.release()
	if err := j.admit(); err != nil {
		return fmt.Errorf("compact state: %w", err)
	}
	j.stateMu.Lock()
	defer j.stateMu.Unlock()
	b := j.db.NewBatch()
	defer b.Close()
	head := binary.BigEndian.AppendUint64([]byte{stateVersion}, upTo)
	if err := b.Set(stateSnapshotKey, sealState(head, data), nil); err != nil {
		return fmt.Errorf("compact state to %d: %w", upTo, err)
	}
	if err := b.DeleteRange(stateLower, stateKey(upTo+1), nil); err != nil {
		return fmt.Errorf("compact state to %d: %w", upTo, err)
	}
	if err := j.commit(b, pebble.Sync); err != nil {
		return fmt.Errorf("compact state to %d: %w", upTo, err)
	}
	if j.stateSeqKnown {
		j.stateSeq = max(j.stateSeq, upTo)
	}
	return nil
}

// LoadStateSnapshot returns the state snapshot and the last record it
// covers; ok is false when there is none. A damaged snapshot is
// ErrStateCorrupt.
func (j *Journal) LoadStateSnapshot() (upTo uint64, data []byte, ok bool, err error) {
	if err := j.acquire(); err != nil {
		return 0, nil, false, fmt.Errorf("load state snapshot: %w", err)
	}
	defer j.release()
	v, closer, err := j.db.Get(stateSnapshotKey)
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, nil, false, nil
	}
	if err != nil {
		return 0, nil, false, fmt.Errorf("load state snapshot: %w", err)
	}
	defer closer.Close()
	body, good := openState(v, 8)
	if !good {
		return 0, nil, false, fmt.Errorf("load state snapshot: %w", ErrStateCorrupt)
	}
	return binary.BigEndian.Uint64(body[1:9]), append([]byte(nil), body[9:]...), true, nil
}
