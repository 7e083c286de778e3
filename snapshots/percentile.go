package snapshots

import "math"

// The snapshot's percentiles follow one definition, spec/metrics.md's nearest
// rank: pq of n recorded latencies is the smallest of them with at least q·n
// values at or below it, that is the value at 1-based rank ceil(q·n). It is
// what a user computes by hand and what the original Eventara's in-memory
// mode reported: p99 of 10, 20, …, 200 is 200. DDSketch's GetValueAtQuantile
// reads 0-based rank floor(q·(n−1)) instead, up to one rank lower, which
// shows on small n (it gives 190.59 for that p99), so neither the totals'
// sketch nor the windows' histograms are asked for a quantile. Both are asked
// for the bin holding rank ceil(q·n), whose value is within the sketch's
// relative accuracy of it; the exact min and max, which both keep, answer
// the first and last rank exactly (one value, two values, p99 of 20) and
// bound the rest.

// rankEpsilon absorbs the rounding of q·n in float64: 0.07·100 is
// 7.000000000000001, whose ceiling would be one rank too high.
const rankEpsilon = 1e-9

// nearestRank returns the 1-based rank ceil(q·n), within [1, n], of the
// nearest-rank percentile q (0 ≤ q ≤ 1) of n > 0 values.
func nearestRank(q float64, n uint64) uint64 {
	x := q * float64(n)
	r := math.Round(x)
	if math.Abs(x-r) > rankEpsilon*max(1, x) {
		r = math.Ceil(x)
	}
	return min(max(uint64(r), 1), n)
}

// clampRank answers rank k of n exactly where min and max are the answer
// (the first and last rank) and otherwise keeps the bin's value v within
// them, so a sketch's representative value never lies outside what was
// recorded.
func clampRank(v float64, k, n uint64, lo, hi float64) float64 {
	switch k {
	case n:
		return hi
	case 1:
		return lo
	}
	return min(max(v, lo), hi)
}
