package snapshots

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/DataDog/sketches-go/ddsketch/store"
)

// Checkpoint formats: a magic byte, a version, then the state in a fixed
// order (see the Marshal functions). Bump the version when the layout
// changes and keep reading the old one.
const (
	totalsMagic   = 'T'
	totalsVersion = 1
	windowMagic   = 'W'
	windowVersion = 2 // 2: each second's exact latency min and max

	maxCheckpointKeys = 1 << 26 // sanity bound on any decoded collection
)

// MarshalBinary writes the full state (sketches and estimators included), so
// that UnmarshalBinary continues exactly where this left off.
func (t *Totals) MarshalBinary() ([]byte, error) {
	e := &encoder{buf: make([]byte, 0, 64+32*len(t.users)+64*(len(t.types.keys)+len(t.sources.keys)))}
	e.header(totalsMagic, totalsVersion)
	e.uvarint(t.total)
	e.uvarint(t.errors)
	for _, n := range t.bySeverity {
		e.uvarint(n)
	}
	e.float(t.lat.sum)
	e.uvarint(t.lat.count)
	e.float(t.lat.min)
	e.float(t.lat.max)
	var sk []byte
	t.lat.sketch.Encode(&sk, true)
	e.bytes(sk)
	appendKeyTable(e, &t.types)
	appendKeyTable(e, &t.sources)
	e.uvarint(uint64(len(t.users)))
	for id, n := range t.users {
		e.str(id)
		e.uvarint(n)
	}
	e.bool(t.usersDropped)
	appendHLL(e, t.usersSeen)
	e.uvarint(uint64(len(t.top.list)))
	for _, u := range t.top.list {
		e.str(u.id)
		e.uvarint(u.n)
	}
	e.bool(t.hasEvents)
	e.varint(t.curSec)
	e.uvarint(t.curCount)
	e.uvarint(t.peak)
	e.varint(t.peakSec)
	return e.buf, nil
}

func appendKeyStats(e *encoder, k *keyStats) {
	e.uvarint(k.count)
	e.uvarint(k.errors)
	e.float(k.latSum)
	e.uvarint(k.latCount)
}

func readKeyStats(d *decoder, k *keyStats) {
	k.count = d.uvarint()
	k.errors = d.uvarint()
	k.latSum = d.float()
	k.latCount = d.uvarint()
}

func appendKeyTable(e *encoder, kt *keyTable) {
	e.uvarint(uint64(len(kt.keys)))
	for i := range kt.keys {
		e.str(kt.keys[i].name)
		appendKeyStats(e, &kt.keys[i].keyStats)
	}
	appendKeyStats(e, &kt.other)
	e.bool(kt.folded)
	appendHLL(e, kt.seen)
}

func readKeyTable(d *decoder, kt *keyTable) {
	n := d.count(maxCheckpointKeys)
	kt.idx = make(map[string]int32, n)
	kt.keys = make([]keyEntry, n)
	for i := range n {
		kt.keys[i].name = d.str()
		readKeyStats(d, &kt.keys[i].keyStats)
		if _, dup := kt.idx[kt.keys[i].name]; dup {
			d.fail("duplicate key %q", kt.keys[i].name)
		}
		kt.idx[kt.keys[i].name] = int32(i)
	}
	readKeyStats(d, &kt.other)
	kt.folded = d.bool()
	if s := readHLL(d, totalsPrecision); s != nil {
		kt.seen = s
	}
}

// UnmarshalBinary restores what MarshalBinary wrote. The receiver keeps its
// Config (a zero Totals gets the defaults); on error it is unchanged.
func (t *Totals) UnmarshalBinary(b []byte) error {
	cfg := t.cfg
	if cfg.MaxKeys == 0 {
		cfg = cfg.withDefaults()
	}
	n := NewTotals(cfg)
	d := &decoder{buf: b}
	d.header(totalsMagic, totalsVersion, totalsVersion)
	n.total = d.uvarint()
	n.errors = d.uvarint()
	for i := range n.bySeverity {
		n.bySeverity[i] = d.uvarint()
	}
	n.lat.sum = d.float()
	n.lat.count = d.uvarint()
	n.lat.min = d.float()
	n.lat.max = d.float()
	if sk := d.bytes(); d.err == nil {
		s, err := ddsketch.DecodeDDSketch(sk,
			func() store.Store { return store.NewCollapsingLowestDenseStore(sketchMaxBins) },
			sketchMapping)
		if err != nil {
			d.fail("latency sketch: %v", err)
		}
		n.lat.sketch = s
	}
	readKeyTable(d, &n.types)
	readKeyTable(d, &n.sources)
	users := d.count(maxCheckpointKeys)
	n.users = make(map[string]uint64, users)
	for range users {
		id := d.str()
		n.users[id] = d.uvarint()
	}
	n.usersDropped = d.bool()
	if s := readHLL(d, totalsPrecision); s != nil {
		n.usersSeen = s
	}
	top := d.count(topListSize)
	for range top {
		id := d.str()
		n.top.list = append(n.top.list, userCount{id, d.uvarint()})
	}
	n.hasEvents = d.bool()
	n.curSec = d.varint()
	n.curCount = d.uvarint()
	n.peak = d.uvarint()
	n.peakSec = d.varint()
	if d.err == nil && len(d.buf) != 0 {
		d.fail("%d trailing bytes", len(d.buf))
	}
	if d.err != nil {
		return fmt.Errorf("unmarshal totals: %w", d.err)
	}
	*t = *n
	return nil
}

// MarshalBinary writes the window's spec and full state: per-second counts,
// errors, latency bins and exact latency min and max, and the user sketches.
func (w *Window) MarshalBinary() ([]byte, error) {
	e := &encoder{buf: make([]byte, 0, 64+2*len(w.counts))}
	e.header(windowMagic, windowVersion)
	e.str(w.spec.Name)
	e.varint(int64(w.spec.Size))
	e.bool(w.started)
	e.varint(w.head)
	if !w.started {
		return e.buf, nil
	}
	first := w.head - w.secs + 1
	for s := first; s <= w.head; s++ {
		e.uvarint(uint64(w.counts[w.slot(s)]))
	}
	if w.lat != nil {
		for s := first; s <= w.head; s++ {
			i := w.slot(s)
			e.uvarint(uint64(w.errs[i]))
			m := w.lat.slots[i]
			e.uvarint(uint64(len(m)))
			for _, bin := range slices.Sorted(maps.Keys(m)) {
				e.varint(int64(bin))
				e.uvarint(uint64(m[bin]))
			}
			if len(m) > 0 {
				e.float(w.lat.lo[i])
				e.float(w.lat.hi[i])
			}
		}
	}
	if r := w.users; r != nil {
		e.varint(r.headB)
		e.varint(r.oldestB)
		e.uvarint(uint64(len(r.front)))
		for _, s := range r.front {
			appendHLL(e, s)
		}
		e.uvarint(uint64(len(r.back)))
		for _, s := range r.back {
			appendHLL(e, s)
		}
		appendHLL(e, r.backAgg)
	}
	return e.buf, nil
}

// UnmarshalBinary restores what MarshalBinary wrote, or version 1 of it
// (without each second's latency min and max, which then read as the values
// of its lowest and highest bins: within 1%, as version 1's percentiles were).
// A window made by NewWindow only accepts a checkpoint of the same spec; a
// zero Window takes the checkpoint's. On error the receiver is unchanged.
func (w *Window) UnmarshalBinary(b []byte) error {
	d := &decoder{buf: b}
	version := d.header(windowMagic, 1, windowVersion)
	spec := WindowSpec{Name: d.str(), Size: time.Duration(d.varint())}
	if d.err == nil && w.secs != 0 && spec != w.spec {
		d.fail("window %q/%v, want %q/%v", spec.Name, spec.Size, w.spec.Name, w.spec.Size)
	}
	if d.err == nil && (spec.Size <= 0 || spec.Size > 400*24*time.Hour) {
		d.fail("window size %v", spec.Size)
	}
	if d.err != nil {
		return fmt.Errorf("unmarshal window: %w", d.err)
	}
	n := NewWindow(spec)
	n.started = d.bool()
	n.head = d.varint()
	if n.started {
		first := n.head - n.secs + 1
		for s := first; s <= n.head; s++ {
			c := d.uvarint()
			n.counts[n.slot(s)] = uint32(c)
			n.sum += c
		}
		if n.lat != nil {
			for s := first; s <= n.head && d.err == nil; s++ {
				i := n.slot(s)
				c := d.uvarint()
				n.errs[i] = uint32(c)
				n.errSum += c
				bins := d.count(uint64(len(n.lat.hist)))
				lowBin, highBin := int64(windowLatHi), int64(windowLatLo)
				for range bins {
					bin, c := d.varint(), d.uvarint()
					if bin < int64(windowLatLo) || bin > int64(windowLatHi) {
						d.fail("latency bin %d", bin)
						break
					}
					if c == 0 {
						d.fail("latency bin %d: empty", bin)
						break
					}
					if n.lat.slots[i] == nil {
						n.lat.slots[i] = make(map[int32]uint32, bins)
					}
					n.lat.slots[i][int32(bin)] = uint32(c)
					n.lat.hist[int(bin)-windowLatLo] += c
					n.lat.n += c
					lowBin, highBin = min(lowBin, bin), max(highBin, bin)
				}
				if bins == 0 || d.err != nil {
					continue
				}
				if version < 2 {
					n.lat.lo[i] = sketchMapping.Value(int(lowBin))
					n.lat.hi[i] = sketchMapping.Value(int(highBin))
					continue
				}
				lo, hi := d.float(), d.float()
				// The exact extremes must fall in the second's own lowest and
				// highest bins (NaN fails validLatency).
				if d.err == nil && (!validLatency(lo) || !validLatency(hi) || lo > hi ||
					int64(latBin(lo)) != lowBin || int64(latBin(hi)) != highBin) {
					d.fail("latency min %v, max %v for bins %d..%d", lo, hi, lowBin, highBin)
				}
				n.lat.lo[i], n.lat.hi[i] = lo, hi
			}
		}
		if r := n.users; r != nil {
			r.headB = d.varint()
			r.oldestB = d.varint()
			nf := d.count(maxCheckpointKeys)
			for range nf {
				r.front = append(r.front, readHLL(d, windowPrecision))
			}
			nb := d.count(maxCheckpointKeys)
			for range nb {
				r.back = append(r.back, readHLL(d, windowPrecision))
			}
			r.backAgg = readHLL(d, windowPrecision)
			if d.err == nil && (nb == 0 || int64(nf+nb) != r.headB-r.oldestB+1) {
				d.fail("user buckets: %d+%d for %d..%d", nf, nb, r.oldestB, r.headB)
			}
		}
	}
	if d.err == nil && len(d.buf) != 0 {
		d.fail("%d trailing bytes", len(d.buf))
	}
	if d.err != nil {
		return fmt.Errorf("unmarshal window %q: %w", spec.Name, d.err)
	}
	*w = *n
	return nil
}
