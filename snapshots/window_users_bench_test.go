package snapshots

import (
	"testing"

	"github.com/axiomhq/hyperloglog"
)

// usersSketchRing is what BenchmarkHLLWindowUsers drives: userRing (ours)
// or axiomUserRing.
type usersSketchRing interface {
	start(sec, secs int64)
	advance(sec, secs int64)
	add(h uint64)
	estimate() uint64
	popOldest()
}

// axiomUserRing is userRing (window_users.go) with the library's sketches:
// the same two stacks and the same merges. Only estimate differs: the
// library cannot estimate a union in place, so it clones the front's top
// and merges the back's aggregate into the copy.
type axiomUserRing struct {
	sparse     bool
	bucketSecs int64
	headB      int64
	oldestB    int64
	front      []*hyperloglog.Sketch
	back       []*hyperloglog.Sketch
	backAgg    *hyperloglog.Sketch
}

func (r *axiomUserRing) newSketch() *hyperloglog.Sketch {
	s, _ := hyperloglog.NewSketch(windowPrecision, r.sparse)
	return s
}

func (r *axiomUserRing) start(sec, _ int64) {
	clear(r.front)
	clear(r.back)
	r.front, r.back, r.backAgg = r.front[:0], r.back[:0], nil
	r.headB = floorDiv(sec, r.bucketSecs)
	r.oldestB = r.headB
	r.back = append(r.back, nil)
}

func (r *axiomUserRing) advance(sec, secs int64) {
	headB := floorDiv(sec, r.bucketSecs)
	oldestB := floorDiv(sec-secs+1, r.bucketSecs)
	if headB <= r.headB {
		return
	}
	if oldestB > r.headB {
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

func (r *axiomUserRing) popOldest() {
	if len(r.front) == 0 {
		r.flip()
	}
	if n := len(r.front); n > 0 {
		r.front[n-1] = nil
		r.front = r.front[:n-1]
	}
}

func (r *axiomUserRing) flip() {
	n := len(r.back) - 1
	if n <= 0 {
		return
	}
	var agg *hyperloglog.Sketch
	for j := n - 1; j >= 0; j-- {
		b := r.back[j]
		switch {
		case b == nil && agg != nil:
			b = agg.Clone()
		case b != nil && agg != nil:
			_ = b.Merge(agg)
		}
		r.front = append(r.front, b)
		agg = b
	}
	newest := r.back[n]
	clear(r.back[:n])
	r.back = append(r.back[:0], newest)
	r.backAgg = nil
	if newest != nil {
		r.backAgg = newest.Clone()
	}
}

func (r *axiomUserRing) add(h uint64) {
	last := len(r.back) - 1
	b := r.back[last]
	if b == nil {
		b = r.newSketch()
		r.back[last] = b
	}
	b.InsertHash(h)
	if r.backAgg == nil {
		r.backAgg = r.newSketch()
	}
	r.backAgg.InsertHash(h)
}

func (r *axiomUserRing) estimate() uint64 {
	var top *hyperloglog.Sketch
	if n := len(r.front); n > 0 {
		top = r.front[n-1]
	}
	switch {
	case top == nil && r.backAgg == nil:
		return 0
	case top == nil:
		return r.backAgg.Estimate()
	case r.backAgg == nil:
		return top.Estimate()
	}
	u := top.Clone()
	_ = u.Merge(r.backAgg)
	return u.Estimate()
}

// ringTraffic is a steady load on the 24 h window: perSec events a second,
// the event i from user (i*stride) mod users.
type ringTraffic struct {
	name           string
	perSec, users  int
	stride         int
	bucketDistinct int // distinct users a 5-minute bucket sees
}

var ringTraffics = []ringTraffic{
	// benchEvents' load: 1,000 events a second over 100,000 users, so
	// each 5-minute bucket sees every user.
	{name: "busy", perSec: 1000, users: 100_000, stride: 13, bucketDistinct: 100_000},
	// A small deployment: one event a second over 1,000 users, 300 a
	// bucket.
	{name: "quiet", perSec: 1, users: 1_000, stride: 7, bucketDistinct: 300},
}

const (
	ringSecs       = 24 * 3600
	ringBucketSecs = ringSecs / maxUserBuckets // 300
)

func newRing(impl string) usersSketchRing {
	switch impl {
	case "ours":
		return newUserRing(ringBucketSecs)
	case "axiom":
		return &axiomUserRing{sparse: true, bucketSecs: ringBucketSecs}
	default:
		return &axiomUserRing{sparse: false, bucketSecs: ringBucketSecs}
	}
}

// fillRing runs a full day of tr through r, ending at second ringSecs-1,
// and returns the index of the next event. Within each bucket only its
// distinct users are added: the sketches end as the real stream leaves them.
func fillRing(r usersSketchRing, tr ringTraffic, hs []uint64) int {
	r.start(0, ringSecs)
	i := 0
	for sec := 0; sec < ringSecs; sec += ringBucketSecs {
		r.advance(int64(sec), ringSecs)
		if tr.bucketDistinct == tr.users {
			for _, h := range hs {
				r.add(h)
			}
			i += ringBucketSecs * tr.perSec
			continue
		}
		for range ringBucketSecs * tr.perSec {
			r.add(hs[(i*tr.stride)%tr.users])
			i++
		}
	}
	r.advance(ringSecs-1, ringSecs)
	return i
}

// BenchmarkHLLWindowUsers is the 24-hour window's user estimate (289
// buckets of 5 minutes, window_users.go) with ours and the library: one op
// is one second of traffic (perSec adds, each two register updates), the
// advance to the next second and the tick's estimate. "ring-B" is the heap
// the full day's sketches retain; "flip" the reorganisation that happens
// once every 288 buckets (24 h), merging every bucket.
func BenchmarkHLLWindowUsers(b *testing.B) {
	impls := []string{"ours", "axiom", "axiom-dense"}
	for _, tr := range ringTraffics {
		hs := userHashes(tr.users)
		for _, impl := range impls {
			b.Run("op=second/traffic="+tr.name+"/impl="+impl, func(b *testing.B) {
				// A full day, then one bucket more: the first flip has
				// made front's suffix unions, as in steady state, and the
				// next comes 288 buckets (86,400 ops) later.
				var r usersSketchRing
				var i int
				const sec0 = ringSecs + ringBucketSecs - 1
				m := retained(1, func() any {
					r = newRing(impl)
					i = fillRing(r, tr, hs)
					r.advance(sec0, ringSecs)
					return r
				})
				b.ReportAllocs()
				sec := int64(sec0 + 1)
				for b.Loop() {
					for range tr.perSec {
						r.add(hs[(i*tr.stride)%tr.users])
						i++
					}
					r.advance(sec, ringSecs)
					_ = r.estimate()
					sec++
				}
				b.ReportMetric(m, "ring-B")
			})
		}
		for _, impl := range impls {
			b.Run("op=flip/traffic="+tr.name+"/impl="+impl, func(b *testing.B) {
				// A day of buckets in back, front empty: the next pop flips.
				base := newRing(impl)
				fillRing(base, tr, hs)
				b.ReportAllocs()
				for b.Loop() {
					b.StopTimer()
					r := cloneBack(base)
					b.StartTimer()
					r.popOldest()
				}
			})
		}
	}
}

// cloneBack returns a ring holding copies of every bucket of r, all in
// back (front empty), so that its next popOldest flips them all.
func cloneBack(r usersSketchRing) usersSketchRing {
	switch r := r.(type) {
	case *userRing:
		c := &userRing{bucketSecs: r.bucketSecs, headB: r.headB, oldestB: r.oldestB}
		for i := len(r.front) - 1; i >= 0; i-- {
			c.back = append(c.back, cloneOurs(r.front[i]))
		}
		for _, s := range r.back {
			c.back = append(c.back, cloneOurs(s))
		}
		c.backAgg = cloneOurs(r.backAgg)
		return c
	case *axiomUserRing:
		c := &axiomUserRing{sparse: r.sparse, bucketSecs: r.bucketSecs, headB: r.headB, oldestB: r.oldestB}
		for i := len(r.front) - 1; i >= 0; i-- {
			c.back = append(c.back, cloneAxiom(r.front[i]))
		}
		for _, s := range r.back {
			c.back = append(c.back, cloneAxiom(s))
		}
		c.backAgg = cloneAxiom(r.backAgg)
		return c
	}
	panic("unknown ring")
}

func cloneOurs(s *hll) *hll {
	if s == nil {
		return nil
	}
	return s.clone()
}

func cloneAxiom(s *hyperloglog.Sketch) *hyperloglog.Sketch {
	if s == nil {
		return nil
	}
	return s.Clone()
}
