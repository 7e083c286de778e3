package journal

import (
	"encoding/binary"
	"time"

	"github.com/eventara/eventara/protocol/event"
)

// Key prefixes; see the package documentation.
const (
	prefixRecord     = 'e'
	prefixType       = 't'
	prefixCheckpoint = 'c'
	// prefixIdempotency + SHA-256(key) → Idempotency; prefixIdempotencyTime
	// + At + SHA-256(key) → nothing, the index PruneIdempotency scans.
	prefixIdempotency     = 'i'
	prefixIdempotencyTime = 'j'
	keyProbe              = 'p'
)

var (
	recordLower     = []byte{prefixRecord}
	recordUpper     = []byte{prefixRecord + 1}
	checkpointLower = []byte{prefixCheckpoint}
	checkpointUpper = []byte{prefixCheckpoint + 1}
	probeKey        = []byte{keyProbe}
)

func recordKey(id event.ID) []byte {
	k := make([]byte, 1+len(id))
	k[0] = prefixRecord
	copy(k[1:], id[:])
	return k
}

// appendRecordKey appends the record key of id to dst.
func appendRecordKey(dst []byte, id event.ID) []byte {
	return append(append(dst, prefixRecord), id[:]...)
}

// idFromRecordKey returns the ID in a record key.
func idFromRecordKey(k []byte) (event.ID, bool) {
	var id event.ID
	if len(k) != 1+len(id) || k[0] != prefixRecord {
		return id, false
	}
	copy(id[:], k[1:])
	return id, true
}

// typePrefix is the index prefix of one event type.
func typePrefix[T string | []byte](dst []byte, typ T) []byte {
	dst = append(dst, prefixType)
	dst = binary.AppendUvarint(dst, uint64(len(typ)))
	return append(dst, typ...)
}

func appendTypeKey[T string | []byte](dst []byte, typ T, id event.ID) []byte {
	return append(typePrefix(dst, typ), id[:]...)
}

// typePrefixOf returns the type prefix of an index key.
func typePrefixOf(k []byte) ([]byte, bool) {
	if len(k) < 2 || k[0] != prefixType {
		return nil, false
	}
	n, w := binary.Uvarint(k[1:])
	if w <= 0 || n > uint64(len(k)) || uint64(len(k)) != 1+uint64(w)+n+16 {
		return nil, false
	}
	return k[:len(k)-16], true
}

// appendTime appends t as 8-byte seconds and 4-byte nanoseconds, big-endian,
// which keeps byte order equal to time order for times after 1970.
func appendTime(dst []byte, t time.Time) []byte {
	dst = binary.BigEndian.AppendUint64(dst, uint64(t.Unix()))
	return binary.BigEndian.AppendUint32(dst, uint32(t.Nanosecond()))
}

func readTime(b []byte) (time.Time, bool) {
	if len(b) != 12 {
		return time.Time{}, false
	}
	ns := binary.BigEndian.Uint32(b[8:])
	if ns >= 1e9 {
		return time.Time{}, false
	}
	return time.Unix(int64(binary.BigEndian.Uint64(b)), int64(ns)).UTC(), true
}

// prefixEnd returns the smallest key greater than every key that starts
// with k: an exclusive upper bound for a prefix scan. The result is nil
// (no bound) when k is all 0xFF bytes.
func prefixEnd(k []byte) []byte {
	end := append([]byte(nil), k...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] != 0xFF {
			end[i]++
			return end[:i+1]
		}
	}
	return nil // no upper bound
}

// keyAfter returns the smallest key greater than k.
func keyAfter(k []byte) []byte {
	return append(append(make([]byte, 0, len(k)+1), k...), 0)
}
