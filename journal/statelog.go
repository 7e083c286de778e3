package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"sync"

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
// There are two such logs, each with its own owner, numbering, snapshot
// and compaction, so that one owner's compaction never deletes the other's
// records: the rules' (AppendState, ReplayState, CompactState,
// LoadStateSnapshot: 's' and 'S') and the notifier's (NotifyLog: 'n' and
// 'N', the channels and the delivery outbox).
//
// Appends are synced like the journal's: a nil error means durable. They
// are refused the same way (ErrDiskFull, ErrFailed, an injected fault).

const (
	prefixState       = 's'
	keyStateSnapshot  = 'S'
	prefixNotify      = 'n'
	keyNotifySnapshot = 'N'
	stateVersion      = 1
)

// StateLog is one owner's state log: records numbered from 1, a snapshot,
// compaction. Its methods are safe for concurrent use.
type StateLog struct {
	j            *Journal
	prefix       byte
	snapshotKey  []byte
	lower, upper []byte
	// mu serialises appends and compactions; seq is the last record
	// number, read on first use.
	mu       sync.Mutex
	seq      uint64
	seqKnown bool
}

func newStateLog(j *Journal, prefix, snapshot byte) *StateLog {
	return &StateLog{j: j, prefix: prefix, snapshotKey: []byte{snapshot}, lower: []byte{prefix}, upper: []byte{prefix + 1}}
}

// NotifyLog is the notifier's state log: notification channels and the
// delivery outbox, apart from the rules' log.
func (j *Journal) NotifyLog() *StateLog { return j.notify }

// ErrStateCorrupt is returned by ReplayState and LoadStateSnapshot for a
// state record or snapshot that fails its checksum: unlike an event
// journal's torn tail, a damaged alerting state cannot be cut off silently.
var ErrStateCorrupt = errors.New("journal: state record damaged")

func (l *StateLog) key(seq uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{l.prefix}, seq)
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
func (l *StateLog) lastSeq() (uint64, error) {
	j := l.j
	var seq uint64
	v, closer, err := j.db.Get(l.snapshotKey)
	switch {
	case err == nil:
		if body, ok := openState(v, 8); ok {
			seq = binary.BigEndian.Uint64(body[1:9])
		}
		_ = closer.Close()
	case !errors.Is(err, pebble.ErrNotFound):
		return 0, err
	}
	it, err := j.db.NewIter(&pebble.IterOptions{LowerBound: l.lower, UpperBound: l.upper})
	if err != nil {
		return 0, err
	}
	defer it.Close()
	if it.Last() && len(it.Key()) == 9 {
		seq = max(seq, binary.BigEndian.Uint64(it.Key()[1:]))
	}
	return seq, it.Error()
}

// AppendState appends records to the rules' state log (StateLog.Append).
func (j *Journal) AppendState(records [][]byte) (uint64, error) { return j.state.Append(records) }

// ReplayState replays the rules' state log (StateLog.Replay).
func (j *Journal) ReplayState(after uint64, fn func(seq uint64, data []byte) error) error {
	return j.state.Replay(after, fn)
}

// CompactState compacts the rules' state log (StateLog.Compact).
func (j *Journal) CompactState(upTo uint64, data []byte) error { return j.state.Compact(upTo, data) }

// LoadStateSnapshot loads the rules' state snapshot (StateLog.LoadSnapshot).
func (j *Journal) LoadStateSnapshot() (upTo uint64, data []byte, ok bool, err error) {
	return j.state.LoadSnapshot()
}

// Append appends records to the log in one synced batch and returns the
// number of the last one. Like Journal.Append, a nil error means every
// record is durable; an error means none is (a *FailedError with InFlight
// set: maybe).
func (l *StateLog) Append(records [][]byte) (uint64, error) {
	j := l.j
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
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.seqKnown {
		seq, err := l.lastSeq()
		if err != nil {
			return 0, fmt.Errorf("append state: read last sequence: %w", err)
		}
		l.seq, l.seqKnown = seq, true
	}
	b := j.db.NewBatch()
	defer b.Close()
	seq := l.seq
	for _, r := range records {
		seq++
		if err := b.Set(l.key(seq), sealState([]byte{stateVersion}, r), nil); err != nil {
			return 0, fmt.Errorf("append state record %d: %w", seq, err)
		}
	}
	if err := j.commit(b, pebble.Sync); err != nil {
		return 0, fmt.Errorf("append %d state records: %w", len(records), err)
	}
	l.seq = seq
	return seq, nil
}

// Replay calls fn for each record numbered after after, in order. A
// damaged record stops the replay with ErrStateCorrupt.
func (l *StateLog) Replay(after uint64, fn func(seq uint64, data []byte) error) error {
	j := l.j
	if err := j.acquire(); err != nil {
		return fmt.Errorf("replay state: %w", err)
	}
	defer j.release()
	it, err := j.db.NewIter(&pebble.IterOptions{LowerBound: l.key(after + 1), UpperBound: l.upper})
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

// Compact stores data as the snapshot covering the log up to and
// including upTo, and deletes those records, in one synced batch.
func (l *StateLog) Compact(upTo uint64, data []byte) error {
	j := l.j
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
	l.mu.Lock()
	defer l.mu.Unlock()
	b := j.db.NewBatch()
	defer b.Close()
	head := binary.BigEndian.AppendUint64([]byte{stateVersion}, upTo)
	if err := b.Set(l.snapshotKey, sealState(head, data), nil); err != nil {
		return fmt.Errorf("compact state to %d: %w", upTo, err)
	}
	if err := b.DeleteRange(l.lower, l.key(upTo+1), nil); err != nil {
		return fmt.Errorf("compact state to %d: %w", upTo, err)
	}
	if err := j.commit(b, pebble.Sync); err != nil {
		return fmt.Errorf("compact state to %d: %w", upTo, err)
	}
	if l.seqKnown {
		l.seq = max(l.seq, upTo)
	}
	return nil
}

// LoadSnapshot returns the snapshot and the last record it covers; ok is
// false when there is none. A damaged snapshot is ErrStateCorrupt.
func (l *StateLog) LoadSnapshot() (upTo uint64, data []byte, ok bool, err error) {
	j := l.j
	if err := j.acquire(); err != nil {
		return 0, nil, false, fmt.Errorf("load state snapshot: %w", err)
	}
	defer j.release()
	v, closer, err := j.db.Get(l.snapshotKey)
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
