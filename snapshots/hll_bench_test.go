package snapshots

import (
	"fmt"
	"math"
	"runtime"
	"strconv"
	"sync"
	"testing"

	"github.com/axiomhq/hyperloglog"
)

// This file compares our HyperLogLog (hll.go) with
// github.com/axiomhq/hyperloglog on what Eventara does with one, by the rule
// of issue 11: use the well-kept library unless a benchmark shows it costs
// more than it saves. Each sub-benchmark name ends in /impl=…, so
//
//	go test -run '^$' -bench 'HLLLibraryVsOurs|HLLWindowUsers' -count 10 ./snapshots/ > hll.txt
//	go run golang.org/x/perf/cmd/benchstat@latest -col /impl hll.txt
//
// puts ours and the library side by side. The library is fed our hashes
// (InsertHash(hashString(id))), as it would be in Eventara: its Insert takes
// a []byte, and a checkpointed register means the same under both only with
// the same hash. "axiom" is its default (sparse until the compressed
// sparse list outgrows 2^p bytes, then dense registers), "axiom-dense"
// NewSketch(p, false). The library has no way to estimate a union without building it,
// so its window estimate clones and merges. The library is a test-only
// dependency: nothing outside _test.go files imports it.

// axiomImpls are the library's two representations.
var axiomImpls = []struct {
	name   string
	sparse bool
}{{"axiom", true}, {"axiom-dense", false}}

func newAxiom(b testing.TB, p uint8, sparse bool) *hyperloglog.Sketch {
	s, err := hyperloglog.NewSketch(p, sparse)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// userHashes returns the hashes of user ids "user-0" … "user-(n-1)".
func userHashes(n int) []uint64 {
	hs := make([]uint64, n)
	for i := range hs {
		hs[i] = hashString("user-" + strconv.Itoa(i))
	}
	return hs
}

func oursWith(p uint8, hs []uint64) *hll {
	s := newHLL(p)
	for _, h := range hs {
		s.addHash(h)
	}
	return s
}

func axiomWith(b testing.TB, p uint8, sparse bool, hs []uint64) *hyperloglog.Sketch {
	s := newAxiom(b, p, sparse)
	for _, h := range hs {
		s.InsertHash(h)
	}
	return s
}

// retained returns the heap bytes that stay live per object made by build:
// the difference in HeapAlloc across building n of them, after a GC each.
func retained(n int, build func() any) float64 {
	keep := make([]any, n)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := range keep {
		keep[i] = build()
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(keep)
	return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n)
}

// BenchmarkHLLLibraryVsOurs: per event (add), per tick (estimate, the
// window's union estimate), per bucket flip (merge, clone), per checkpoint
// (marshal, unmarshal) and memory (bytes retained per sketch), at the
// totals' precision 16 and the window buckets' 14, and accuracy.
// BenchmarkHLLWindowUsers (window_users_bench_test.go) runs the whole
// window pattern of window_users.go.
func BenchmarkHLLLibraryVsOurs(b *testing.B) {
	hs := userHashes(1_000_000)

	// add: one new element into a sketch that starts empty and is replaced
	// after `distinct` of them, so a fresh sketch's cost is included: p=16
	// is the totals' sketch filling with new users, p=14 a window bucket.
	for _, tc := range []struct {
		p        uint8
		distinct int
	}{{16, 1_000_000}, {16, 1_000}, {14, 1_000}, {14, 100_000}} {
		name := fmt.Sprintf("op=add/p=%d/distinct=%d", tc.p, tc.distinct)
		hs := hs[:tc.distinct]
		b.Run(name+"/impl=ours", func(b *testing.B) {
			b.ReportAllocs()
			s, i := newHLL(tc.p), 0
			for b.Loop() {
				if i == len(hs) {
					s, i = newHLL(tc.p), 0
				}
				s.addHash(hs[i])
				i++
			}
		})
		for _, a := range axiomImpls {
			b.Run(name+"/impl="+a.name, func(b *testing.B) {
				b.ReportAllocs()
				s, i := newAxiom(b, tc.p, a.sparse), 0
				for b.Loop() {
					if i == len(hs) {
						s, i = newAxiom(b, tc.p, a.sparse), 0
					}
					s.InsertHash(hs[i])
					i++
				}
			})
		}
	}

	// add-again: an element the bucket already holds, the common case of a
	// window bucket (a user sends many events in 5 minutes).
	for _, distinct := range []int{1_000, 100_000} {
		name := fmt.Sprintf("op=add-again/p=14/distinct=%d", distinct)
		hs := hs[:distinct]
		b.Run(name+"/impl=ours", func(b *testing.B) {
			b.ReportAllocs()
			s, i := oursWith(windowPrecision, hs), 0
			for b.Loop() {
				s.addHash(hs[i%len(hs)])
				i++
			}
		})
		for _, a := range axiomImpls {
			b.Run(name+"/impl="+a.name, func(b *testing.B) {
				b.ReportAllocs()
				s, i := axiomWith(b, windowPrecision, a.sparse, hs), 0
				for b.Loop() {
					s.InsertHash(hs[i%len(hs)])
					i++
				}
			})
		}
	}

	// estimate: the totals' uniqueUsers (p=16) on each tick once users are
	// folded, and one window sketch (p=14).
	for _, p := range []uint8{16, 14} {
		for _, distinct := range []int{100, 10_000, 1_000_000} {
			name := fmt.Sprintf("op=estimate/p=%d/distinct=%d", p, distinct)
			b.Run(name+"/impl=ours", func(b *testing.B) {
				b.ReportAllocs()
				s := oursWith(p, hs[:distinct])
				for b.Loop() {
					_ = s.estimate()
				}
			})
			for _, a := range axiomImpls {
				b.Run(name+"/impl="+a.name, func(b *testing.B) {
					b.ReportAllocs()
					s := axiomWith(b, p, a.sparse, hs[:distinct])
					for b.Loop() {
						_ = s.Estimate()
					}
				})
			}
		}
	}

	// estimate-union: a window's estimate on each tick, the union of the
	// front's top (every older bucket) and the back's aggregate (the newest
	// buckets), here two sketches overlapping by half.
	for _, distinct := range []int{1_000, 100_000} {
		name := fmt.Sprintf("op=estimate-union/p=14/distinct=%d", distinct)
		top, agg := hs[:distinct], hs[distinct/2:distinct/2+distinct]
		b.Run(name+"/impl=ours", func(b *testing.B) {
			b.ReportAllocs()
			x, y := oursWith(windowPrecision, top), oursWith(windowPrecision, agg)
			for b.Loop() {
				_ = estimateUnion(x, y)
			}
		})
		for _, a := range axiomImpls {
			b.Run(name+"/impl="+a.name, func(b *testing.B) {
				b.ReportAllocs()
				x, y := axiomWith(b, windowPrecision, a.sparse, top), axiomWith(b, windowPrecision, a.sparse, agg)
				for b.Loop() {
					u := x.Clone()
					_ = u.Merge(y)
					_ = u.Estimate()
				}
			})
		}
	}

	// merge: a flip merges each back bucket in place with the union of
	// the newer ones (window_users.go); the destination is a fresh copy of a
	// bucket of `distinct` users, the source a union four times larger.
	for _, distinct := range []int{100, 1_000, 100_000} {
		name := fmt.Sprintf("op=merge/p=14/distinct=%d", distinct)
		dst, src := hs[:distinct], hs[:4*distinct]
		const batch = 64
		b.Run(name+"/impl=ours", func(b *testing.B) {
			b.ReportAllocs()
			d, s := oursWith(windowPrecision, dst), oursWith(windowPrecision, src)
			var ds []*hll
			for b.Loop() {
				if len(ds) == 0 {
					b.StopTimer()
					for range batch {
						ds = append(ds, d.clone())
					}
					b.StartTimer()
				}
				ds[len(ds)-1].merge(s)
				ds = ds[:len(ds)-1]
			}
		})
		for _, a := range axiomImpls {
			b.Run(name+"/impl="+a.name, func(b *testing.B) {
				b.ReportAllocs()
				d, s := axiomWith(b, windowPrecision, a.sparse, dst), axiomWith(b, windowPrecision, a.sparse, src)
				var ds []*hyperloglog.Sketch
				for b.Loop() {
					if len(ds) == 0 {
						b.StopTimer()
						for range batch {
							ds = append(ds, d.Clone())
						}
						b.StartTimer()
					}
					_ = ds[len(ds)-1].Merge(s)
					ds = ds[:len(ds)-1]
				}
			})
		}
	}

	// clone: a flip clones the running union for a bucket that saw no user.
	for _, distinct := range []int{100, 100_000} {
		name := fmt.Sprintf("op=clone/p=14/distinct=%d", distinct)
		b.Run(name+"/impl=ours", func(b *testing.B) {
			b.ReportAllocs()
			s := oursWith(windowPrecision, hs[:distinct])
			for b.Loop() {
				_ = s.clone()
			}
		})
		for _, a := range axiomImpls {
			b.Run(name+"/impl="+a.name, func(b *testing.B) {
				b.ReportAllocs()
				s := axiomWith(b, windowPrecision, a.sparse, hs[:distinct])
				for b.Loop() {
					_ = s.Clone()
				}
			})
		}
	}

	// marshal, unmarshal: each sketch of a checkpoint; "bytes" is the size
	// written.
	for _, p := range []uint8{16, 14} {
		for _, distinct := range []int{100, 10_000, 1_000_000} {
			name := fmt.Sprintf("p=%d/distinct=%d", p, distinct)
			b.Run("op=marshal/"+name+"/impl=ours", func(b *testing.B) {
				b.ReportAllocs()
				s, e := oursWith(p, hs[:distinct]), &encoder{}
				for b.Loop() {
					e.buf = e.buf[:0]
					appendHLL(e, s)
				}
				b.ReportMetric(float64(len(e.buf)), "bytes")
			})
			b.Run("op=unmarshal/"+name+"/impl=ours", func(b *testing.B) {
				b.ReportAllocs()
				e := &encoder{}
				appendHLL(e, oursWith(p, hs[:distinct]))
				for b.Loop() {
					d := &decoder{buf: e.buf}
					if readHLL(d, p) == nil || d.err != nil {
						b.Fatal("unmarshal", d.err)
					}
				}
			})
			for _, a := range axiomImpls {
				b.Run("op=marshal/"+name+"/impl="+a.name, func(b *testing.B) {
					b.ReportAllocs()
					s := axiomWith(b, p, a.sparse, hs[:distinct])
					var buf []byte
					for b.Loop() {
						buf, _ = s.AppendBinary(buf[:0])
					}
					b.ReportMetric(float64(len(buf)), "bytes")
				})
				b.Run("op=unmarshal/"+name+"/impl="+a.name, func(b *testing.B) {
					b.ReportAllocs()
					buf, err := axiomWith(b, p, a.sparse, hs[:distinct]).MarshalBinary()
					if err != nil {
						b.Fatal(err)
					}
					for b.Loop() {
						var s hyperloglog.Sketch
						if err := s.UnmarshalBinary(buf); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
	}

	benchAccuracy(b)

	// memory: heap bytes retained per sketch of `distinct` elements, as
	// they sit in a window's buckets (no Estimate has compacted the
	// library's sparse form). Measured once; the loop only satisfies the
	// benchmark harness.
	for _, p := range []uint8{16, 14} {
		for _, distinct := range []int{0, 100, 10_000, 1_000_000} {
			n := 64
			if distinct == 1_000_000 {
				n = 4
			}
			name := fmt.Sprintf("op=memory/p=%d/distinct=%d", p, distinct)
			b.Run(name+"/impl=ours", func(b *testing.B) {
				m := retained(n, func() any { return oursWith(p, hs[:distinct]) })
				for b.Loop() {
				}
				b.ReportMetric(0, "ns/op") // nothing timed
				b.ReportMetric(m, "B/sketch")
			})
			for _, a := range axiomImpls {
				b.Run(name+"/impl="+a.name, func(b *testing.B) {
					m := retained(n, func() any { return axiomWith(b, p, a.sparse, hs[:distinct]) })
					for b.Loop() {
					}
					b.ReportMetric(0, "ns/op") // nothing timed
					b.ReportMetric(m, "B/sketch")
				})
			}
		}
	}
}

// accuracy: the relative error at 1k, 100k, 1M and 10M distinct users over
// accuracyTrials independent streams ("t<k>-user-<i>", hashed by
// hashString), as "rms-err-%" and "max-err-%". Computed once per process;
// every -count repeats the same figures.
const accuracyTrials = 10

var accuracyCheckpoints = []int{1_000, 100_000, 1_000_000, 10_000_000}

type accuracyKey struct {
	p        uint8
	distinct int
	impl     string
}

var accuracyOnce = sync.OnceValue(func() map[accuracyKey][]float64 {
	errs := make(map[accuracyKey][]float64)
	var buf []byte
	for trial := range accuracyTrials {
		ours := map[uint8]*hll{16: newHLL(16), 14: newHLL(14)}
		axiom := map[string]map[uint8]*hyperloglog.Sketch{}
		for _, a := range axiomImpls {
			axiom[a.name] = map[uint8]*hyperloglog.Sketch{}
			for _, p := range []uint8{16, 14} {
				s, _ := hyperloglog.NewSketch(p, a.sparse)
				axiom[a.name][p] = s
			}
		}
		prefix := "t" + strconv.Itoa(trial) + "-user-"
		n := 0
		for _, cp := range accuracyCheckpoints {
			for ; n < cp; n++ {
				buf = strconv.AppendInt(append(buf[:0], prefix...), int64(n), 10)
				h := hashString(string(buf))
				ours[16].addHash(h)
				ours[14].addHash(h)
				for _, a := range axiom {
					a[16].InsertHash(h)
					a[14].InsertHash(h)
				}
			}
			rel := func(est uint64) float64 { return (float64(est) - float64(cp)) / float64(cp) }
			for _, p := range []uint8{16, 14} {
				k := accuracyKey{p, cp, "ours"}
				errs[k] = append(errs[k], rel(ours[p].estimate()))
				for name, a := range axiom {
					k := accuracyKey{p, cp, name}
					errs[k] = append(errs[k], rel(a[p].Estimate()))
				}
			}
		}
	}
	return errs
})

func benchAccuracy(b *testing.B) {
	for _, p := range []uint8{16, 14} {
		for _, distinct := range accuracyCheckpoints {
			for _, impl := range []string{"ours", "axiom", "axiom-dense"} {
				name := fmt.Sprintf("op=accuracy/p=%d/distinct=%d/impl=%s", p, distinct, impl)
				b.Run(name, func(b *testing.B) {
					var sq, worst float64
					errs := accuracyOnce()[accuracyKey{p, distinct, impl}]
					for _, e := range errs {
						sq += e * e
						worst = max(worst, math.Abs(e))
					}
					for b.Loop() {
					}
					b.ReportMetric(0, "ns/op") // nothing timed
					b.ReportMetric(100*math.Sqrt(sq/float64(len(errs))), "rms-err-%")
					b.ReportMetric(100*worst, "max-err-%")
				})
			}
		}
	}
}
