package notify

import (
	"cmp"
	"slices"
	"time"
)

// Pending lists the notifications not yet delivered or given up, by id.
func (o *Outbox) Pending() []Notification {
	out := make([]Notification, 0, len(o.pending))
	for _, p := range o.pending {
		out = append(out, p.n)
	}
	slices.SortFunc(out, func(a, b Notification) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// PendingState is one pending notification as OutboxState shows it.
type PendingState struct {
	Notification Notification
	EnqueuedAt   time.Time
	GiveUpAt     time.Time // zero until the first attempt
	NextAt       time.Time
	Attempts     int
	InFlight     *Attempt
}

// OutboxState is an Outbox's state as a comparable value, for
// introspection and for tests that replay records.
type OutboxState struct {
	Pending                []PendingState // by id
	Done                   []string       // finished ids remembered, oldest first
	Starts                 map[string][]time.Time
	Log                    []LogEntry // oldest first
	Enqueued, Sent, Failed int64
	Channels               map[string]ChannelStats
}

// State returns a copy of the outbox's state.
func (o *Outbox) State() OutboxState {
	s := OutboxState{Starts: map[string][]time.Time{}, Channels: map[string]ChannelStats{},
		Enqueued: o.totals.enqueued, Sent: o.totals.sent, Failed: o.totals.failed}
	for _, p := range o.pending {
		ps := PendingState{Notification: p.n, EnqueuedAt: p.enqueuedAt, GiveUpAt: p.giveUpAt, NextAt: p.nextAt, Attempts: p.attempts}
		if p.inflight != nil {
			a := *p.inflight
			ps.InFlight = &a
		}
		s.Pending = append(s.Pending, ps)
	}
	slices.SortFunc(s.Pending, func(a, b PendingState) int { return cmp.Compare(a.Notification.ID, b.Notification.ID) })
	for _, d := range o.order {
		s.Done = append(s.Done, d.id)
	}
	for ch, ts := range o.starts {
		s.Starts[ch] = slices.Clone(ts)
	}
	for _, it := range o.log {
		s.Log = append(s.Log, it.e)
	}
	for id := range o.perChan {
		s.Channels[id] = o.ChannelStats(id)
	}
	return s
}

// InFlightAttempt is an attempt begun and not yet ended.
type InFlightAttempt struct {
	ID      string // the notification's
	Attempt Attempt
}

// InFlight lists the attempts begun and not yet ended, by notification id.
func (o *Outbox) InFlight() []InFlightAttempt {
	var out []InFlightAttempt
	for id, p := range o.pending {
		if p.inflight != nil {
			out = append(out, InFlightAttempt{ID: id, Attempt: *p.inflight})
		}
	}
	slices.SortFunc(out, func(a, b InFlightAttempt) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// EnqueuedRecord is the Enqueued record of the pending notification id,
// as it was applied: another outbox that applies it knows the
// notification as this one does.
func (o *Outbox) EnqueuedRecord(id string) (Record, bool) {
	p, ok := o.pending[id]
	if !ok {
		return Record{}, false
	}
	n := p.n
	return Record{Kind: RecordEnqueued, At: p.enqueuedAt, ID: id, Notification: &n}, true
}
