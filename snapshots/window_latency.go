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
// quantile is one scan of the dense bins.
type latencyRing struct {
	slots []map[int32]uint32 // per second, allocated on first use
	hist  []uint64           // running counts, index = bin - windowLatLo
	n     uint64
}

func newLatencyRing(secs int) *latencyRing {
	return &latencyRing{
		slots: make([]map[int32]uint32, secs),
		hist:  make([]uint64, windowLatHi-windowLatLo+1),
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
}

func (r *latencyRing) reset() {
	for _, m := range r.slots {
		clear(m)
	}
	clear(r.hist)
	r.n = 0
}

// quantile answers as DDSketch does: the value of the first bin whose
// cumulative count exceeds q*(n-1). It is 0 when the window has no latency.
func (r *latencyRing) quantile(q float64) float64 {
	if r.n == 0 {
		return 0
	}
	rank := math.Floor(q * float64(r.n-1))
	var cum uint64
	for i, c := range r.hist {
		cum += c
		if float64(cum) > rank {
			return sketchMapping.Value(i + windowLatLo)
		}
	}
	return sketchMapping.Value(len(r.hist) - 1 + windowLatLo)
}
