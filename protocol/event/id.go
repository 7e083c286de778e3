package event

import (
	crand "crypto/rand"
	"errors"
	"io"
	"math/rand/v2"
	"time"

	"github.com/oklog/ulid/v2"
)

// ID is an event's unique, sortable identifier: a ULID
// (github.com/oklog/ulid/v2). The first 6 bytes are the Unix time in
// milliseconds (big-endian), the last 10 are random, so byte order is time
// order and IDs from one Generator are strictly increasing. Its text form is
// 26 characters of Crockford base32. Both forms are the ones the journal has
// always stored (TestIDGolden holds IDs written before the library was used).
//
// ID is our own type over ulid.ULID so that callers (journal keys, REST
// paths) depend on this package only.
type ID ulid.ULID

// maxMs is the largest millisecond timestamp an ID holds (48 bits).
const maxMs = 1<<48 - 1

// ErrInvalidID is returned by ParseID for text that is not a ULID.
var ErrInvalidID = errors.New("event: invalid id")

// String returns the ID as 26 characters of Crockford base32.
func (id ID) String() string { return ulid.ULID(id).String() }

// AppendText appends the ID's text form to b.
func (id ID) AppendText(b []byte) ([]byte, error) {
	n := len(b)
	b = append(b, "00000000000000000000000000"...)
	_ = ulid.ULID(id).MarshalTextTo(b[n:]) // cannot fail: the slice is 26 bytes
	return b, nil
}

// MarshalText returns the ID's text form.
func (id ID) MarshalText() ([]byte, error) { return id.AppendText(make([]byte, 0, ulid.EncodedSize)) }

// UnmarshalText parses the ID's text form (see ParseID).
func (id *ID) UnmarshalText(b []byte) error {
	v, err := ParseID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}

// ParseID parses the 26-character text form of an ID, case-insensitively.
// Text with a character outside the alphabet, or above the 128-bit range,
// is ErrInvalidID.
func ParseID(s string) (ID, error) {
	// Not ulid.Parse: it turns bad characters into an undefined ID.
	v, err := ulid.ParseStrict(s)
	if err != nil {
		return ID{}, ErrInvalidID
	}
	return ID(v), nil
}

// Ms returns the ID's timestamp in Unix milliseconds.
func (id ID) Ms() int64 { return int64(ulid.ULID(id).Time()) }

// Time returns the ID's timestamp (millisecond precision, UTC).
func (id ID) Time() time.Time { return time.UnixMilli(id.Ms()).UTC() }

// IsZero reports whether id is the zero ID.
func (id ID) IsZero() bool { return id == ID{} }

// Compare returns -1, 0 or +1 as id sorts before, equal to or after o.
func (id ID) Compare(o ID) int { return ulid.ULID(id).Compare(ulid.ULID(o)) }

// MinID returns the smallest ID at t's millisecond: every ID generated at or
// after t sorts at or after it, which makes it the lower bound of a range
// scan. Times before the Unix epoch give the zero ID; times past the 48-bit
// range give the largest millisecond.
func MinID(t time.Time) ID {
	var id ulid.ULID
	_ = id.SetTime(clampMs(t.UnixMilli())) // clamped: cannot fail
	return ID(id)
}

// MaxID returns the largest ID at t's millisecond.
func MaxID(t time.Time) ID {
	id := MinID(t)
	for i := 6; i < 16; i++ {
		id[i] = 0xFF
	}
	return id
}

func clampMs(ms int64) uint64 {
	if ms < 0 {
		return 0
	}
	if ms > maxMs {
		return maxMs
	}
	return uint64(ms)
}

// Generator makes strictly increasing IDs: ulid's monotonic entropy, which
// adds one to the random part within a millisecond, plus what it leaves to
// its caller. When the clock steps back, the Generator stays on its last
// millisecond, so journal order (the order of New calls) is ID order; when
// the 80 random bits of a millisecond are used up, it moves to the next one.
// A Generator is not safe for concurrent use: one owner (the ingest actor)
// calls it. The zero value is ready to use.
type Generator struct {
	entropy *ulid.MonotonicEntropy
	lastMs  uint64
	last    ID
	buf     [10]byte // the random part; here rather than on the stack, which would escape
}

// NewGenerator returns a Generator seeded from crypto/rand.
func NewGenerator() *Generator {
	g := &Generator{}
	g.seed(nil)
	return g
}

// seed sets the random source: r, or ChaCha8 seeded from crypto/rand when
// r is nil. Increments of 1 within a millisecond, as our IDs always had:
// they are not secrets, and 2^80 of them fit in a millisecond.
func (g *Generator) seed(r io.Reader) {
	if r == nil {
		var s [32]byte
		_, _ = crand.Read(s[:]) // never fails since Go 1.24; it crashes the program instead
		r = rand.NewChaCha8(s)
	}
	g.entropy = ulid.Monotonic(r, 1)
}

// New returns an ID for now, strictly greater than every ID g returned before.
func (g *Generator) New(now time.Time) ID {
	if g.entropy == nil {
		g.seed(nil)
	}
	ms := clampMs(now.UnixMilli())
	if ms < g.lastMs {
		ms = g.lastMs // the clock stepped back: keep counting in the last millisecond
	}
	// What ulid.New does, minus an allocation: it reads into its result.
	err := g.entropy.MonotonicRead(ms, g.buf[:])
	for err != nil && ms < maxMs {
		// ErrMonotonicOverflow: 2^80 IDs in one millisecond. A new
		// millisecond starts from fresh randomness. (Reading ChaCha8
		// cannot fail.)
		ms++
		err = g.entropy.MonotonicRead(ms, g.buf[:])
	}
	var u ulid.ULID
	_ = u.SetTime(ms) // ms <= maxMs
	copy(u[6:], g.buf[:])
	id := ID(u)
	if err != nil || id.Compare(g.last) <= 0 {
		// Past the last millisecond of the 48-bit range, or all-zero
		// randomness at the epoch (the entropy then starts again): one past
		// the last ID keeps the order.
		id = g.last.next()
	}
	g.lastMs, g.last = ms, id
	return id
}

// next returns the ID one above id (wrapping at the largest).
func (id ID) next() ID {
	for i := len(id) - 1; i >= 0; i-- {
		id[i]++
		if id[i] != 0 {
			break
		}
	}
	return id
}
