package snapshots

import (
	"math"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/DataDog/sketches-go/ddsketch/mapping"
	"github.com/DataDog/sketches-go/ddsketch/store"

	"github.com/eventara/eventara/protocol/event"
)

// Sketch parameters: 1% relative accuracy; at most 2,048 bins, collapsing the
// lowest, which at 1% spans latencies over 17 orders of magnitude (about
// 16 KiB whatever arrives).
const (
	sketchAccuracy = 0.01
	sketchMaxBins  = 2048
)

var sketchMapping = mustMapping()

func mustMapping() *mapping.LogarithmicMapping {
	m, err := mapping.NewLogarithmicMapping(sketchAccuracy)
	if err != nil {
		panic(err) // constant argument: cannot happen
	}
	return m
}

func newSketch() *ddsketch.DDSketch {
	return ddsketch.NewDDSketch(sketchMapping,
		store.NewCollapsingLowestDenseStore(sketchMaxBins),
		store.NewCollapsingLowestDenseStore(sketchMaxBins))
}

// validLatency reports whether a latency counts in latency statistics.
func validLatency(l float64) bool { return l > 0 && !math.IsInf(l, 1) }

// latencyStats holds the exact sum, count, min and max of latencies > 0 and
// a DDSketch for their quantiles.
type latencyStats struct {
	sum      float64
	count    uint64
	min, max float64
	sketch   *ddsketch.DDSketch
}

func (l *latencyStats) add(v float64) {
	if l.count == 0 || v < l.min {
		l.min = v
	}
	if l.count == 0 || v > l.max {
		l.max = v
	}
	l.count++
	l.sum += v
	// Clamp into the sketch's range; the exact min/max above stay exact.
	_ = l.sketch.Add(min(max(v, sketchMapping.MinIndexableValue()), sketchMapping.MaxIndexableValue()))
}

// quantile returns the nearest-rank percentile q (percentile.go): the value
// of the sketch's bin holding rank ceil(q·n), the exact min or max at the
// first or last rank. It is 0 when no latency was recorded.
func (l *latencyStats) quantile(q float64) float64 {
	if l.count == 0 {
		return 0
	}
	k := nearestRank(q, l.count)
	// Every latency is clamped positive on add, so the positive store holds
	// all n; KeyAtRank(r) is the first bin whose cumulative count exceeds
	// r, so 0-based r = k-1 is the bin holding the k-th value.
	key := l.sketch.GetPositiveValueStore().KeyAtRank(float64(k - 1))
	return clampRank(l.sketch.Value(key), k, l.count, l.min, l.max)
}

func (l *latencyStats) reset() {
	l.sum, l.count, l.min, l.max = 0, 0, 0, 0
	l.sketch.Clear()
}

// keyStats are the per-type and per-source counters.
type keyStats struct {
	count    uint64
	errors   uint64
	latSum   float64
	latCount uint64
}

func (k *keyStats) add(isErr bool, lat float64, hasLat bool) {
	k.count++
	if isErr {
		k.errors++
	}
	if hasLat {
		k.latSum += lat
		k.latCount++
	}
}

func (k *keyStats) merge(o *keyStats) {
	k.count += o.count
	k.errors += o.errors
	k.latSum += o.latSum
	k.latCount += o.latCount
}

func (k *keyStats) avgLatency() float64 {
	if k.latCount == 0 {
		return 0
	}
	return k.latSum / float64(k.latCount)
}

// keyTable tracks at most max keys individually; the rest fold into other.
// Keys live in a slice (in first-seen order) indexed by a map, so a tick
// ranks them with a cache-friendly scan. The distinct count is exact until a
// key is folded, then estimated by seen, into which every key is hashed once
// when first tracked and every folded event is hashed.
type keyTable struct {
	max    int
	idx    map[string]int32
	keys   []keyEntry
	other  keyStats
	folded bool // some key was folded into other
	seen   *hll
}

type keyEntry struct {
	name string
	keyStats
}

func newKeyTable(max int) keyTable {
	return keyTable{max: max, idx: make(map[string]int32), seen: newHLL(totalsPrecision)}
}

func (kt *keyTable) add(key string, isErr bool, lat float64, hasLat bool) {
	if i, ok := kt.idx[key]; ok {
		kt.keys[i].add(isErr, lat, hasLat)
		return
	}
	kt.seen.addHash(hashString(key))
	if len(kt.keys) >= kt.max {
		kt.folded = true
		kt.other.add(isErr, lat, hasLat)
		return
	}
	kt.idx[key] = int32(len(kt.keys))
	kt.keys = append(kt.keys, keyEntry{name: key})
	kt.keys[len(kt.keys)-1].add(isErr, lat, hasLat)
}

// get returns a tracked key's stats, or nil.
func (kt *keyTable) get(key string) *keyStats {
	if i, ok := kt.idx[key]; ok {
		return &kt.keys[i].keyStats
	}
	return nil
}

func (kt *keyTable) distinct() uint64 {
	if !kt.folded {
		return uint64(len(kt.keys))
	}
	return max(uint64(len(kt.keys)), kt.seen.estimate())
}

func (kt *keyTable) reset() {
	kt.idx = make(map[string]int32) // not clear: drop the old buckets too
	kt.keys = nil
	kt.other = keyStats{}
	kt.folded = false
	kt.seen.reset()
}

// userCount is one entry of the top-users list.
type userCount struct {
	id string
	n  uint64
}

// topUsers keeps the topListSize users with the most events, exactly: counts
// only grow, so a user outside the list can only enter it on its own
// increment, which update sees. Ties keep the user who got there first.
type topUsers struct {
	list []userCount // by n descending
}

func (tu *topUsers) update(id string, n uint64) {
	l := tu.list
	// A listed user's previous count was ≥ the last one's, so its new count
	// is greater: this fast path only skips users who are not listed.
	if len(l) == topListSize && n <= l[len(l)-1].n {
		return
	}
	i := -1
	for j := range l {
		if l[j].id == id {
			i = j
			break
		}
	}
	switch {
	case i >= 0:
		l[i].n = n
	case len(l) < topListSize:
		l = append(l, userCount{id, n})
		i = len(l) - 1
	default:
		i = len(l) - 1
		l[i] = userCount{id, n}
	}
	for i > 0 && l[i-1].n < l[i].n {
		l[i-1], l[i] = l[i], l[i-1]
		i--
	}
	tu.list = l
}

// Totals is the state behind every since-reset figure of metrics.md: counts,
// per-severity, per-type and per-source counters, latency statistics, unique
// counts, top users and the one-second peak. It is not safe for concurrent
// use: one aggregator owns it. Memory is bounded by Config whatever arrives.
type Totals struct {
	cfg        Config
	total      uint64
	bySeverity [event.SeverityCritical + 1]uint64
	errors     uint64
	lat        latencyStats
	types      keyTable
	sources    keyTable

	users        map[string]uint64 // per-user counts, at most cfg.MaxUsers
	usersDropped bool              // a user was not tracked individually
	usersSeen    *hll              // every user, for uniqueUsers past the cap
	top          topUsers

	curSec    int64  // the second being counted for the peak
	curCount  uint64 // events in curSec
	peak      uint64 // highest one-second count
	peakSec   int64  // and its second (Unix)
	hasEvents bool   // curSec is meaningful
}

// NewTotals returns empty totals bounded by cfg (zero fields mean defaults).
// A zero Totals is also usable: it initialises itself with the defaults.
func NewTotals(cfg Config) *Totals {
	cfg = cfg.withDefaults()
	return &Totals{
		cfg:       cfg,
		lat:       latencyStats{sketch: newSketch()},
		types:     newKeyTable(cfg.MaxKeys),
		sources:   newKeyTable(cfg.MaxKeys),
		users:     make(map[string]uint64),
		usersSeen: newHLL(totalsPrecision),
		top:       topUsers{list: make([]userCount, 0, topListSize)},
	}
}

// init makes a zero Totals ready.
func (t *Totals) init() {
	if t.usersSeen == nil {
		*t = *NewTotals(t.cfg)
	}
}

// Config returns the configuration in effect, defaults filled in.
func (t *Totals) Config() Config { return t.cfg.withDefaults() }

// Events returns the number of events applied since the last reset.
func (t *Totals) Events() uint64 { return t.total }

// ApplyRecord applies a journal record: an event, or a reset.
func (t *Totals) ApplyRecord(r *event.Record) {
	switch r.Kind {
	case event.KindEvent:
		t.Apply(&r.Event)
	case event.KindReset:
		t.Reset()
	}
}

// Apply counts one accepted event. Its cost does not depend on how many
// events or keys came before (amortised map growth aside).
func (t *Totals) Apply(e *event.Event) {
	t.init()
	t.total++
	sev := e.Severity
	if sev < event.SeverityDebug || sev > event.SeverityCritical {
		sev = event.SeverityInfo // absent means INFO
	}
	t.bySeverity[sev]++
	isErr := sev.IsError()
	if isErr {
		t.errors++
	}
	lat := e.Latency()
	hasLat := validLatency(lat)
	if hasLat {
		t.lat.add(lat)
	}
	t.types.add(e.Type, isErr, lat, hasLat)
	t.sources.add(e.Source, isErr, lat, hasLat)
	if e.UserID != "" {
		t.addUser(e.UserID)
	}
	t.notePeak(e.ReceivedAt.Unix())
}

func (t *Totals) addUser(id string) {
	n, ok := t.users[id]
	if !ok {
		t.usersSeen.addHash(hashString(id))
		if len(t.users) >= t.cfg.MaxUsers {
			t.usersDropped = true
			return
		}
	}
	n++
	t.users[id] = n
	t.top.update(id, n)
}

// notePeak counts the event in its second. Events arrive in journal order,
// so ReceivedAt only moves forward; one from an earlier second (a clock step
// back) is counted in the current second.
func (t *Totals) notePeak(sec int64) {
	if !t.hasEvents || sec > t.curSec {
		t.curSec, t.curCount, t.hasEvents = sec, 0, true
	}
	t.curCount++
	if t.curCount > t.peak {
		t.peak, t.peakSec = t.curCount, t.curSec
	}
}

// uniqueUsers is exact while every user is tracked, else the HLL estimate
// (never below the tracked count).
func (t *Totals) uniqueUsers() uint64 {
	if !t.usersDropped {
		return uint64(len(t.users))
	}
	return max(uint64(len(t.users)), t.usersSeen.estimate())
}

// Reset forgets everything, as POST /api/v1/metrics/reset asks. The
// configuration is kept.
func (t *Totals) Reset() {
	if t.usersSeen == nil {
		t.init()
		return
	}
	t.total, t.errors = 0, 0
	t.bySeverity = [len(t.bySeverity)]uint64{}
	t.lat.reset()
	t.types.reset()
	t.sources.reset()
	t.users = make(map[string]uint64)
	t.usersDropped = false
	t.usersSeen.reset()
	t.top.list = t.top.list[:0]
	t.curSec, t.curCount, t.peak, t.peakSec, t.hasEvents = 0, 0, 0, 0, false
}
