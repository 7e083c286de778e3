package snapshots

import (
	"time"

	"github.com/eventara/eventara/protocol/event"
)

// WindowSpec names a sliding window and its length (whole seconds).
type WindowSpec struct {
	Name string
	Size time.Duration
}

// The names of the standard windows, as the keys of timeWindows.
const (
	Last1Minute   = "last1Minute"
	Last5Minutes  = "last5Minutes"
	Last15Minutes = "last15Minutes"
	Last1Hour     = "last1Hour"
	Last24Hours   = "last24Hours"
)

// StandardWindows returns the five windows of metrics.md, shortest first.
func StandardWindows() []WindowSpec {
	return []WindowSpec{
		{Last1Minute, time.Minute},
		{Last5Minutes, 5 * time.Minute},
		{Last15Minutes, 15 * time.Minute},
		{Last1Hour, time.Hour},
		{Last24Hours, 24 * time.Hour},
	}
}

// What a window tracks besides its event count depends on its size, so each
// window pays only for what the snapshot reads from it.
const (
	// Windows up to this size also track errors and a latency histogram
	// (the 5-minute window feeds systemHealth and the anomalies).
	maxLatencyWindow = 15 * time.Minute
	// Windows of at least this size also keep per-minute counts of their
	// last five minutes (traffic_spike).
	minMinutesWindow = 5 * time.Minute
	// Windows of at least this size also estimate active users
	// (userMetrics.activeUsersLast1Hour / 24Hours).
	minUsersWindow = time.Hour
	// User buckets: one per minute, or Size/288 when larger (5 minutes
	// for 24 hours), so a window holds at most 289 user sketches.
	maxUserBuckets = 288
)

// WindowView is an immutable summary of one window at one second: all the
// snapshot reads from it. Fields a window does not track are zero.
type WindowView struct {
	Name string
	Size time.Duration
	// At is the newest second the view covers (UTC); zero before any
	// event or Advance.
	At time.Time
	// Events in the window (exact, one-second resolution).
	Events uint64
	// Errors (ERROR or CRITICAL) in the window and the number and 95th
	// percentile (ms, nearest rank within 1%, see percentile.go) of
	// latencies > 0: windows of up to 15 min.
	Errors       uint64
	LatencyCount uint64
	LatencyP95   float64
	// Minutes[0] is the event count of the newest 60 seconds (the one at At
	// included), Minutes[1] of the 60 before, and so on: windows of 5 min
	// or more.
	Minutes [5]uint64
	// ActiveUsers estimates the distinct users seen in the window (windows of
	// 1 h or more). Resolution is the user bucket (1 min for 1 h, 5 min for
	// 24 h): a user counts from the bucket of its event until that whole
	// bucket has left the window, so up to one bucket longer than Size.
	ActiveUsers uint64
}

// Window is a sliding window over event counts at one-second resolution: a
// ring of per-second counters with a running sum, so an event costs O(1) and
// advancing costs O(1) per second advanced (O(Size) at most, for a jump).
// Time moves only forward: it is the newest of the seconds given to Advance,
// View and Apply. It is not safe for concurrent use: one window actor owns it.
type Window struct {
	spec WindowSpec
	secs int64 // window length in seconds

	started bool
	head    int64 // newest second (Unix)

	counts []uint32 // per second, at index sec mod secs
	sum    uint64

	errs   []uint32 // nil unless the window tracks latency
	errSum uint64
	lat    *latencyRing // nil unless the window tracks latency

	minutes bool      // keep Minutes in the view
	users   *userRing // nil unless the window tracks users
}

// NewWindow returns an empty window. Size is rounded down to whole seconds,
// at least one.
func NewWindow(spec WindowSpec) *Window {
	secs := max(int64(spec.Size/time.Second), 1)
	w := &Window{spec: spec, secs: secs, counts: make([]uint32, secs)}
	if spec.Size <= maxLatencyWindow {
		w.errs = make([]uint32, secs)
		w.lat = newLatencyRing(int(secs))
	}
	w.minutes = spec.Size >= minMinutesWindow
	if spec.Size >= minUsersWindow {
		w.users = newUserRing(userBucketSecs(secs))
	}
	return w
}

func userBucketSecs(secs int64) int64 {
	b := int64(60)
	if secs/b > maxUserBuckets {
		b = (secs + maxUserBuckets - 1) / maxUserBuckets
	}
	return b
}

// Spec returns the window's spec.
func (w *Window) Spec() WindowSpec { return w.spec }

func (w *Window) slot(sec int64) int {
	i := sec % w.secs
	if i < 0 {
		i += w.secs
	}
	return int(i)
}

// Apply counts e in the second of its ReceivedAt. An event older than the
// window is ignored; a newer one than any seen moves the window forward to
// its second (ReceivedAt is stamped by the server, so this follows the clock
// between ticks and keeps counts exact).
func (w *Window) Apply(e *event.Event) {
	sec := e.ReceivedAt.Unix()
	if !w.started || sec > w.head {
		w.advanceTo(sec)
	}
	if sec <= w.head-w.secs {
		return
	}
	i := w.slot(sec)
	w.counts[i]++
	w.sum++
	if w.lat != nil {
		if e.Severity.IsError() {
			w.errs[i]++
			w.errSum++
		}
		if l := e.Latency(); validLatency(l) {
			w.lat.add(i, l)
		}
	}
	if w.users != nil && e.UserID != "" {
		w.users.add(hashString(e.UserID))
	}
}

// Advance slides the window so that its newest second is now's; an earlier
// now than the window has seen is a no-op.
func (w *Window) Advance(now time.Time) { w.advanceTo(now.Unix()) }

func (w *Window) advanceTo(sec int64) {
	if !w.started {
		w.started, w.head = true, sec
		if w.users != nil {
			w.users.start(sec, w.secs)
		}
		return
	}
	if sec <= w.head {
		return
	}
	if sec-w.head >= w.secs {
		clear(w.counts)
		w.sum = 0
		if w.lat != nil {
			clear(w.errs)
			w.errSum = 0
			w.lat.reset()
		}
	} else {
		for s := w.head + 1; s <= sec; s++ {
			i := w.slot(s) // held second s - secs, which leaves the window now
			w.sum -= uint64(w.counts[i])
			w.counts[i] = 0
			if w.lat != nil {
				w.errSum -= uint64(w.errs[i])
				w.errs[i] = 0
				w.lat.expire(i)
			}
		}
	}
	w.head = sec
	if w.users != nil {
		w.users.advance(sec, w.secs)
	}
}

// View advances the window to now and summarises it.
func (w *Window) View(now time.Time) WindowView {
	w.Advance(now)
	v := WindowView{Name: w.spec.Name, Size: w.spec.Size, Events: w.sum}
	if !w.started {
		return v
	}
	v.At = time.Unix(w.head, 0).UTC()
	if w.lat != nil {
		v.Errors = w.errSum
		v.LatencyCount = w.lat.n
		v.LatencyP95 = w.lat.quantile(0.95)
	}
	if w.minutes {
		for s := range min(w.secs, int64(60*len(v.Minutes))) {
			v.Minutes[s/60] += uint64(w.counts[w.slot(w.head-s)])
		}
	}
	if w.users != nil {
		v.ActiveUsers = w.users.estimate()
	}
	return v
}

// Reset empties the window; it starts again at the next event or Advance.
func (w *Window) Reset() {
	clear(w.counts)
	w.sum = 0
	w.started, w.head = false, 0
	if w.lat != nil {
		clear(w.errs)
		w.errSum = 0
		w.lat.reset()
	}
	if w.users != nil {
		w.users.reset()
	}
}
