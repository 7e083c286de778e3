package snapshots

import (
	"encoding/binary"
	"fmt"
	"math"
)

// encoder appends the checkpoint format: unsigned varints, float64 bits,
// length-prefixed strings. Every checkpoint starts with a magic byte and a
// version so a later format can still read an older one.
type encoder struct {
	buf []byte
}

func (e *encoder) uvarint(v uint64) { e.buf = binary.AppendUvarint(e.buf, v) }
func (e *encoder) varint(v int64)   { e.buf = binary.AppendVarint(e.buf, v) }
func (e *encoder) float(f float64) {
	e.buf = binary.LittleEndian.AppendUint64(e.buf, math.Float64bits(f))
}
func (e *encoder) str(s string) {
	e.uvarint(uint64(len(s)))
	e.buf = append(e.buf, s...)
}
func (e *encoder) bytes(b []byte) {
	e.uvarint(uint64(len(b)))
	e.buf = append(e.buf, b...)
}
func (e *encoder) bool(b bool) {
	if b {
		e.buf = append(e.buf, 1)
	} else {
		e.buf = append(e.buf, 0)
	}
}

// decoder reads what encoder wrote. The first error sticks; reads after it
// return zero values, so callers check d.err once at the end.
type decoder struct {
	buf []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: "+format, append([]any{ErrBadCheckpoint}, args...)...)
	}
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.buf)
	if n <= 0 {
		d.fail("bad uvarint")
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.buf)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *decoder) float() float64 {
	b := d.bytesN(8)
	if d.err != nil {
		return 0
	}
	return math.Float64frombits(binary.LittleEndian.Uint64(b))
}

func (d *decoder) byte() byte {
	b := d.bytesN(1)
	if d.err != nil {
		return 0
	}
	return b[0]
}

func (d *decoder) bool() bool { return d.byte() != 0 }

func (d *decoder) bytesN(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.buf) {
		d.fail("truncated: need %d bytes, have %d", n, len(d.buf))
		return nil
	}
	b := d.buf[:n:n]
	d.buf = d.buf[n:]
	return b
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if n > uint64(len(d.buf)) {
		d.fail("truncated: length %d", n)
		return nil
	}
	return d.bytesN(int(n))
}

func (d *decoder) str() string { return string(d.bytes()) }

// count reads a collection length and checks it against a bound, so a
// corrupt checkpoint cannot make the reader allocate without limit.
func (d *decoder) count(limit uint64) int {
	n := d.uvarint()
	if n > limit || n > uint64(len(d.buf))+1 {
		d.fail("count %d out of range", n)
		return 0
	}
	return int(n)
}

// header writes the magic byte and version.
func (e *encoder) header(magic byte, version uint64) {
	e.buf = append(e.buf, magic)
	e.uvarint(version)
}

// header checks the magic byte and that the version is one of oldest..newest,
// which it returns, so a reader can keep reading the layouts it replaced.
func (d *decoder) header(magic byte, oldest, newest uint64) uint64 {
	if m := d.byte(); d.err == nil && m != magic {
		d.fail("magic %#x, want %#x", m, magic)
		return 0
	}
	v := d.uvarint()
	if d.err == nil && (v < oldest || v > newest) {
		if oldest == newest {
			d.fail("%w: version %d, this build reads %d", ErrCheckpointVersion, v, newest)
		} else {
			d.fail("%w: version %d, this build reads %d to %d", ErrCheckpointVersion, v, oldest, newest)
		}
	}
	return v
}
