package rules

import (
	"sort"
	"time"
)

// History bounds: a rule keeps at most maxSamples past readings per
// series, spaced at least one second apart, and more when the span it needs
// is longer (24 h windows of a rate-of-change rule: one per 169 s), so a
// rule costs at most ~24 KiB per series whatever its window.
const (
	maxSamples = 1024
	// historySlack is how much older than asked a past reading may be (ticks
	// a little late, a second skipped) before it counts as missing.
	historySlack = 10 * time.Second
)

// sample is one past reading of a series.
type sample struct {
	at   int64 // UnixNano
	x, y float64
}

// history is a ring of past readings, oldest first, retaining the span a
// series needs plus one reading at or before its start.
type history struct {
	span, step, slack int64
	buf               []sample
	head, n           int
}

func newHistory(span time.Duration) *history {
	step := max(int64(time.Second), (int64(span)+maxSamples-1)/maxSamples)
	step = (step + int64(time.Second) - 1) / int64(time.Second) * int64(time.Second)
	return &history{
		span:  int64(span),
		step:  step,
		slack: step + int64(historySlack),
		buf:   make([]sample, int(int64(span)/step)+3),
	}
}

func (h *history) get(i int) sample { return h.buf[(h.head+i)%len(h.buf)] }

func (h *history) reset() { h.head, h.n = 0, 0 }

func (h *history) popFront() {
	h.head = (h.head + 1) % len(h.buf)
	h.n--
}

// newest returns the newest reading.
func (h *history) newest() (sample, bool) {
	if h.n == 0 {
		return sample{}, false
	}
	return h.get(h.n - 1), true
}

// push records a reading at at. A reading older than the newest means time
// went back (a replay, a clock step): the past no longer lines up and is
// dropped. Readings closer than the step to the newest are skipped.
func (h *history) push(at time.Time, x, y float64) {
	ns := at.UnixNano()
	if last, ok := h.newest(); ok {
		if ns < last.at {
			h.reset()
		} else if ns-last.at < h.step {
			return
		}
	}
	for h.n >= 2 && h.get(1).at <= ns-h.span {
		h.popFront()
	}
	if h.n == len(h.buf) {
		h.popFront()
	}
	h.buf[(h.head+h.n)%len(h.buf)] = sample{at: ns, x: x, y: y}
	h.n++
}

// lookup returns the newest reading at or before target, if it is no more
// than the step plus historySlack older.
func (h *history) lookup(target time.Time) (sample, bool) {
	ns := target.UnixNano()
	// First index whose reading is after target; the one before is ours.
	i := sort.Search(h.n, func(i int) bool { return h.get(i).at > ns })
	if i == 0 {
		return sample{}, false
	}
	s := h.get(i - 1)
	if ns-s.at > h.slack {
		return sample{}, false
	}
	return s, true
}
