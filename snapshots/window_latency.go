package snapshots

import "math"

// The window latency histogram uses the totals sketch's mapping (1% relative
// accuracy) over a fixed range: latencies are clamped to [1 µs, 10^9 ms],
// which keeps the histogram dense and small (~1,400 bins) and is far wider
// than the health thresholds (1,000 and 5,000 ms) it serves.
const (
	windowLatMin = 1e-3
	windowLatMax = 1e9
)

var (
	windowLatLo = sketchMapping.Index(windowLatMin)
	windowLatHi = sketchMapping.Index(windowLatMax)
)

// latencyRing is a subtractable histogram over a sliding window: each second
// keeps its own bin counts, and a running dense histogram is their sum, so a
// second leaving the window is subtracted in O(its distinct bins) and a
// quantile is one scan of the dense bins. Each second also keeps the exact
// min and max of its latencies, so that a quantile falling in the lowest or
// highest bin answers with the window's exact min or max (percentile.go);
// they are combined only then, in one pass over two float slices.
type latencyRing struct {
	slots  []map[int32]uint32 // per second, allocated on first use
	lo, hi []float64          // per second: exact min and max; +Inf and -Inf when it has none
	hist   []uint64           // running counts, index = bin - windowLatLo
	n      uint64
}

func newLatencyRing(secs int) *latencyRing {
	r := &latencyRing{
		slots: make([]map[int32]uint32, secs),
		lo:    make([]float64, secs),
		hi:    make([]float64, secs),
		hist:  make([]uint64, windowLatHi-windowLatLo+1),
	}
	r.clearBounds()
	return r
}

// clearBounds marks every second as holding no latency.
func (r *latencyRing) clearBounds() {
	for i := range r.lo {
		r.lo[i], r.hi[i] = math.Inf(1), math.Inf(-1)
	}
}

func latBin(v float64) int32 {
	return int32(sketchMapping.Index(min(max(v, windowLatMin), windowLatMax)))
}

func (r *latencyRing) add(slot int, v float64) {
	b := latBin(v)
	m := r.slots[slot]
	if m == nil {
		m = make(map[int32]uint32)
		r.slots[slot] = m
	}
	r.lo[slot], r.hi[slot] = min(r.lo[slot], v), max(r.hi[slot], v)
	m[b]++
	r.hist[int(b)-windowLatLo]++
	r.n++
}

func (r *latencyRing) expire(slot int) {
	m := r.slots[slot]
	if len(m) == 0 {
		return
	}
	for b, c := range m {
		r.hist[int(b)-windowLatLo] -= uint64(c)
		r.n -= uint64(c)
	}
	clear(m)
	r.lo[slot], r.hi[slot] = math.Inf(1), math.Inf(-1)
}

func (r *latencyRing) reset() {
	for _, m := range r.slots {
		clear(m)
	}
	clear(r.hist)
	r.n = 0
	r.clearBounds()
}

// bounds returns the exact min and max of the latencies in the window; the
// window must hold at least one.
func (r *latencyRing) bounds() (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	his := r.hi[:len(r.lo)]
	for i, l := range r.lo {
		// Plain comparisons: no NaN is stored, and the builtin min and max
		// pay for NaN and signed zeros.
		if l < lo {
			lo = l
		}
		if h := his[i]; h > hi {
			hi = h
		}
	}
	return lo, hi
}

// quantile returns the nearest-rank percentile q (percentile.go): the value
// of the bin holding rank ceil(q·n), within 1%, or the window's exact min or
// max at the first or last rank. It is 0 when the window has no latency.
func (r *latencyRing) quantile(q float64) float64 {
	if r.n == 0 {
		return 0
	}
	k := nearestRank(q, r.n)
	var cum uint64
	for i, c := range r.hist {
		if c == 0 {
			continue
		}
		lowest := cum == 0
		cum += c
		if cum < k {
			continue
		}
		v := sketchMapping.Value(i + windowLatLo)
		// Only the lowest and highest bins hold the min or max; a bin
		// between them lies strictly inside (min, max) and needs no clamp.
		if lowest || cum == r.n {
			lo, hi := r.bounds()
			v = clampRank(v, k, r.n, lo, hi)
		}
		return v
	}
	_, hi := r.bounds() // not reached: n is the sum of hist
	return hi
}
