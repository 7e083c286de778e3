package notify

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"time"
)

// RecordKind names an outbox transition.
type RecordKind string

// Outbox transitions, each journaled as one Record before it takes effect
// anywhere else.
const (
	// RecordEnqueued: a notification entered the outbox (before any
	// attempt). An Enqueued for an id the outbox knows is ignored.
	RecordEnqueued RecordKind = "NOTIFICATION_ENQUEUED"
	// RecordSending: attempt N began. Journal it before sending: after a
	// crash, an attempt that began and has no outcome is known, counted
	// against the rate limit, and retried by Resume (the receiver
	// de-duplicates by Idempotency-Key if it did arrive).
	RecordSending RecordKind = "NOTIFICATION_SENDING"
	// RecordAttempted: attempt N ended; NextAt is when the next one is due
	// (nil: none, a Delivered or Failed follows).
	RecordAttempted RecordKind = "NOTIFICATION_ATTEMPTED"
	// RecordDelivered: the notification was delivered.
	RecordDelivered RecordKind = "NOTIFICATION_DELIVERED"
	// RecordFailed: the outbox gave up (a permanent error, the deadline,
	// the channel deleted or disabled). Reason says why.
	RecordFailed RecordKind = "NOTIFICATION_FAILED"
)

// Record is one outbox transition. Everything Apply needs is in it (the
// next attempt's time, the give-up deadline), so replaying records rebuilds
// the same state whatever the configuration is by then.
type Record struct {
	Kind         RecordKind    `json:"kind"`
	At           time.Time     `json:"at"`
	ID           string        `json:"id"`                     // the notification id
	Notification *Notification `json:"notification,omitempty"` // Enqueued
	GiveUpAt     *time.Time    `json:"giveUpAt,omitempty"`     // Sending of attempt 1: the deadline
	Attempt      *Attempt      `json:"attempt,omitempty"`      // Sending (N, Start), Attempted
	NextAt       *time.Time    `json:"nextAt,omitempty"`       // Attempted, when retried
	Reason       string        `json:"reason,omitempty"`       // Failed
	// After is, in a Failed that follows an attempt's outcome (a
	// permanent answer, or a retry that would pass the deadline), that
	// attempt's number; 0 in a give-up with no attempt to blame (the
	// deadline passed while it waited, its channel went).
	After int `json:"after,omitempty"`
}

// OutboxConfig is the delivery policy. Zero values are the defaults.
type OutboxConfig struct {
	// BaseDelay is the wait after a first failed attempt; it doubles per
	// attempt up to MaxDelay, and each wait is jittered to between half
	// and all of it. Zero means 5 s; MaxDelay zero means 10 min.
	BaseDelay, MaxDelay time.Duration
	// GiveUpAfter bounds the time from the first attempt to the last.
	// It starts at the first attempt, not at enqueueing, so a
	// notification held back by its channel's rate limits is delayed,
	// never dropped. Zero means 24 h.
	GiveUpAfter time.Duration
	// MaxRetryAfter caps how long a receiver's Retry-After can delay the
	// next attempt. Zero means 1 h.
	MaxRetryAfter time.Duration
	// Jitter returns a fraction in [0, 1) for attempt n of notification
	// id. Nil derives it from a hash of id and n: deterministic, so a
	// replay and a test compute the same times.
	Jitter func(id string, n int) float64
	// LogMaxEntries and LogMaxAge bound the delivery log: the oldest
	// entries go first. Zero means 10,000 entries and 7 days.
	LogMaxEntries int
	LogMaxAge     time.Duration
	// DoneMaxEntries and DoneMaxAge bound how many finished notification
	// ids are remembered, so a repeated Enqueue is ignored (exactly once
	// per id within that horizon). Zero means 100,000 and 7 days.
	DoneMaxEntries int
	DoneMaxAge     time.Duration
}

func (c OutboxConfig) withDefaults() OutboxConfig {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.BaseDelay, 5*time.Second)
	def(&c.MaxDelay, 10*time.Minute)
	def(&c.GiveUpAfter, 24*time.Hour)
	def(&c.MaxRetryAfter, time.Hour)
	def(&c.LogMaxAge, 7*24*time.Hour)
	def(&c.DoneMaxAge, 7*24*time.Hour)
	if c.LogMaxEntries <= 0 {
		c.LogMaxEntries = 10000
	}
	if c.DoneMaxEntries <= 0 {
		c.DoneMaxEntries = 100000
	}
	if c.Jitter == nil {
		c.Jitter = hashJitter
	}
	return c
}

// hashJitter is a deterministic fraction in [0, 1) from id and n.
func hashJitter(id string, n int) float64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	h.Write([]byte{0})
	h.Write([]byte(strconv.Itoa(n)))
	return float64(h.Sum64()>>11) / (1 << 53)
}

// Backoff is the wait after failed attempt n (1-based) of notification
// id: BaseDelay·2^(n-1), capped at MaxDelay, jittered to [d/2, d).
func (c OutboxConfig) Backoff(id string, n int) time.Duration {
	c = c.withDefaults()
	d := c.BaseDelay
	for i := 1; i < n && d < c.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, c.MaxDelay)
	j := min(max(c.Jitter(id, n), 0), 1)
	return d/2 + time.Duration(float64(d/2)*j)
}

// Delivery is a notification due for an attempt: N is the attempt's
// number.
type Delivery struct {
	Notification Notification
	N            int
}

type pending struct {
	n          Notification
	enqueuedAt time.Time
	giveUpAt   time.Time
	nextAt     time.Time
	attempts   int
	inflight   *Attempt
	lastFailed bool // the last attempt's log entry is FAILED already
	// verdictDue: an Attempted ended the last attempt for good; the
	// Delivered or Failed decided with it comes next (Apply).
	verdictDue bool
}

// expired reports a notification past its deadline (none before its
// first attempt).
func (p *pending) expired(now time.Time) bool {
	return !p.giveUpAt.IsZero() && !now.Before(p.giveUpAt)
}

type done struct {
	id, channelID          string
	enqueuedAt, finishedAt time.Time
	sent                   bool
}

// Outbox is the durable delivery queue as an event-sourced state machine,
// in the manner of rules.Machine: every method that changes state returns
// Records and changes the state only by applying them (Apply), so the
// owner journals the records and a new Outbox fed them in order rebuilds
// the same state (TestOutboxReplay*). It reads no clock: times come from
// callers. It is not safe for concurrent use: the notifier actor owns it.
//
// Lifecycle of one notification:
//
//	Enqueue ─▶ pending ─Due/Start─▶ in flight ─Finish─▶ SENT (Delivered)
//	                ▲                                 ├▶ RETRYING: pending again at NextAt
//	                └─────────────────────────────────┘
//	                                                  └▶ FAILED (permanent, or past the deadline)
//	Expire: attempted, pending past the deadline ─▶ FAILED     FailChannel: channel gone ─▶ FAILED
//	Resume (after replay): in flight with no outcome ─▶ RETRYING
type Outbox struct {
	cfg     OutboxConfig
	pending map[string]*pending
	done    map[string]*done
	order   []*done                // finished, oldest first (bounded: DoneMaxEntries, DoneMaxAge)
	starts  map[string][]time.Time // channel → attempt starts in the last hour, ascending
	limits  map[string]Limits
	log     []logItem // oldest first (bounded: LogMaxEntries, LogMaxAge)
	totals  counts
	perChan map[string]*ChannelStats
	held    map[string]hold // not records: see Hold
}

type counts struct{ enqueued, sent, failed int64 }

// NewOutbox returns an empty outbox with cfg's policy.
func NewOutbox(cfg OutboxConfig) *Outbox {
	return &Outbox{
		cfg: cfg.withDefaults(), pending: map[string]*pending{}, done: map[string]*done{},
		starts: map[string][]time.Time{}, limits: map[string]Limits{}, perChan: map[string]*ChannelStats{},
		held: map[string]hold{},
	}
}

// SetLimits sets a channel's rate limits (call it for every channel after
// a start and on every channel change; a channel without limits set has
// none). Limits are channel state, not outbox records.
func (o *Outbox) SetLimits(channelID string, l Limits) { o.limits[channelID] = l }

// Known reports whether the outbox knows notification id (pending, or
// finished within the DoneMax horizon).
func (o *Outbox) Known(id string) bool {
	_, p := o.pending[id]
	_, d := o.done[id]
	return p || d
}

// Enqueue adds n, first due at at. It returns the Enqueued record, or
// false when n.ID is already known (exactly once per id).
func (o *Outbox) Enqueue(n Notification, at time.Time) (Record, bool) {
	if n.ID == "" || o.Known(n.ID) {
		return Record{}, false
	}
	rec := Record{Kind: RecordEnqueued, At: at, ID: n.ID, Notification: &n}
	o.Apply(rec)
	return rec, true
}

// Due lists the notifications to attempt at now, oldest due first: not in
// flight, due, before their deadline, within their channel's rate limits
// (the rest wait: nothing is dropped), and for a RESOLVED notification,
// only once the FIRING one of the same alert to the same channel is
// finished. Call Start for each before sending it.
func (o *Outbox) Due(now time.Time) []Delivery {
	var cands []*pending
	for id, p := range o.pending {
		if p.inflight == nil && !o.isHeld(id) && !p.nextAt.After(now) && !p.expired(now) && !o.waitsForFiring(p) {
			cands = append(cands, p)
		}
	}
	slices.SortFunc(cands, func(a, b *pending) int {
		return cmp.Or(a.nextAt.Compare(b.nextAt), a.enqueuedAt.Compare(b.enqueuedAt), cmp.Compare(a.n.ID, b.n.ID))
	})
	budget := map[string]int{}
	var out []Delivery
	for _, p := range cands {
		ch := p.n.ChannelID
		left, ok := budget[ch]
		if !ok {
			left = o.room(ch, now)
		}
		if left == 0 {
			budget[ch] = 0
			continue
		}
		budget[ch] = left - 1
		out = append(out, Delivery{Notification: p.n, N: p.attempts + 1})
	}
	return out
}

// waitsForFiring reports a RESOLVED notification whose FIRING one to the
// same channel is still pending: receivers get them in order.
func (o *Outbox) waitsForFiring(p *pending) bool {
	if p.n.Message.Transition != Resolved {
		return false
	}
	m := p.n.Message
	m.Transition = Firing
	_, waiting := o.pending[NotificationID(&m, p.n.ChannelID)]
	return waiting
}

// NextWake is the earliest time after now at which Due or Expire may
// have something, for the owner's timer; false when nothing is pending
// outside flight.
func (o *Outbox) NextWake(now time.Time) (time.Time, bool) {
	var best time.Time
	found := false
	consider := func(t time.Time) {
		if !found || t.Before(best) {
			best, found = t, true
		}
	}
	for id, p := range o.pending {
		if p.inflight != nil || o.isHeld(id) {
			continue
		}
		if p.expired(now) {
			consider(now)
			continue
		}
		if o.waitsForFiring(p) {
			continue // woken when the firing one finishes
		}
		at := later(p.nextAt, now)
		at = later(at, o.freeAt(p.n.ChannelID, at))
		if !p.giveUpAt.IsZero() && at.After(p.giveUpAt) {
			at = p.giveUpAt
		}
		consider(at)
	}
	return best, found
}

// Start records that attempt N of notification id begins at now.
func (o *Outbox) Start(id string, now time.Time) (Record, error) {
	rec, err := o.PlanStart(id, "", now)
	if err == nil {
		o.Apply(rec)
	}
	return rec, err
}

// PlanStart is Start without applying its record, for an attempt made
// by the cluster node by (outbox_cluster.go).
func (o *Outbox) PlanStart(id, by string, now time.Time) (Record, error) {
	p, ok := o.pending[id]
	switch {
	case !ok:
		return Record{}, fmt.Errorf("start %s: %w", id, ErrUnknownNotification)
	case p.inflight != nil:
		return Record{}, fmt.Errorf("start %s: %w", id, ErrInFlight)
	}
	rec := Record{Kind: RecordSending, At: now, ID: id, Attempt: &Attempt{N: p.attempts + 1, Start: now, Recipient: p.n.Recipient, By: by}}
	if p.giveUpAt.IsZero() {
		giveUp := now.Add(o.cfg.GiveUpAfter)
		rec.GiveUpAt = &giveUp
	}
	return rec, nil
}

// Finish records the outcome of the in-flight attempt of id (a.N 0 means
// the in-flight one; a.By "" whoever makes it) ending at now, and
// decides what follows: delivered, retried at now plus the backoff (or
// the receiver's Retry-After, if longer), or failed (a permanent outcome,
// or a retry that would pass the deadline). An attempt without an
// outcome counts as retryable.
func (o *Outbox) Finish(id string, a Attempt, now time.Time) ([]Record, error) {
	recs, err := o.PlanFinish(id, a, now)
	for _, r := range recs {
		o.Apply(r)
	}
	return recs, err
}

// PlanFinish is Finish without applying its records (outbox_cluster.go).
func (o *Outbox) PlanFinish(id string, a Attempt, now time.Time) ([]Record, error) {
	p, ok := o.pending[id]
	switch {
	case !ok:
		return nil, fmt.Errorf("finish %s: %w", id, ErrUnknownNotification)
	case p.inflight == nil || (a.N != 0 && a.N != p.inflight.N) || (a.By != "" && a.By != p.inflight.By):
		return nil, fmt.Errorf("finish %s attempt %d: %w", id, a.N, ErrNotInFlight)
	}
	a.N, a.By = p.inflight.N, p.inflight.By
	if a.Start.IsZero() {
		a.Start = p.inflight.Start
	}
	if a.Recipient == "" {
		a.Recipient = p.n.Recipient
	}
	if a.Outcome == "" {
		a.Outcome = Retryable
	}
	att := Record{Kind: RecordAttempted, At: now, ID: id, Attempt: &a}
	var follow *Record
	switch a.Outcome {
	case Success:
		follow = &Record{Kind: RecordDelivered, At: now, ID: id}
	case Permanent:
		follow = &Record{Kind: RecordFailed, At: now, ID: id, Reason: a.Error, After: a.N}
	default:
		next := now.Add(o.cfg.Backoff(id, a.N))
		if a.RetryAfter > 0 {
			if ra := now.Add(min(a.RetryAfter, o.cfg.MaxRetryAfter)); ra.After(next) {
				next = ra
			}
		}
		if p.giveUpAt.IsZero() || next.Before(p.giveUpAt) {
			att.NextAt = &next
		} else {
			follow = &Record{Kind: RecordFailed, At: now, ID: id, After: a.N,
				Reason: fmt.Sprintf("gave up after %d attempts: the next would be past the deadline %s", a.N, stamp(p.giveUpAt))}
		}
	}
	out := []Record{att}
	if follow != nil {
		out = append(out, *follow)
	}
	return out, nil
}

// Expire gives up the pending notifications whose deadline has passed
// at now: attempted before, and held back (by a Retry-After or the rate
// limits) past it. Not those in flight: their outcome decides.
func (o *Outbox) Expire(now time.Time) []Record {
	out := o.PlanExpire(now)
	for _, r := range out {
		o.Apply(r)
	}
	return out
}

// PlanExpire is Expire without applying its records, and leaving held
// notifications out (outbox_cluster.go).
func (o *Outbox) PlanExpire(now time.Time) []Record {
	var ids []string
	for id, p := range o.pending {
		if p.inflight == nil && !o.isHeld(id) && p.expired(now) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	var out []Record
	for _, id := range ids {
		p := o.pending[id]
		out = append(out, Record{Kind: RecordFailed, At: now, ID: id,
			Reason: fmt.Sprintf("gave up: not delivered by the deadline %s after %d attempts", stamp(p.giveUpAt), p.attempts)})
	}
	return out
}

// FailChannel gives up every pending notification of a channel that was
// deleted or disabled, with reason. An attempt in flight is given up too;
// its Finish then returns ErrUnknownNotification, which the owner ignores.
func (o *Outbox) FailChannel(channelID string, now time.Time, reason string) []Record {
	var ids []string
	for id, p := range o.pending {
		if p.n.ChannelID == channelID {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	out := make([]Record, 0, len(ids))
	for _, id := range ids {
		rec := Record{Kind: RecordFailed, At: now, ID: id, Reason: reason}
		o.Apply(rec)
		out = append(out, rec)
	}
	return out
}

// Resume ends, as retryable with an unknown outcome, every attempt that
// was in flight when the records stopped: call it once after replaying
// the journal, before the first Due. The retry carries the same
// Idempotency-Key, so a receiver that did get the interrupted attempt
// drops the copy.
func (o *Outbox) Resume(now time.Time) []Record {
	var ids []string
	for id, p := range o.pending {
		if p.inflight != nil {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	var out []Record
	for _, id := range ids {
		recs, err := o.Finish(id, Attempt{Outcome: Retryable,
			Error: "interrupted: the service stopped during this attempt, its outcome is unknown"}, now)
		if err == nil {
			out = append(out, recs...)
		}
	}
	return out
}

// Apply applies one record: the only way the state changes, live or on
// replay. It ignores a record that does not fit the state it was decided
// from (the invariant and its tests: outbox_cluster.go): an Enqueued for
// a known notification; any other record for one not pending; a Sending
// of attempt N unless no attempt is in flight and N-1 were made; an
// Attempted unless it names the attempt in flight (N and By); a
// Delivered, and a Failed after an attempt (After), unless an Attempted
// of that attempt just ended it for good. One owner's own records always
// fit, so on one node this changes nothing.
func (o *Outbox) Apply(rec Record) {
	if rec.Kind == RecordEnqueued {
		if rec.Notification == nil || o.Known(rec.ID) {
			return
		}
		o.pending[rec.ID] = &pending{n: *rec.Notification, enqueuedAt: rec.At, nextAt: rec.At}
		o.totals.enqueued++
		return
	}
	p, ok := o.pending[rec.ID]
	if !ok {
		return
	}
	ch := p.n.ChannelID
	switch rec.Kind {
	case RecordSending:
		if rec.Attempt == nil || p.inflight != nil || rec.Attempt.N != p.attempts+1 {
			return
		}
		a := *rec.Attempt
		p.inflight, p.attempts, p.verdictDue = &a, a.N, false
		if rec.GiveUpAt != nil && p.giveUpAt.IsZero() {
			p.giveUpAt = *rec.GiveUpAt
		}
		o.noteStart(ch, a.Start)
		o.channel(ch).LastUsedAt = timePtr(a.Start)
	case RecordAttempted:
		if rec.Attempt == nil || p.inflight == nil || p.inflight.N != rec.Attempt.N || p.inflight.By != rec.Attempt.By {
			return
		}
		a := *rec.Attempt
		p.inflight, p.verdictDue = nil, rec.NextAt == nil
		if rec.NextAt != nil {
			p.nextAt = *rec.NextAt
		}
		e := o.entry(p, a.N, rec.At)
		e.SentAt, e.DeliveryTimeMs = nil, a.Duration.Milliseconds()
		e.CreatedAt, e.Recipient = a.Start, cmp.Or(a.Recipient, p.n.Recipient)
		if a.StatusCode != 0 {
			e.ResponseCode = intPtr(a.StatusCode)
		}
		e.ResponseBody, e.ErrorMessage = a.Response, a.Error
		switch {
		case a.Outcome == Success:
			e.Status, e.SentAt = LogSent, timePtr(rec.At)
		case rec.NextAt != nil:
			e.Status, e.NextRetryAt = LogRetrying, timePtr(*rec.NextAt)
		default:
			e.Status = LogFailed
		}
		p.lastFailed = e.Status == LogFailed
		o.appendLog(e, rec.At)
	case RecordDelivered, RecordFailed:
		if (rec.Kind == RecordDelivered || rec.After > 0) && (!p.verdictDue || (rec.After > 0 && rec.After != p.attempts)) {
			return // the verdict of an attempt that did not end here
		}
		if rec.Kind == RecordFailed && !p.lastFailed {
			e := o.entry(p, p.attempts, rec.At)
			e.ID, e.Status, e.ErrorMessage = p.n.ID+"#failed", LogFailed, rec.Reason
			o.appendLog(e, rec.At)
		}
		delete(o.pending, rec.ID)
		d := &done{id: rec.ID, channelID: ch, enqueuedAt: p.enqueuedAt, finishedAt: rec.At, sent: rec.Kind == RecordDelivered}
		o.done[rec.ID] = d
		o.order = append(o.order, d)
		if d.sent {
			o.totals.sent++
			o.channel(ch).TotalSent++
		} else {
			o.totals.failed++
			o.channel(ch).TotalFailed++
		}
		o.pruneDone(rec.At)
	}
}

func (o *Outbox) pruneDone(now time.Time) {
	cut := 0
	for cut < len(o.order) && (len(o.order)-cut > o.cfg.DoneMaxEntries || o.order[cut].finishedAt.Before(now.Add(-o.cfg.DoneMaxAge))) {
		delete(o.done, o.order[cut].id)
		cut++
	}
	if cut > 0 {
		o.order = slices.Clone(o.order[cut:])
	}
}

func (o *Outbox) channel(id string) *ChannelStats {
	s, ok := o.perChan[id]
	if !ok {
		s = &ChannelStats{}
		o.perChan[id] = s
	}
	return s
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func timePtr(t time.Time) *time.Time { return &t }

func intPtr(i int) *int { return &i }
