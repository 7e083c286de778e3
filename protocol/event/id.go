package event

import (
	"bytes"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"time"
)

// ID is an event's unique, sortable identifier: a ULID. The first 6 bytes are
// the Unix time in milliseconds (big-endian), the last 10 are random, so byte
// order is time order and IDs from one Generator are strictly increasing.
// The zero ID is never generated.
type ID [16]byte

// idLen is the length of an ID's text form.
const idLen = 26

// maxMs is the largest millisecond timestamp an ID holds (48 bits).
const maxMs = 1<<48 - 1

// crockford is the Crockford base32 alphabet ULIDs are written in.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// crockfordDec maps a byte to its 5-bit value, 0xFF when it is not a digit.
// Lower case is accepted.
var crockfordDec = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xFF
	}
	for i := 0; i < len(crockford); i++ {
		c := crockford[i]
		t[c] = byte(i)
		if c >= 'A' && c <= 'Z' {
			t[c+'a'-'A'] = byte(i)
		}
	}
	return t
}()

// ErrInvalidID is returned by ParseID for text that is not a ULID.
var ErrInvalidID = errors.New("event: invalid id")

// String returns the ID as 26 characters of Crockford base32.
func (id ID) String() string {
	var b [idLen]byte
	id.encode(&b)
	return string(b[:])
}

// AppendText appends the ID's text form to b.
func (id ID) AppendText(b []byte) ([]byte, error) {
	var t [idLen]byte
	id.encode(&t)
	return append(b, t[:]...), nil
}

// MarshalText returns the ID's text form.
func (id ID) MarshalText() ([]byte, error) { return id.AppendText(make([]byte, 0, idLen)) }

// UnmarshalText parses the ID's text form (see ParseID).
func (id *ID) UnmarshalText(b []byte) error {
	v, err := parseID(b)
	if err != nil {
		return err
	}
	*id = v
	return nil
}

// ParseID parses the 26-character text form of an ID, case-insensitively.
func ParseID(s string) (ID, error) { return parseID([]byte(s)) }

func parseID(s []byte) (ID, error) {
	var id ID
	if len(s) != idLen {
		return id, ErrInvalidID
	}
	var v [idLen]byte
	for i := 0; i < idLen; i++ {
		d := crockfordDec[s[i]]
		if d == 0xFF {
			return id, ErrInvalidID
		}
		v[i] = d
	}
	// 26 digits hold 130 bits; the top two must be zero.
	if v[0] > 7 {
		return id, ErrInvalidID
	}
	id[0] = v[0]<<5 | v[1]
	id[1] = v[2]<<3 | v[3]>>2
	id[2] = v[3]<<6 | v[4]<<1 | v[5]>>4
	id[3] = v[5]<<4 | v[6]>>1
	id[4] = v[6]<<7 | v[7]<<2 | v[8]>>3
	id[5] = v[8]<<5 | v[9]
	id[6] = v[10]<<3 | v[11]>>2
	id[7] = v[11]<<6 | v[12]<<1 | v[13]>>4
	id[8] = v[13]<<4 | v[14]>>1
	id[9] = v[14]<<7 | v[15]<<2 | v[16]>>3
	id[10] = v[16]<<5 | v[17]
	id[11] = v[18]<<3 | v[19]>>2
	id[12] = v[19]<<6 | v[20]<<1 | v[21]>>4
	id[13] = v[21]<<4 | v[22]>>1
	id[14] = v[22]<<7 | v[23]<<2 | v[24]>>3
	id[15] = v[24]<<5 | v[25]
	return id, nil
}

func (id ID) encode(d *[idLen]byte) {
	const a = crockford
	d[0] = a[(id[0]&224)>>5]
	d[1] = a[id[0]&31]
	d[2] = a[(id[1]&248)>>3]
	d[3] = a[((id[1]&7)<<2)|((id[2]&192)>>6)]
	d[4] = a[(id[2]&62)>>1]
	d[5] = a[((id[2]&1)<<4)|((id[3]&240)>>4)]
	d[6] = a[((id[3]&15)<<1)|((id[4]&128)>>7)]
	d[7] = a[(id[4]&124)>>2]
	d[8] = a[((id[4]&3)<<3)|((id[5]&224)>>5)]
	d[9] = a[id[5]&31]
	d[10] = a[(id[6]&248)>>3]
	d[11] = a[((id[6]&7)<<2)|((id[7]&192)>>6)]
	d[12] = a[(id[7]&62)>>1]
	d[13] = a[((id[7]&1)<<4)|((id[8]&240)>>4)]
	d[14] = a[((id[8]&15)<<1)|((id[9]&128)>>7)]
	d[15] = a[(id[9]&124)>>2]
	d[16] = a[((id[9]&3)<<3)|((id[10]&224)>>5)]
	d[17] = a[id[10]&31]
	d[18] = a[(id[11]&248)>>3]
	d[19] = a[((id[11]&7)<<2)|((id[12]&192)>>6)]
	d[20] = a[(id[12]&62)>>1]
	d[21] = a[((id[12]&1)<<4)|((id[13]&240)>>4)]
	d[22] = a[((id[13]&15)<<1)|((id[14]&128)>>7)]
	d[23] = a[(id[14]&124)>>2]
	d[24] = a[((id[14]&3)<<3)|((id[15]&224)>>5)]
	d[25] = a[id[15]&31]
}

// Ms returns the ID's timestamp in Unix milliseconds.
func (id ID) Ms() int64 {
	return int64(id[0])<<40 | int64(id[1])<<32 | int64(id[2])<<24 |
		int64(id[3])<<16 | int64(id[4])<<8 | int64(id[5])
}

// Time returns the ID's timestamp (millisecond precision, UTC).
func (id ID) Time() time.Time { return time.UnixMilli(id.Ms()).UTC() }

// IsZero reports whether id is the zero ID.
func (id ID) IsZero() bool { return id == ID{} }

// Compare returns -1, 0 or +1 as id sorts before, equal to or after o.
func (id ID) Compare(o ID) int { return bytes.Compare(id[:], o[:]) }

// MinID returns the smallest ID at t's millisecond: every ID generated at or
// after t sorts at or after it, which makes it the lower bound of a range
// scan. Times before the Unix epoch give the zero ID; times past the 48-bit
// range give the largest millisecond.
func MinID(t time.Time) ID {
	var id ID
	setMs(&id, clampMs(t.UnixMilli()))
	return id
}

// MaxID returns the largest ID at t's millisecond.
func MaxID(t time.Time) ID {
	id := MinID(t)
	for i := 6; i < 16; i++ {
		id[i] = 0xFF
	}
	return id
}

func clampMs(ms int64) int64 {
	if ms < 0 {
		return 0
	}
	if ms > maxMs {
		return maxMs
	}
	return ms
}

func setMs(id *ID, ms int64) {
	id[0] = byte(ms >> 40)
	id[1] = byte(ms >> 32)
	id[2] = byte(ms >> 24)
	id[3] = byte(ms >> 16)
	id[4] = byte(ms >> 8)
	id[5] = byte(ms)
}

// Generator makes strictly increasing IDs. Within one millisecond, and when
// the clock steps back, it keeps the last millisecond and increments the
// random part, so journal order (the order of New calls) is ID order.
// A Generator is not safe for concurrent use: one owner (the ingest actor)
// calls it. The zero value is ready to use.
type Generator struct {
	rng    *rand.ChaCha8
	lastMs int64
	hi     uint16 // random bits 79..64
	lo     uint64 // random bits 63..0
	used   bool
}

// NewGenerator returns a Generator seeded from crypto/rand.
func NewGenerator() *Generator {
	g := &Generator{}
	g.seed()
	return g
}

func (g *Generator) seed() {
	var s [32]byte
	_, _ = crand.Read(s[:]) // never fails since Go 1.24; it crashes the program instead
	g.rng = rand.NewChaCha8(s)
}

// New returns an ID for now, strictly greater than every ID g returned before.
func (g *Generator) New(now time.Time) ID {
	if g.rng == nil {
		g.seed()
	}
	ms := clampMs(now.UnixMilli())
	if !g.used || ms > g.lastMs {
		g.lastMs = ms
		g.lo = g.rng.Uint64()
		g.hi = uint16(g.rng.Uint64())
		g.used = true
	} else {
		g.lo++
		if g.lo == 0 {
			g.hi++
			if g.hi == 0 {
				// The 80 random bits overflowed: move to the next millisecond.
				g.lastMs++
			}
		}
	}
	var id ID
	setMs(&id, g.lastMs)
	binary.BigEndian.PutUint16(id[6:8], g.hi)
	binary.BigEndian.PutUint64(id[8:16], g.lo)
	if id.IsZero() { // only at the epoch with all-zero randomness
		id[15] = 1
		g.lo = 1
	}
	return id
}
