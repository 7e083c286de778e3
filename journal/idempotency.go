package journal

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/eventara/eventara/protocol/event"
)

// Idempotency is what one ingest request sent with an Idempotency-Key
// stored, so that a retry with the same key is answered from it instead of
// storing its events again. Append writes it in the batch of the events it
// names: the key is durable exactly when they are.
type Idempotency struct {
	// Key is the client's key (any length; stored as its SHA-256).
	Key string
	// Fingerprint identifies the request the key came with (the caller's
	// hash of it): a retry must match it.
	Fingerprint [32]byte
	// At is when the events were received; PruneIdempotency forgets the
	// key after its window.
	At time.Time
	// IDs are the stored events, in the request's order.
	IDs []event.ID
}

const idempotencyVersion = 1

func idempotencyKey(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return append([]byte{prefixIdempotency}, h[:]...)
}

// idempotencyTimeKey is the key's entry in the time index that
// PruneIdempotency scans: 'j' + At + SHA-256 of the key.
func idempotencyTimeKey(at time.Time, key []byte) []byte {
	k := appendTime([]byte{prefixIdempotencyTime}, at)
	return append(k, key[1:]...)
}

func encodeIdempotency(k *Idempotency) []byte {
	b := make([]byte, 0, 1+12+32+binary.MaxVarintLen32+16*len(k.IDs))
	b = append(b, idempotencyVersion)
	b = appendTime(b, k.At)
	b = append(b, k.Fingerprint[:]...)
	b = binary.AppendUvarint(b, uint64(len(k.IDs)))
	for _, id := range k.IDs {
		b = append(b, id[:]...)
	}
	return b
}

func decodeIdempotency(b []byte) (Idempotency, error) {
	var k Idempotency
	if len(b) < 1+12+32 || b[0] != idempotencyVersion {
		return k, fmt.Errorf("%w: idempotency record of %d bytes or of another version", ErrCorrupt, len(b))
	}
	at, ok := readTime(b[1:13])
	if !ok {
		return k, fmt.Errorf("%w: idempotency record time", ErrCorrupt)
	}
	k.At = at
	copy(k.Fingerprint[:], b[13:45])
	n, used := binary.Uvarint(b[45:])
	rest := b[45:]
	if used <= 0 || uint64(len(rest)-used) != 16*n {
		return k, fmt.Errorf("%w: idempotency record ids", ErrCorrupt)
	}
	rest = rest[used:]
	k.IDs = make([]event.ID, n)
	for i := range k.IDs {
		copy(k.IDs[i][:], rest[16*i:])
	}
	return k, nil
}

// MarshalBinary encodes k with its key, for carrying it to another
// node's journal (cluster mode): uvarint key length, key, then the stored
// form.
func (k *Idempotency) MarshalBinary() ([]byte, error) {
	if k.Key == "" {
		return nil, fmt.Errorf("idempotency key: %w: empty", ErrInvalidArgument)
	}
	b := binary.AppendUvarint(nil, uint64(len(k.Key)))
	b = append(b, k.Key...)
	return append(b, encodeIdempotency(k)...), nil
}

// UnmarshalBinary decodes what MarshalBinary encoded.
func (k *Idempotency) UnmarshalBinary(b []byte) error {
	n, used := binary.Uvarint(b)
	if used <= 0 || n == 0 || n > uint64(len(b)-used) {
		return fmt.Errorf("%w: idempotency key length", ErrCorrupt)
	}
	key := string(b[used : used+int(n)])
	d, err := decodeIdempotency(b[used+int(n):])
	if err != nil {
		return err
	}
	d.Key = key
	*k = d
	return nil
}

// setIdempotency adds k to b (Append's batch).
func setIdempotency(b *pebble.Batch, k *Idempotency) error {
	if k.Key == "" {
		return fmt.Errorf("idempotency key: %w: empty", ErrInvalidArgument)
	}
	key := idempotencyKey(k.Key)
	if err := b.Set(key, encodeIdempotency(k), nil); err != nil {
		return err
	}
	return b.Set(idempotencyTimeKey(k.At, key), nil, nil)
}

// LookupIdempotency returns what the request sent with key stored; ok is
// false when the key is unknown (never used, or pruned after its window).
func (j *Journal) LookupIdempotency(key string) (k Idempotency, ok bool, err error) {
	if err := j.acquire(); err != nil {
		return k, false, fmt.Errorf("look up idempotency key: %w", err)
	}
	defer j.release()
	v, closer, err := j.db.Get(idempotencyKey(key))
	if errors.Is(err, pebble.ErrNotFound) {
		return k, false, nil
	}
	if err != nil {
		return k, false, fmt.Errorf("look up idempotency key: %w", err)
	}
	defer closer.Close()
	if k, err = decodeIdempotency(v); err != nil {
		return k, false, fmt.Errorf("look up idempotency key: %w", err)
	}
	k.Key = key
	return k, true, nil
}

// PruneIdempotency forgets the keys stored before `before` and returns
// how many. Deletes are not synced: a key a crash brings back is pruned
// again by the next call.
func (j *Journal) PruneIdempotency(before time.Time) (int, error) {
	if err := j.acquire(); err != nil {
		return 0, fmt.Errorf("prune idempotency keys: %w", err)
	}
	defer j.release()
	if err := j.failed(); err != nil {
		return 0, fmt.Errorf("prune idempotency keys: %w", err)
	}
	lower := []byte{prefixIdempotencyTime}
	upper := appendTime([]byte{prefixIdempotencyTime}, before)
	it, err := j.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return 0, fmt.Errorf("prune idempotency keys: %w", err)
	}
	defer it.Close()
	n := 0
	b := j.db.NewBatch()
	defer func() { b.Close() }()
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		if len(k) != 1+12+sha256.Size {
			continue
		}
		if err := b.Delete(append([]byte{prefixIdempotency}, k[13:]...), nil); err != nil {
			return n, fmt.Errorf("prune idempotency keys: %w", err)
		}
		n++
		if int(b.Count()) >= j.cfg.PruneBatch {
			if err := b.DeleteRange(lower, keyAfter(k), nil); err != nil {
				return n, fmt.Errorf("prune idempotency keys: %w", err)
			}
			if err := j.commit(b, pebble.NoSync); err != nil {
				return n, fmt.Errorf("prune idempotency keys: %w", err)
			}
			b.Close()
			b = j.db.NewBatch()
		}
	}
	if err := it.Error(); err != nil {
		return n, fmt.Errorf("prune idempotency keys: %w", err)
	}
	if err := b.DeleteRange(lower, upper, nil); err != nil {
		return n, fmt.Errorf("prune idempotency keys: %w", err)
	}
	if err := j.commit(b, pebble.NoSync); err != nil {
		return n, fmt.Errorf("prune idempotency keys: %w", err)
	}
	return n, nil
}
