package snapshots

// Why ours and not github.com/axiomhq/hyperloglog (issue 11): the
// benchmarks BenchmarkHLLLibraryVsOurs in hll_bench_test.go and
// BenchmarkHLLWindowUsers in window_users_bench_test.go compare it (v0.3.0,
// fed our hashes; it holds exactly our registers,
// TestHLLSameRegistersAsLibrary) with this file on what Eventara does, and
// it costs more than it saves:
//   - per event, an add takes 10–50× as long in its default sparse form
//     (175–445 ns against 9–17 ns; a user seen again in the same bucket is
//     the worst case) and 1.6–4× in its dense form;
//   - per tick, its estimator calls math.Pow per register and it has no
//     union estimate, so the window clones and merges: one second of the
//     24 h window at 1,000 events/s costs 0.6–1.0 ms against 42 µs;
//   - memory: its sparse form saves only on nearly empty sketches (152 B
//     against 16 KiB); the 289 buckets of a 24 h window retain 4.5 MiB with
//     either when busy, and 3.6 MiB against 4.5 at one event a second
//     (Merge leaves a large hash set in each suffix union).
//
// Accuracy is the same (same registers; its sparse form is exact below about
// a thousand users) and its marshal is faster, which matters once per
// checkpoint (30 s), not per event.

import (
	"math"
	"math/bits"
)

// HyperLogLog precisions. Totals use p = 16: 2^16 one-byte registers
// (64 KiB), a standard error of 1.04/sqrt(2^16) ≈ 0.41%, so the < 2% bound of
// metrics.md holds with nearly 5 sigma. Window user buckets, of which a 24 h
// window holds up to 289, use p = 14 (16 KiB, ≈ 0.81%). TestHLLError
// measures both.
const (
	totalsPrecision = 16
	windowPrecision = 14
)

// hll is a HyperLogLog cardinality sketch over 64-bit hashes, estimated with
// Ertl's improved raw estimator ("New cardinality estimation algorithms for
// HyperLogLog sketches", 2017), which needs no empirical bias tables and is
// accurate from 0 to billions. Small cardinalities come out exact or nearly.
type hll struct {
	p   uint8
	reg []uint8 // 2^p registers
}

func newHLL(p uint8) *hll { return &hll{p: p, reg: make([]uint8, 1<<p)} }

func (s *hll) clone() *hll {
	return &hll{p: s.p, reg: append([]uint8(nil), s.reg...)}
}

func (s *hll) maxRank() uint8 { return 64 - s.p + 1 }

// hashString is FNV-1a 64 finished with murmur3's fmix64, so the bits an hll
// takes from it are well mixed. It is stable across processes, which a
// checkpointed sketch needs (hash/maphash is seeded per process).
func hashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// addHash adds a hashed element.
func (s *hll) addHash(h uint64) {
	idx := h >> (64 - s.p)
	rank := uint8(min(bits.LeadingZeros64(h<<s.p)+1, int(s.maxRank())))
	if rank > s.reg[idx] {
		s.reg[idx] = rank
	}
}

// merge makes s the union of s and o (of the same precision).
func (s *hll) merge(o *hll) {
	for i, v := range o.reg {
		if v > s.reg[i] {
			s.reg[i] = v
		}
	}
}

func (s *hll) reset() { clear(s.reg[:]) }

// estimate returns the estimated number of distinct elements added.
func (s *hll) estimate() uint64 {
	var c [66]int
	for _, v := range s.reg {
		c[v]++
	}
	return ertlEstimate(&c, s.p)
}

// estimateUnion returns the estimate of the union of a and b without
// building it; either may be nil.
func estimateUnion(a, b *hll) uint64 {
	var c [66]int
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return b.estimate()
	case b == nil:
		return a.estimate()
	}
	for i, v := range a.reg {
		c[max(v, b.reg[i])]++
	}
	return ertlEstimate(&c, a.p)
}

// ertlEstimate computes the improved raw estimate from the register histogram.
func ertlEstimate(c *[66]int, p uint8) uint64 {
	m := float64(uint64(1) << p)
	q := 64 - int(p)
	if float64(c[0]) == m {
		return 0
	}
	z := m * hllTau((m-float64(c[q+1]))/m)
	for k := q; k >= 1; k-- {
		z = 0.5 * (z + float64(c[k]))
	}
	z += m * hllSigma(float64(c[0])/m)
	est := m * m / (2 * math.Ln2 * z)
	return uint64(math.Round(est))
}

func hllSigma(x float64) float64 {
	if x == 1 {
		return math.Inf(1)
	}
	y, z := 1.0, x
	for {
		x *= x
		prev := z
		z += x * y
		y += y
		if z == prev {
			return z
		}
	}
}

func hllTau(x float64) float64 {
	if x == 0 || x == 1 {
		return 0
	}
	y, z := 1.0, 1-x
	for {
		x = math.Sqrt(x)
		prev := z
		y *= 0.5
		z -= (1 - x) * (1 - x) * y
		if z == prev {
			return z / 3
		}
	}
}

// appendHLL writes s compactly: its precision, then sparse (index delta,
// rank) pairs when few registers are set, else the raw registers. A nil or
// empty sketch is written as one zero byte.
func appendHLL(e *encoder, s *hll) {
	if s == nil {
		e.uvarint(0)
		return
	}
	n := 0
	for _, v := range s.reg {
		if v != 0 {
			n++
		}
	}
	if n == 0 {
		e.uvarint(0)
		return
	}
	e.uvarint(uint64(s.p))
	if n*3 < len(s.reg) {
		e.uvarint(0)
		e.uvarint(uint64(n))
		prev := 0
		for i, v := range s.reg {
			if v != 0 {
				e.uvarint(uint64(i - prev))
				e.buf = append(e.buf, v)
				prev = i
			}
		}
		return
	}
	e.uvarint(1)
	e.buf = append(e.buf, s.reg...)
}

// readHLL reads what appendHLL wrote for precision want; an empty sketch
// comes back nil.
func readHLL(d *decoder, want uint8) *hll {
	p := d.uvarint()
	if p == 0 || d.err != nil {
		return nil
	}
	if p != uint64(want) {
		d.fail("hll precision %d, want %d", p, want)
		return nil
	}
	s := newHLL(want)
	switch d.uvarint() {
	case 0:
		n := d.uvarint()
		if n > uint64(len(s.reg)) {
			d.fail("hll: %d registers", n)
			return nil
		}
		idx := uint64(0)
		for range n {
			idx += d.uvarint()
			v := d.byte()
			if idx >= uint64(len(s.reg)) || v > s.maxRank() {
				d.fail("hll: register %d = %d", idx, v)
				return nil
			}
			s.reg[idx] = v
		}
	case 1:
		copy(s.reg, d.bytesN(len(s.reg)))
	default:
		d.fail("hll: unknown form")
	}
	if d.err != nil {
		return nil
	}
	return s
}
