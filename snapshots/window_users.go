package snapshots

// userRing estimates the distinct users of a sliding window: one HLL per
// bucket of bucketSecs seconds, kept in a two-stack sliding union (the
// "two-stacks" sliding-window aggregation):
//   - back holds the raw sketches of the newest buckets, the last being the
//     bucket being filled, and backAgg their union;
//   - front holds, oldest on top (at the end), suffix unions: front[i] is
//     the union of its bucket and every newer bucket in front.
//
// The window's union is front's top ∪ backAgg, so an estimate is one pass
// over two sketches, an event is two register updates, and dropping the
// oldest bucket is a pop; when front runs empty, back (but its newest
// bucket) is flipped into front, merging in place: O(1) amortised merges
// per bucket. Buckets that saw no user are nil.
type userRing struct {
	bucketSecs int64
	headB      int64 // newest bucket
	oldestB    int64 // oldest bucket kept
	front      []*hll
	back       []*hll
	backAgg    *hll
}

func newUserRing(bucketSecs int64) *userRing {
	return &userRing{bucketSecs: bucketSecs}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// start begins at second sec with one empty bucket.
func (r *userRing) start(sec, _ int64) {
	r.reset()
	r.headB = floorDiv(sec, r.bucketSecs)
	r.oldestB = r.headB
	r.back = append(r.back, nil)
}

func (r *userRing) reset() {
	clear(r.front)
	clear(r.back)
	r.front, r.back, r.backAgg = r.front[:0], r.back[:0], nil
	r.headB, r.oldestB = 0, 0
}

// advance moves the newest second to sec of a window of secs seconds: it
// keeps every bucket that overlaps seconds sec-secs+1 … sec.
func (r *userRing) advance(sec, secs int64) {
	headB := floorDiv(sec, r.bucketSecs)
	oldestB := floorDiv(sec-secs+1, r.bucketSecs)
	if headB <= r.headB {
		return
	}
	if oldestB > r.headB { // every bucket kept so far has left
		r.start(sec, secs)
		return
	}
	for ; r.headB < headB; r.headB++ {
		r.back = append(r.back, nil)
	}
	for ; r.oldestB < oldestB; r.oldestB++ {
		r.popOldest()
	}
}

func (r *userRing) popOldest() {
	if len(r.front) == 0 {
		r.flip()
	}
	if n := len(r.front); n > 0 {
		r.front[n-1] = nil
		r.front = r.front[:n-1]
	}
}

// flip moves every back bucket but the newest into front as suffix unions.
func (r *userRing) flip() {
	n := len(r.back) - 1
	if n <= 0 {
		return
	}
	var agg *hll
	for j := n - 1; j >= 0; j-- {
		b := r.back[j]
		switch {
		case b == nil && agg != nil:
			b = agg.clone()
		case b != nil && agg != nil:
			b.merge(agg)
		}
		r.front = append(r.front, b)
		agg = b
	}
	newest := r.back[n]
	clear(r.back[:n])
	r.back = append(r.back[:0], newest)
	if newest == nil {
		r.backAgg = nil
	} else {
		if r.backAgg == nil {
			r.backAgg = newHLL(windowPrecision)
		}
		copy(r.backAgg.reg, newest.reg)
	}
}

// add records a user (its hash) in the newest bucket. A late event whose
// bucket is already behind the newest is recorded in the newest too, which
// keeps its user active for at most one bucket longer.
func (r *userRing) add(h uint64) {
	last := len(r.back) - 1
	b := r.back[last]
	if b == nil {
		b = newHLL(windowPrecision)
		r.back[last] = b
	}
	b.addHash(h)
	if r.backAgg == nil {
		r.backAgg = newHLL(windowPrecision)
	}
	r.backAgg.addHash(h)
}

func (r *userRing) estimate() uint64 {
	var top *hll
	if n := len(r.front); n > 0 {
		top = r.front[n-1]
	}
	return estimateUnion(top, r.backAgg)
}
