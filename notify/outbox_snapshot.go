package notify

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"
)

// snapshotVersion is the outbox snapshot format's version.
const snapshotVersion = 1

// outboxSnapshot is an Outbox's whole state as JSON: what a compaction
// of its records keeps. Every field is state Apply built, nothing of the
// configuration: restored under another OutboxConfig, the bounds apply
// from the next record on.
type outboxSnapshot struct {
	Version int                      `json:"version"`
	Pending []pendingSnapshot        `json:"pending"`
	Done    []doneSnapshot           `json:"done"` // oldest first
	Starts  map[string][]time.Time   `json:"starts"`
	Log     []logSnapshot            `json:"log"` // oldest first
	Totals  [3]int64                 `json:"totals"`
	PerChan map[string]*ChannelStats `json:"perChannel"`
}

type pendingSnapshot struct {
	Notification Notification `json:"notification"`
	EnqueuedAt   time.Time    `json:"enqueuedAt"`
	GiveUpAt     time.Time    `json:"giveUpAt"`
	NextAt       time.Time    `json:"nextAt"`
	Attempts     int          `json:"attempts"`
	InFlight     *Attempt     `json:"inFlight,omitempty"`
	LastFailed   bool         `json:"lastFailed,omitempty"`
	VerdictDue   bool         `json:"verdictDue,omitempty"`
}

type doneSnapshot struct {
	ID         string    `json:"id"`
	ChannelID  string    `json:"channelId"`
	EnqueuedAt time.Time `json:"enqueuedAt"`
	FinishedAt time.Time `json:"finishedAt"`
	Sent       bool      `json:"sent"`
}

type logSnapshot struct {
	At    time.Time `json:"at"`
	Entry LogEntry  `json:"entry"`
}

// MarshalSnapshot encodes the outbox's whole state: what its owner
// journals as a compaction of the records applied so far, so start-up
// reads one snapshot and a short tail instead of every record since the
// first (RestoreOutbox). Its size is bounded by the DoneMax and LogMax
// bounds and the pending notifications.
func (o *Outbox) MarshalSnapshot() ([]byte, error) {
	s := outboxSnapshot{Version: snapshotVersion, Starts: map[string][]time.Time{}, PerChan: map[string]*ChannelStats{},
		Totals: [3]int64{o.totals.enqueued, o.totals.sent, o.totals.failed}}
	for _, id := range slices.Sorted(maps.Keys(o.pending)) {
		p := o.pending[id]
		s.Pending = append(s.Pending, pendingSnapshot{Notification: p.n, EnqueuedAt: p.enqueuedAt, GiveUpAt: p.giveUpAt,
			NextAt: p.nextAt, Attempts: p.attempts, InFlight: p.inflight, LastFailed: p.lastFailed, VerdictDue: p.verdictDue})
	}
	for _, d := range o.order {
		s.Done = append(s.Done, doneSnapshot{ID: d.id, ChannelID: d.channelID, EnqueuedAt: d.enqueuedAt, FinishedAt: d.finishedAt, Sent: d.sent})
	}
	for ch, ts := range o.starts {
		if len(ts) > 0 {
			s.Starts[ch] = ts
		}
	}
	for _, it := range o.log {
		s.Log = append(s.Log, logSnapshot{At: it.at, Entry: it.e})
	}
	maps.Copy(s.PerChan, o.perChan)
	b, err := json.Marshal(&s)
	if err != nil {
		return nil, fmt.Errorf("encode outbox snapshot: %w", err)
	}
	return b, nil
}

// RestoreOutbox returns an outbox with cfg's policy and the state of a
// MarshalSnapshot; apply the records journaled after it, then SetLimits
// and Resume as after a replay.
func RestoreOutbox(cfg OutboxConfig, data []byte) (*Outbox, error) {
	var s outboxSnapshot
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("decode outbox snapshot: %w", err)
	}
	if s.Version != snapshotVersion {
		return nil, fmt.Errorf("decode outbox snapshot: version %d, want %d", s.Version, snapshotVersion)
	}
	o := NewOutbox(cfg)
	o.totals = counts{enqueued: s.Totals[0], sent: s.Totals[1], failed: s.Totals[2]}
	for _, p := range s.Pending {
		if p.Notification.ID == "" {
			return nil, fmt.Errorf("decode outbox snapshot: a pending notification without an id")
		}
		o.pending[p.Notification.ID] = &pending{n: p.Notification, enqueuedAt: p.EnqueuedAt, giveUpAt: p.GiveUpAt,
			nextAt: p.NextAt, attempts: p.Attempts, inflight: p.InFlight, lastFailed: p.LastFailed, verdictDue: p.VerdictDue}
	}
	for _, d := range s.Done {
		dd := &done{id: d.ID, channelID: d.ChannelID, enqueuedAt: d.EnqueuedAt, finishedAt: d.FinishedAt, sent: d.Sent}
		o.done[d.ID] = dd
		o.order = append(o.order, dd)
	}
	for ch, ts := range s.Starts {
		o.starts[ch] = slices.Clone(ts)
	}
	for _, l := range s.Log {
		o.log = append(o.log, logItem{at: l.At, e: l.Entry})
	}
	for ch, st := range s.PerChan {
		if st != nil {
			c := *st
			o.perChan[ch] = &c
		}
	}
	return o, nil
}
