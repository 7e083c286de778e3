package snapshots

import (
	"strconv"
	"testing"
	"time"

	"github.com/eventara/eventara/protocol/event"
)

func TestWindowSlidesSecondBySecond(t *testing.T) {
	t.Parallel()
	for _, spec := range StandardWindows() {
		t.Run(spec.Name, func(t *testing.T) {
			t.Parallel()
			w := NewWindow(spec)
			size := int(spec.Size / time.Second)
			// k events in second k, for k = 1..3.
			for k := 1; k <= 3; k++ {
				for range k {
					w.Apply(ev(at(k).Add(400*time.Millisecond), "t", "s", "", event.SeverityInfo, 0))
				}
			}
			equal(t, "at 3", w.View(at(3)).Events, 6)
			equal(t, "last second of all three", w.View(at(size)).Events, 6)
			equal(t, "second 1 left", w.View(at(size+1)).Events, 5)
			equal(t, "second 2 left", w.View(at(size+2)).Events, 3)
			equal(t, "all left", w.View(at(size+3)).Events, 0)
			equal(t, "time does not go back", w.View(at(0)).Events, 0)
		})
	}
}

func TestWindowEdges(t *testing.T) {
	t.Parallel()
	w := NewWindow(WindowSpec{"w", 10 * time.Second})
	equal(t, "empty", w.View(at(0)), WindowView{Name: "w", Size: 10 * time.Second, At: at(0)})
	w.Apply(ev(at(5), "t", "s", "", event.SeverityInfo, 0))
	// An event newer than any seen moves the window forward to its second.
	w.Apply(ev(at(12), "t", "s", "", event.SeverityInfo, 0))
	v := w.View(at(11))
	equal(t, "view at", v.At, at(12))
	equal(t, "both inside 3..12", v.Events, 2)
	// An event older than the window is ignored; one at its oldest second counts.
	w.Apply(ev(at(2), "t", "s", "", event.SeverityInfo, 0))
	w.Apply(ev(at(3), "t", "s", "", event.SeverityInfo, 0))
	equal(t, "old ignored", w.View(at(12)).Events, 3)
	// A jump longer than the window clears it.
	w.Advance(at(1000))
	equal(t, "after jump", w.View(at(1000)).Events, 0)
	w.Apply(ev(at(1000), "t", "s", "", event.SeverityInfo, 0))
	w.Reset()
	v = w.View(at(2000))
	equal(t, "after reset", v.Events, 0)
	equal(t, "restarts at", v.At, at(2000))
}

func TestWindowErrorsLatencyMinutes(t *testing.T) {
	t.Parallel()
	w := NewWindow(WindowSpec{Last5Minutes, 5 * time.Minute})
	// Minute k (k = 0..4, oldest first) gets k+1 events per 10 s.
	for s := 0; s < 300; s++ {
		if s%10 == 0 {
			for range s/60 + 1 {
				w.Apply(ev(at(s), "t", "s", "", event.SeverityInfo, 0))
			}
		}
	}
	v := w.View(at(299))
	equal(t, "minutes", v.Minutes, [5]uint64{30, 24, 18, 12, 6})
	equal(t, "events", v.Events, 90)

	// 100 latencies at second 300: 1..100 ms, errors on every 10th.
	for i := 1; i <= 100; i++ {
		sev := event.SeverityInfo
		if i%10 == 0 {
			sev = event.SeverityError
		}
		w.Apply(ev(at(300), "t", "s", "", sev, float64(i)))
	}
	v = w.View(at(300))
	equal(t, "errors", v.Errors, 10)
	equal(t, "latency count", v.LatencyCount, 100)
	within(t, "p95", v.LatencyP95, 95, 0.01)
	v = w.View(at(599))
	equal(t, "still in", v.Errors, 10)
	v = w.View(at(600))
	equal(t, "errors slid out", v.Errors, 0)
	equal(t, "latency slid out", v.LatencyCount, 0)
	equal(t, "p95 empty", v.LatencyP95, 0)
}

func TestWindowActiveUsers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		spec   WindowSpec
		bucket int
	}{
		{WindowSpec{Last1Hour, time.Hour}, 60},
		{WindowSpec{Last24Hours, 24 * time.Hour}, 300},
	} {
		t.Run(tc.spec.Name, func(t *testing.T) {
			t.Parallel()
			w := NewWindow(tc.spec)
			size := int(tc.spec.Size / time.Second)
			step := size / 20
			// 20 steps across the window; step j brings users j*100 .. j*100+199
			// (half of them new).
			for j := range 20 {
				for u := j * 100; u < j*100+200; u++ {
					w.Apply(ev(at(j*step), "t", "s", "user"+strconv.Itoa(u), event.SeverityInfo, 0))
				}
				within(t, "active", float64(w.View(at(j*step)).ActiveUsers), float64(j*100+200), 0.02)
			}
			// All 2,100 users seen at seconds 0 .. 19*step. Slide: users of step 0
			// (0..199, 100..199 seen again at step 1) leave one bucket after the
			// window passes second 0.
			end := size - 1 // second 0 is still inside
			within(t, "full", float64(w.View(at(end)).ActiveUsers), 2100, 0.02)
			gone := size + tc.bucket // step 0's bucket has left entirely
			within(t, "step 0 gone", float64(w.View(at(gone)).ActiveUsers), 2000, 0.02)
			within(t, "half gone", float64(w.View(at(size+10*step+tc.bucket)).ActiveUsers), 1000, 0.02)
			equal(t, "all gone", w.View(at(2*size+tc.bucket)).ActiveUsers, 0)
			w.Apply(ev(at(3*size), "t", "s", "again", event.SeverityInfo, 0))
			equal(t, "fresh", w.View(at(3*size)).ActiveUsers, 1)
		})
	}
}

func TestWindowCheckpoint(t *testing.T) {
	t.Parallel()
	for _, spec := range StandardWindows() {
		t.Run(spec.Name, func(t *testing.T) {
			t.Parallel()
			size := int(spec.Size / time.Second)
			step := max(size/600, 1)
			feed := func(w *Window, from, to int) {
				for i := from; i < to; i++ {
					w.Apply(ev(at(i*step), "t", "s", "u"+strconv.Itoa(i%700), event.Severity(1+i%5), float64(i%300)))
				}
			}
			a := NewWindow(spec)
			empty, _ := a.MarshalBinary()
			feed(a, 0, 1000)
			blob, err := a.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			b := NewWindow(spec)
			if err := b.UnmarshalBinary(blob); err != nil {
				t.Fatal(err)
			}
			now := at(1000 * step)
			equal(t, "view", b.View(now), a.View(now))
			feed(a, 1000, 1500)
			feed(b, 1000, 1500)
			now = at(1700 * step)
			equal(t, "view after more", b.View(now), a.View(now))

			var z Window
			if err := z.UnmarshalBinary(empty); err != nil {
				t.Fatal(err)
			}
			equal(t, "empty spec", z.Spec(), spec)
			if err := NewWindow(WindowSpec{"other", time.Minute}).UnmarshalBinary(blob); err == nil && spec.Name != "other" {
				t.Errorf("spec mismatch accepted")
			}
			for _, cut := range []int{0, 1, len(blob) / 2, len(blob) - 1} {
				if err := b.UnmarshalBinary(blob[:cut]); err == nil {
					t.Errorf("truncated at %d: no error", cut)
				}
			}
		})
	}
}
