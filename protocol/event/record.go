package event

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
	"time"
)

// The journal's binary record (version 1), all integers little-endian or
// varint:
//
//	version  byte (1)
//	kind     byte
//	id       16 bytes
//	received varint seconds, uvarint nanoseconds (Unix)
//	type, source, userId, sessionId: each uvarint length + bytes
//	severity byte
//	flags    byte (bit 0: HasMetaLatency)
//	timestamp varint seconds, uvarint nanoseconds (Unix)
//	[metaLatency 8 bytes, IEEE 754, when flag bit 0]
//	tags     uvarint count, then per tag: uvarint length + key, uvarint length + value
//	metadata uvarint length + bytes (0: none)
//	crc      4 bytes: CRC-32C (Castagnoli) of everything before it
//
// Kind, ID, ReceivedAt and Type come first so that PeekRecord can read them
// without decoding the rest. Every length is checked against the bytes left,
// so a corrupt record can neither panic nor make the decoder allocate more
// than the record's own size.

// RecordVersion is the version byte AppendRecord writes.
const RecordVersion = 1

const flagMetaLatency = 1

// ErrCorruptRecord is returned (wrapped) by DecodeRecord and PeekRecord for
// bytes that are not a valid record: torn, truncated or damaged.
var ErrCorruptRecord = errors.New("event: corrupt record")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// AppendRecord appends r's binary form to dst.
func AppendRecord(dst []byte, r *Record) []byte {
	start := len(dst)
	e := &r.Event
	dst = append(dst, RecordVersion, byte(r.Kind))
	dst = append(dst, e.ID[:]...)
	dst = appendTime(dst, e.ReceivedAt)
	dst = appendBytes(dst, e.Type)
	dst = appendBytes(dst, e.Source)
	dst = appendBytes(dst, e.UserID)
	dst = appendBytes(dst, e.SessionID)
	var flags byte
	if e.HasMetaLatency {
		flags |= flagMetaLatency
	}
	dst = append(dst, byte(e.Severity), flags)
	dst = appendTime(dst, e.Timestamp)
	if e.HasMetaLatency {
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(e.MetaLatency))
	}
	dst = binary.AppendUvarint(dst, uint64(len(e.Tags)))
	for k, v := range e.Tags {
		dst = appendBytes(dst, k)
		dst = appendBytes(dst, v)
	}
	dst = binary.AppendUvarint(dst, uint64(len(e.Metadata)))
	dst = append(dst, e.Metadata...)
	return binary.LittleEndian.AppendUint32(dst, crc32.Checksum(dst[start:], castagnoli))
}

func appendBytes[T string | []byte](dst []byte, s T) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendTime(dst []byte, t time.Time) []byte {
	dst = binary.AppendVarint(dst, t.Unix())
	return binary.AppendUvarint(dst, uint64(t.Nanosecond()))
}

// recordReader reads a record's fields; the first failure sticks.
type recordReader struct {
	b   []byte
	bad bool
}

func (r *recordReader) byte() byte {
	if len(r.b) < 1 {
		r.bad = true
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *recordReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.bad = true
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *recordReader) time() time.Time {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.bad = true
		return time.Time{}
	}
	r.b = r.b[n:]
	ns := r.uvarint()
	if ns >= 1e9 {
		r.bad = true
		return time.Time{}
	}
	return time.Unix(v, int64(ns)).UTC()
}

// bytes returns the next length-prefixed field, aliasing the input.
func (r *recordReader) bytes() []byte {
	n := r.uvarint()
	if r.bad || n > uint64(len(r.b)) {
		r.bad = true
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *recordReader) string() string { return string(r.bytes()) }

// RecordHeader is what PeekRecord reads from the front of a record.
type RecordHeader struct {
	Kind       Kind
	ID         ID
	ReceivedAt time.Time
	// Type aliases the record's bytes.
	Type []byte
}

// PeekRecord reads a record's kind, ID, receive time and event type without
// decoding the rest or checking its CRC: it is for scans that skip most
// records. Use DecodeRecord for a record whose content matters.
func PeekRecord(b []byte) (RecordHeader, error) {
	var h RecordHeader
	if len(b) < 2+len(h.ID) || b[0] != RecordVersion {
		return h, ErrCorruptRecord
	}
	h.Kind = Kind(b[1])
	copy(h.ID[:], b[2:])
	r := recordReader{b: b[2+len(h.ID):]}
	h.ReceivedAt = r.time()
	h.Type = r.bytes()
	if r.bad {
		return RecordHeader{}, ErrCorruptRecord
	}
	return h, nil
}

// DecodeRecord decodes a record written by AppendRecord, checking its CRC.
// The record does not alias b.
func DecodeRecord(b []byte) (Record, error) {
	const minLen = 2 + 16 + 4
	if len(b) < minLen {
		return Record{}, ErrCorruptRecord
	}
	body := b[:len(b)-4]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(b[len(body):]) {
		return Record{}, ErrCorruptRecord
	}
	if body[0] != RecordVersion {
		return Record{}, ErrCorruptRecord
	}
	var rec Record
	rec.Kind = Kind(body[1])
	e := &rec.Event
	copy(e.ID[:], body[2:18])
	r := recordReader{b: body[18:]}
	e.ReceivedAt = r.time()
	e.Type = r.string()
	e.Source = r.string()
	e.UserID = r.string()
	e.SessionID = r.string()
	e.Severity = Severity(r.byte())
	flags := r.byte()
	e.Timestamp = r.time()
	if flags&flagMetaLatency != 0 {
		if len(r.b) < 8 {
			return Record{}, ErrCorruptRecord
		}
		e.MetaLatency = math.Float64frombits(binary.LittleEndian.Uint64(r.b))
		e.HasMetaLatency = true
		r.b = r.b[8:]
		// Decode never accepts NaN or ±Inf, so no record written by us holds one.
		if math.IsNaN(e.MetaLatency) || math.IsInf(e.MetaLatency, 0) {
			return Record{}, ErrCorruptRecord
		}
	}
	n := r.uvarint()
	// Each tag takes at least two bytes, which bounds the map's size.
	if r.bad || n > uint64(len(r.b)/2) {
		return Record{}, ErrCorruptRecord
	}
	if n > 0 {
		e.Tags = make(map[string]string, n)
		for i := uint64(0); i < n && !r.bad; i++ {
			k := r.string()
			e.Tags[k] = r.string()
		}
	}
	if md := r.bytes(); len(md) > 0 {
		e.Metadata = append([]byte(nil), md...)
	}
	if r.bad || len(r.b) != 0 || flags&^flagMetaLatency != 0 {
		return Record{}, ErrCorruptRecord
	}
	// Only the kinds we write, and a real severity on an event.
	switch {
	case rec.Kind == KindEvent && e.Severity.Valid():
	case rec.Kind == KindReset:
	default:
		return Record{}, ErrCorruptRecord
	}
	return rec, nil
}
