package notify

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"time"
)

// LogStatus is a delivery log entry's status, as the original names it.
type LogStatus string

// Delivery log statuses.
const (
	LogPending  LogStatus = "PENDING"  // enqueued, no attempt finished yet
	LogSent     LogStatus = "SENT"     // this attempt delivered it
	LogFailed   LogStatus = "FAILED"   // this attempt failed for good, or the outbox gave up
	LogRetrying LogStatus = "RETRYING" // this attempt failed; the next is at nextRetryAt
)

// LogEntry is one line of the delivery log: the original's
// NotificationLog. There is one per finished attempt (SENT, RETRYING or
// FAILED), one FAILED when the outbox gives up without an attempt to
// blame (the deadline passed while rate-limited, the channel was
// deleted), and, in Logs only, one PENDING per notification that has no
// finished attempt yet. Recipient is masked; responseBody and
// errorMessage are redacted of the channel's secrets.
type LogEntry struct {
	ID             string      `json:"id"` // "<notificationId>#<attempt>", "#failed" (gave up), "#pending"
	NotificationID string      `json:"notificationId"`
	AlertID        string      `json:"alertId"`
	Transition     Transition  `json:"transition"`
	ChannelID      string      `json:"channelId"`
	ChannelType    ChannelType `json:"channelType"`
	Recipient      string      `json:"recipient"`
	Status         LogStatus   `json:"status"`
	SentAt         *time.Time  `json:"sentAt"`
	Subject        string      `json:"subject"`
	Message        string      `json:"message"`
	ResponseCode   *int        `json:"responseCode"`
	ResponseBody   string      `json:"responseBody"`
	ErrorMessage   string      `json:"errorMessage"`
	// RetryCount is the number of attempts before this one.
	RetryCount     int        `json:"retryCount"`
	NextRetryAt    *time.Time `json:"nextRetryAt"`
	DeliveryTimeMs int64      `json:"deliveryTimeMs"`
	CreatedAt      time.Time  `json:"createdAt"`
}

type logItem struct {
	at time.Time // the record's time, for age-based pruning
	e  LogEntry
}

// entry starts the log entry of attempt n of p.
func (o *Outbox) entry(p *pending, n int, at time.Time) LogEntry {
	m := &p.n.Message
	return LogEntry{
		ID: p.n.ID + "#" + strconv.Itoa(n), NotificationID: p.n.ID, AlertID: m.AlertID, Transition: m.Transition,
		ChannelID: p.n.ChannelID, ChannelType: p.n.ChannelType, Recipient: p.n.Recipient,
		Subject: Subject(m), Message: m.Text, RetryCount: max(n-1, 0), CreatedAt: at,
	}
}

func (o *Outbox) appendLog(e LogEntry, at time.Time) {
	o.log = append(o.log, logItem{at: at, e: e})
	cut := 0
	for cut < len(o.log) && (len(o.log)-cut > o.cfg.LogMaxEntries || o.log[cut].at.Before(at.Add(-o.cfg.LogMaxAge))) {
		cut++
	}
	if cut > 0 {
		o.log = slices.Clone(o.log[cut:])
	}
}

// LogFilter selects delivery log entries; zero fields match everything.
// Since and Until bound CreatedAt (Until exclusive).
type LogFilter struct {
	ChannelID, AlertID string
	ChannelType        ChannelType
	Status             LogStatus
	Since, Until       time.Time
}

func (f *LogFilter) match(e *LogEntry) bool {
	return (f.ChannelID == "" || e.ChannelID == f.ChannelID) && (f.AlertID == "" || e.AlertID == f.AlertID) &&
		(f.ChannelType == "" || e.ChannelType == f.ChannelType) && (f.Status == "" || e.Status == f.Status) &&
		(f.Since.IsZero() || !e.CreatedAt.Before(f.Since)) && (f.Until.IsZero() || e.CreatedAt.Before(f.Until))
}

// Logs returns the delivery log entries matching f, newest first (ties by
// id), with a PENDING entry for each notification that has no finished
// attempt yet. Paging is the caller's: slice the result.
func (o *Outbox) Logs(f LogFilter) []LogEntry {
	var out []LogEntry
	for i := range o.log {
		if e := &o.log[i].e; f.match(e) {
			out = append(out, *e)
		}
	}
	for _, p := range o.pending {
		if p.attempts > 1 || (p.attempts == 1 && p.inflight == nil) {
			continue // it has a RETRYING entry
		}
		e := o.entry(p, 0, p.enqueuedAt)
		e.ID, e.Status, e.NextRetryAt = p.n.ID+"#pending", LogPending, timePtr(p.nextAt)
		if f.match(&e) {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b LogEntry) int {
		return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), cmp.Compare(b.ID, a.ID))
	})
	return out
}

// LogEntry returns the entry with id (as Logs shows it).
func (o *Outbox) LogEntry(id string) (LogEntry, bool) {
	for _, e := range o.Logs(LogFilter{}) {
		if e.ID == id {
			return e, true
		}
	}
	return LogEntry{}, false
}

// Stats are delivery counts by notification (not by attempt): the
// original's log stats. SuccessRate is SENT among finished notifications,
// in percent with 2 decimals (0 when none finished).
type Stats struct {
	Total       int64   `json:"total"`
	TotalSent   int64   `json:"totalSent"`
	TotalFailed int64   `json:"totalFailed"`
	Pending     int64   `json:"pending"`
	SuccessRate float64 `json:"successRate"`
}

// Stats counts the notifications enqueued since since (zero: all of them,
// from counters that survive the DoneMax bounds; otherwise from the
// finished ids still remembered, so at most DoneMaxAge back).
func (o *Outbox) Stats(since time.Time) Stats {
	var s Stats
	if since.IsZero() {
		s = Stats{Total: o.totals.enqueued, TotalSent: o.totals.sent, TotalFailed: o.totals.failed, Pending: int64(len(o.pending))}
	} else {
		for _, d := range o.order {
			if !d.enqueuedAt.Before(since) {
				s.Total++
				if d.sent {
					s.TotalSent++
				} else {
					s.TotalFailed++
				}
			}
		}
		for _, p := range o.pending {
			if !p.enqueuedAt.Before(since) {
				s.Total++
				s.Pending++
			}
		}
	}
	if fin := s.TotalSent + s.TotalFailed; fin > 0 {
		s.SuccessRate = math.Round(float64(s.TotalSent)*10000/float64(fin)) / 100
	}
	return s
}

// ChannelStats are one channel's delivery counters (Channel.WithStats):
// notifications delivered and given up, and the last attempt's start.
type ChannelStats struct {
	TotalSent   int64      `json:"totalSent"`
	TotalFailed int64      `json:"totalFailed"`
	LastUsedAt  *time.Time `json:"lastUsedAt"`
}

// ChannelStats returns the counters of a channel.
func (o *Outbox) ChannelStats(channelID string) ChannelStats {
	s, ok := o.perChan[channelID]
	if !ok {
		return ChannelStats{}
	}
	c := *s
	if s.LastUsedAt != nil {
		c.LastUsedAt = timePtr(*s.LastUsedAt)
	}
	return c
}

// NotificationResult is the answer of a channel test (POST
// …/channels/{id}/test): the original's NotificationResult.
type NotificationResult struct {
	ID             string      `json:"id"`
	AlertID        string      `json:"alertId"`
	ChannelID      string      `json:"channelId"`
	ChannelName    string      `json:"channelName"`
	ChannelType    ChannelType `json:"channelType"`
	Recipient      string      `json:"recipient"`
	Status         LogStatus   `json:"status"` // SENT or FAILED
	Message        string      `json:"message"`
	SentAt         *time.Time  `json:"sentAt"`
	ResponseCode   *int        `json:"responseCode"`
	ResponseBody   string      `json:"responseBody"`
	RetryCount     int         `json:"retryCount"`
	DeliveryTimeMs int64       `json:"deliveryTimeMs"`
	ErrorMessage   string      `json:"errorMessage"`
}

// ResultOf describes one attempt of n through ch, for the channel test.
// A test is one attempt, not retried: a retryable failure is FAILED too,
// with the error saying what happened.
func ResultOf(ch *Channel, n *Notification, a Attempt) NotificationResult {
	r := NotificationResult{
		ID: n.ID, AlertID: n.Message.AlertID, ChannelID: ch.ID, ChannelName: ch.Name, ChannelType: ch.ChannelType,
		Recipient: cmp.Or(a.Recipient, ch.Recipient()), Status: LogFailed, Message: n.Message.Text,
		ResponseBody: a.Response, RetryCount: max(a.N-1, 0), DeliveryTimeMs: a.Duration.Milliseconds(), ErrorMessage: a.Error,
	}
	if a.StatusCode != 0 {
		r.ResponseCode = intPtr(a.StatusCode)
	}
	if a.Outcome == Success {
		r.Status, r.SentAt = LogSent, timePtr(a.Start.Add(a.Duration))
	}
	return r
}
