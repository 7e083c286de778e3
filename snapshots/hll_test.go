package snapshots

import (
	"fmt"
	"math"
	"strconv"
	"testing"

	"github.com/axiomhq/hyperloglog"
)

func TestHLLError(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		p uint8
		n int
	}{
		{totalsPrecision, 0}, {totalsPrecision, 1}, {totalsPrecision, 100}, {totalsPrecision, 10_000},
		{totalsPrecision, 100_000}, {totalsPrecision, 200_000}, {totalsPrecision, 1_000_000},
		{windowPrecision, 1_000}, {windowPrecision, 30_000}, {windowPrecision, 100_000},
	} {
		n := tc.n
		t.Run(fmt.Sprintf("p%d/%d", tc.p, n), func(t *testing.T) {
			t.Parallel()
			s := newHLL(tc.p)
			for i := range n {
				s.addHash(hashString("user-" + strconv.Itoa(i)))
				if i%3 == 0 { // duplicates change nothing
					s.addHash(hashString("user-" + strconv.Itoa(i)))
				}
			}
			got := float64(s.estimate())
			if n == 0 {
				equal(t, "estimate", got, 0)
				return
			}
			if err := math.Abs(got-float64(n)) / float64(n); err >= 0.02 {
				t.Errorf("estimate %v for %d: error %.2f%%, want < 2%%", got, n, err*100)
			}
		})
	}
}

func TestHLLSmallExact(t *testing.T) {
	t.Parallel()
	s := newHLL(windowPrecision)
	for i := range 50 {
		s.addHash(hashString("u" + strconv.Itoa(i)))
		equal(t, "estimate", s.estimate(), uint64(i+1))
	}
}

func TestHLLUnionAndCodec(t *testing.T) {
	t.Parallel()
	a, b, u := newHLL(windowPrecision), newHLL(windowPrecision), newHLL(windowPrecision)
	for i := range 20_000 {
		h := hashString(strconv.Itoa(i))
		if i < 12_000 {
			a.addHash(h)
		}
		if i >= 8_000 {
			b.addHash(h)
		}
		u.addHash(h)
	}
	equal(t, "estimateUnion", estimateUnion(a, b), u.estimate())
	a.merge(b)
	equal(t, "merged", string(a.reg), string(u.reg))
	equal(t, "estimateUnion(nil, b)", estimateUnion(nil, b), b.estimate())
	equal(t, "estimateUnion(nil, nil)", estimateUnion(nil, nil), 0)

	for _, s := range []*hll{nil, newHLL(windowPrecision), b, u} {
		e := &encoder{}
		appendHLL(e, s)
		d := &decoder{buf: e.buf}
		got := readHLL(d, windowPrecision)
		if d.err != nil {
			t.Fatal(d.err)
		}
		switch {
		case s == nil || s.estimate() == 0:
			if got != nil {
				t.Errorf("empty sketch read back non-nil")
			}
		case got == nil || string(got.reg) != string(s.reg):
			t.Errorf("sketch did not round-trip")
		}
	}
}

// TestHLLSameRegistersAsLibrary: fed the same hashes, github.com/axiomhq/
// hyperloglog (dense) holds exactly our registers, so the comparison in
// hll_bench_test.go measures the code, not different sketches, and our
// checkpointed registers would load into it unchanged.
func TestHLLSameRegistersAsLibrary(t *testing.T) {
	t.Parallel()
	for _, p := range []uint8{totalsPrecision, windowPrecision} {
		ours := newHLL(p)
		lib, err := hyperloglog.NewSketch(p, false)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 50_000 {
			h := hashString("user-" + strconv.Itoa(i))
			ours.addHash(h)
			lib.InsertHash(h)
		}
		ours.addHash(0) // the largest rank: no bit set below the index
		lib.InsertHash(0)
		b, err := lib.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		// Version 2 dense: 8 header bytes, then the 2^p registers.
		equal(t, fmt.Sprintf("p%d registers", p), string(b[8:]), string(ours.reg))
	}
}
