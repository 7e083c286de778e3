package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/eventara/eventara/protocol/event"
)

// Checkpoint is a snapshot of derived state covering the journal up to and
// including UpTo. Recovery loads the newest one and replays after UpTo.
//
// In cluster mode the journal is a copy of the cluster's stream and the
// order that counts is the stream's: Seq is then the stream sequence of
// the last message the state covers (records and ticks), recovery resumes
// the stream at Seq+1, and UpTo is not used for replay. Seq is 0 in a
// single node's checkpoints (and in every checkpoint written before
// cluster mode existed, version 1).
type Checkpoint struct {
	UpTo  event.ID
	At    time.Time
	Seq   uint64
	State []byte
}

// checkpointsKept is how many checkpoints SaveCheckpoint keeps: the newest,
// and one to fall back to if the newest is damaged.
const checkpointsKept = 2

// checkpointVersion is the version SaveCheckpoint writes: 2 adds Seq.
// Version 1 checkpoints still load, with Seq 0.
const (
	checkpointVersion   = 2
	checkpointVersionV1 = 1
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func checkpointKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{prefixCheckpoint}, seq)
}

// encodeCheckpoint: version byte (2), UpTo (16), At (12, see appendTime),
// Seq (8, big-endian), State, CRC-32C (4, little-endian) of the preceding
// bytes. Version 1 is the same without Seq.
func encodeCheckpoint(c *Checkpoint) []byte {
	b := make([]byte, 0, 1+16+12+8+len(c.State)+4)
	b = append(b, checkpointVersion)
	b = append(b, c.UpTo[:]...)
	b = appendTime(b, c.At)
	b = binary.BigEndian.AppendUint64(b, c.Seq)
	b = append(b, c.State...)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

var errBadCheckpoint = errors.New("bad checkpoint")

func decodeCheckpoint(b []byte) (Checkpoint, error) {
	var c Checkpoint
	head := 1 + 16 + 12 // version, UpTo, At
	switch {
	case len(b) > 0 && b[0] == checkpointVersion:
		head += 8 // Seq
	case len(b) > 0 && b[0] == checkpointVersionV1:
	default:
		return c, errBadCheckpoint
	}
	if len(b) < head+4 {
		return c, errBadCheckpoint
	}
	body := b[:len(b)-4]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(b[len(body):]) {
		return c, errBadCheckpoint
	}
	copy(c.UpTo[:], body[1:17])
	at, ok := readTime(body[17:29])
	if !ok {
		return c, errBadCheckpoint
	}
	c.At = at
	if b[0] == checkpointVersion {
		c.Seq = binary.BigEndian.Uint64(body[29:37])
	}
	c.State = append([]byte(nil), body[head:]...)
	return c, nil
}

// lastCheckpointSeq returns the sequence number of the newest checkpoint key.
func (j *Journal) lastCheckpointSeq() (uint64, error) {
	it, err := j.db.NewIter(&pebble.IterOptions{LowerBound: checkpointLower, UpperBound: checkpointUpper})
	if err != nil {
		return 0, err
	}
	defer it.Close()
	var seq uint64
	if it.Last() && len(it.Key()) == 9 {
		seq = binary.BigEndian.Uint64(it.Key()[1:])
	}
	return seq, it.Error()
}

// SaveCheckpoint stores c, synced, and deletes all but the newest two
// checkpoints. Like Append, it is refused (ErrDiskFull, ErrFailed) while the
// free-space guard refuses writes or after the journal failed: the journal
// alone still recovers everything, only with a longer replay.
func (j *Journal) SaveCheckpoint(c Checkpoint) error {
	if err := j.acquire(); err != nil {
		return fmt.Errorf("save journal checkpoint: %w", err)
	}
	defer j.release()
	if err := j.admit(); err != nil {
		return fmt.Errorf("save journal checkpoint: %w", err)
	}
	j.cpMu.Lock()
	defer j.cpMu.Unlock()
	seq := j.cpSeq + 1
	b := j.db.NewBatch()
	defer b.Close()
	if err := b.Set(checkpointKey(seq), encodeCheckpoint(&c), nil); err != nil {
		return fmt.Errorf("save journal checkpoint %d: %w", seq, err)
	}
	if seq > checkpointsKept-1 {
		// Delete every older checkpoint but the previous one.
		if err := b.DeleteRange(checkpointLower, checkpointKey(seq-(checkpointsKept-1)), nil); err != nil {
			return fmt.Errorf("save journal checkpoint %d: %w", seq, err)
		}
	}
	if err := j.commit(b, pebble.Sync); err != nil {
		return fmt.Errorf("save journal checkpoint %d: %w", seq, err)
	}
	j.cpSeq = seq
	return nil
}

// LoadCheckpoint returns the newest checkpoint that passes its checksum;
// ok is false when there is none. A damaged newer one is skipped with a
// warning.
func (j *Journal) LoadCheckpoint() (c Checkpoint, ok bool, err error) {
	if err := j.acquire(); err != nil {
		return c, false, fmt.Errorf("load journal checkpoint: %w", err)
	}
	defer j.release()
	c, ok, err = j.loadCheckpoint()
	if err != nil {
		return c, false, fmt.Errorf("load journal checkpoint: %w", err)
	}
	return c, ok, nil
}

func (j *Journal) loadCheckpoint() (Checkpoint, bool, error) {
	it, err := j.db.NewIter(&pebble.IterOptions{LowerBound: checkpointLower, UpperBound: checkpointUpper})
	if err != nil {
		return Checkpoint{}, false, err
	}
	defer it.Close()
	for ok := it.Last(); ok; ok = it.Prev() {
		v, err := it.ValueAndErr()
		if err != nil {
			return Checkpoint{}, false, err
		}
		c, err := decodeCheckpoint(v)
		if err != nil {
			j.log.Warn().Hex("key", it.Key()).Msg("journal: skipping damaged checkpoint")
			continue
		}
		return c, true, nil
	}
	return Checkpoint{}, false, it.Error()
}
