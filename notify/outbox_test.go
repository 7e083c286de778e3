package notify

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// driver plays the notifier actor with an explicit clock: at each wake-up
// it expires, then starts, sends and finishes every due delivery, and
// journals every record (as JSON, as the state log would).
type driver struct {
	t       *testing.T
	o       *Outbox
	cfg     OutboxConfig
	journal [][]byte
	now     time.Time
	send    func(d Delivery) Attempt
	crashAt int // crash (stop journaling, stop the run) after this many Sending records; 0: never
	sending int
	crashed bool
}

func newDriver(t *testing.T, cfg OutboxConfig, send func(d Delivery) Attempt) *driver {
	return &driver{t: t, o: NewOutbox(cfg), cfg: cfg, now: t0, send: send}
}

func (d *driver) keep(recs ...Record) {
	for _, r := range recs {
		b, err := json.Marshal(r)
		if err != nil {
			d.t.Fatal(err)
		}
		d.journal = append(d.journal, b)
	}
}

func (d *driver) enqueue(n Notification) {
	if rec, ok := d.o.Enqueue(n, d.now); ok {
		d.keep(rec)
	}
}

// step is one wake-up at d.now; it returns the deliveries attempted.
func (d *driver) step() int {
	d.keep(d.o.Expire(d.now)...)
	due := d.o.Due(d.now)
	for _, dl := range due {
		rec, err := d.o.Start(dl.Notification.ID, d.now)
		if err != nil {
			d.t.Fatal(err)
		}
		d.keep(rec)
		a := d.send(dl)
		a.N = dl.N
		d.sending++
		if d.crashAt > 0 && d.sending == d.crashAt {
			d.crashed = true // the process dies before journaling the outcome
			return 0
		}
		recs, err := d.o.Finish(dl.Notification.ID, a, d.now)
		if err != nil {
			d.t.Fatal(err)
		}
		d.keep(recs...)
	}
	return len(due)
}

// run wakes up until nothing is pending (or a crash), moving the clock to
// each NextWake; it returns the wake-up times.
func (d *driver) run() []time.Time {
	var wakes []time.Time
	for i := 0; i < 1000 && !d.crashed; i++ {
		wakes = append(wakes, d.now)
		d.step()
		next, ok := d.o.NextWake(d.now)
		if !ok || d.crashed {
			return wakes
		}
		if next.Before(d.now) {
			d.t.Fatalf("NextWake %v before now %v", next, d.now)
		}
		d.now = next
	}
	if !d.crashed {
		d.t.Fatal("run did not settle")
	}
	return wakes
}

// replay builds a new outbox from the journal.
func (d *driver) replay() *Outbox {
	o := NewOutbox(d.cfg)
	for _, b := range d.journal {
		var r Record
		if err := json.Unmarshal(b, &r); err != nil {
			d.t.Fatal(err)
		}
		o.Apply(r)
	}
	return o
}

// statuses counts entries by status; it panics on two entries with one id.
func statuses(entries []LogEntry) map[LogStatus]int {
	m := map[LogStatus]int{}
	ids := map[string]bool{}
	for _, e := range entries {
		if ids[e.ID] {
			panic("two log entries with id " + e.ID)
		}
		ids[e.ID] = true
		m[e.Status]++
	}
	return m
}

// halfJitter makes each backoff exactly 3/4 of its undelayed value.
func halfJitter(string, int) float64 { return 0.5 }

// A receiver failing with 500 three times, then 200: one SENT, three
// RETRYING entries, retries at the computed backoff, the same
// Idempotency-Key every time.
func TestOutboxRetriesUntilDelivered(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, 500, 500, 500, 200)
	ch := newChannel(t, hookReq(rcv.URL, ""))
	cfg := OutboxConfig{Jitter: halfJitter}
	var d *driver
	s := NewSender(SenderConfig{Self: testSelf, Now: func() time.Time { return d.now }})
	defer s.Close()
	d = newDriver(t, cfg, func(dl Delivery) Attempt { return s.Send(context.Background(), ch, &dl.Notification) })
	d.o.SetLimits(ch.ID, LimitsOf(ch))
	n := notification(t, ch, firingRecord(60))
	d.enqueue(n)
	d.enqueue(n) // the same alert transition again: ignored
	wakes := d.run()

	// Backoff 5 s, 10 s, 20 s, each jittered to 3/4.
	want := []time.Time{t0, t0.Add(3750 * time.Millisecond), t0.Add(11250 * time.Millisecond), t0.Add(26250 * time.Millisecond)}
	if !reflect.DeepEqual(wakes, want) {
		t.Fatalf("attempts at %v, want %v", wakes, want)
	}
	logs := d.o.Logs(LogFilter{AlertID: "r1-1"})
	if st := statuses(logs); st[LogSent] != 1 || st[LogRetrying] != 3 || len(logs) != 4 {
		t.Fatalf("log statuses %v", st)
	}
	// Newest first: SENT, then the RETRYING entries with their next times.
	for i, e := range logs[1:] {
		n := 3 - i
		if e.ID != "r1-1:FIRING:ch1#"+string(rune('0'+n)) || e.RetryCount != n-1 || !e.NextRetryAt.Equal(want[n]) ||
			*e.ResponseCode != 500 || e.ErrorMessage != "HTTP 500 Internal Server Error" || e.ResponseBody != "Internal Server Error" {
			t.Errorf("entry %d: %+v", n, e)
		}
	}
	sent := logs[0]
	if sent.Status != LogSent || sent.RetryCount != 3 || !sent.SentAt.Equal(want[3]) || sent.ChannelType != TypeWebhook ||
		sent.Subject != "[FIRING] CRITICAL: api errors" || sent.Recipient != rcv.URL {
		t.Errorf("sent entry %+v", sent)
	}
	got := rcv.requests()
	if len(got) != 4 {
		t.Fatalf("%d requests", len(got))
	}
	for _, r := range got {
		if r.header.Get("Idempotency-Key") != "r1-1:firing" {
			t.Errorf("key %q", r.header.Get("Idempotency-Key"))
		}
	}
	if st := d.o.Stats(time.Time{}); st != (Stats{Total: 1, TotalSent: 1, SuccessRate: 100}) {
		t.Errorf("stats %+v", st)
	}
	if cs := d.o.ChannelStats(ch.ID); cs.TotalSent != 1 || !cs.LastUsedAt.Equal(want[3]) {
		t.Errorf("channel stats %+v", cs)
	}
	if _, ok := d.o.Enqueue(n, d.now); ok {
		t.Error("a delivered notification was enqueued again")
	}
}

func TestOutboxPermanentFailureIsNotRetried(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, 404)
	ch := newChannel(t, hookReq(rcv.URL, ""))
	var d *driver
	s := NewSender(SenderConfig{Self: testSelf, Now: func() time.Time { return d.now }})
	defer s.Close()
	d = newDriver(t, OutboxConfig{}, func(dl Delivery) Attempt { return s.Send(context.Background(), ch, &dl.Notification) })
	d.enqueue(notification(t, ch, firingRecord(60)))
	if wakes := d.run(); len(wakes) != 1 {
		t.Fatalf("wakes %v", wakes)
	}
	logs := d.o.Logs(LogFilter{})
	if len(logs) != 1 || logs[0].Status != LogFailed || *logs[0].ResponseCode != 404 || logs[0].NextRetryAt != nil || len(rcv.requests()) != 1 {
		t.Fatalf("logs %+v", logs)
	}
	if st := d.o.Stats(time.Time{}); st.TotalFailed != 1 || st.SuccessRate != 0 || st.Pending != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	cfg := OutboxConfig{BaseDelay: time.Second, MaxDelay: time.Minute}
	undelayed := []time.Duration{1, 2, 4, 8, 16, 32, 60, 60, 60}
	for i, u := range undelayed {
		n, u := i+1, u*time.Second
		b := cfg.Backoff("id", n)
		if b < u/2 || b >= u || b != cfg.Backoff("id", n) {
			t.Errorf("attempt %d: %v not in [%v, %v) or not deterministic", n, b, u/2, u)
		}
	}
	if cfg.Backoff("a", 3) == cfg.Backoff("b", 3) {
		t.Error("jitter does not depend on the id")
	}
	zero := OutboxConfig{Jitter: func(string, int) float64 { return 0 }}
	if b := zero.Backoff("x", 1); b != 2500*time.Millisecond {
		t.Errorf("default base: %v", b)
	}
	if b := zero.Backoff("x", 40); b != 5*time.Minute {
		t.Errorf("default cap: %v", b)
	}
}

// A receiver's Retry-After is honored when longer than the backoff, up
// to MaxRetryAfter; a retry past the deadline gives up with one FAILED
// entry.
func TestOutboxRetryAfterAndDeadline(t *testing.T) {
	t.Parallel()
	ch := newChannel(t, hookReq("https://a.example", ""))
	cfg := OutboxConfig{Jitter: halfJitter, GiveUpAfter: 10 * time.Minute, MaxRetryAfter: 4 * time.Minute}
	d := newDriver(t, cfg, func(dl Delivery) Attempt {
		return Attempt{Start: t0, Outcome: Retryable, StatusCode: 429, RetryAfter: time.Hour, Error: "HTTP 429"}
	})
	d.enqueue(notification(t, ch, firingRecord(60)))
	wakes := d.run()
	want := []time.Time{t0, t0.Add(4 * time.Minute), t0.Add(8 * time.Minute)}
	if !reflect.DeepEqual(wakes, want) {
		t.Fatalf("wakes %v, want %v", wakes, want)
	}
	logs := d.o.Logs(LogFilter{})
	if st := statuses(logs); st[LogRetrying] != 2 || st[LogFailed] != 1 || len(logs) != 3 {
		t.Fatalf("statuses %v", st)
	}
	if !strings.Contains(d.o.Logs(LogFilter{Status: LogFailed})[0].ErrorMessage, "HTTP 429") {
		t.Errorf("failed entry %+v", logs[0])
	}
}

// Rate limits delay deliveries, never drop them: 2 a minute and 3 an
// hour for 5 notifications.
func TestOutboxRateLimits(t *testing.T) {
	t.Parallel()
	ch := newChannel(t, `{"channelType":"WEBHOOK","name":"x","rateLimitPerMinute":2,"rateLimitPerHour":3,"config":{"url":"https://a.example"}}`)
	var sentAt []time.Time
	var d *driver
	d = newDriver(t, OutboxConfig{}, func(dl Delivery) Attempt {
		sentAt = append(sentAt, d.now)
		return Attempt{Start: d.now, Outcome: Success, StatusCode: 200}
	})
	d.o.SetLimits(ch.ID, LimitsOf(ch))
	for i := range 5 {
		m, _ := MessageFor(firingRecord(60), "")
		m.AlertID = "r1-" + string(rune('1'+i))
		d.enqueue(NewNotification(m, ch))
	}
	if due := d.o.Due(t0); len(due) != 2 {
		t.Fatalf("due at t0: %d", len(due))
	}
	d.run()
	want := []time.Time{t0, t0, t0.Add(time.Minute), t0.Add(time.Hour), t0.Add(time.Hour)}
	if !reflect.DeepEqual(sentAt, want) {
		t.Fatalf("sent at %v, want %v", sentAt, want)
	}
	if st := d.o.Stats(time.Time{}); st.TotalSent != 5 || st.Pending != 0 {
		t.Fatalf("stats %+v", st)
	}
	// Another channel is not held up by this one's limits.
	other := ch.Clone()
	other.ID = "ch2"
	m, _ := MessageFor(firingRecord(60), "")
	d.enqueue(NewNotification(m, other))
	if due := d.o.Due(d.now); len(due) != 1 || due[0].Notification.ChannelID != "ch2" {
		t.Fatalf("due %+v", due)
	}
}

// Rate limits delay a notification past the give-up time, and it is still
// delivered: the deadline runs from the first attempt. A retry held back
// past it is given up with a FAILED entry saying so.
func TestOutboxDeadline(t *testing.T) {
	t.Parallel()
	ch := newChannel(t, hookReq("https://a.example", ""))
	var sent []string
	var d *driver
	d = newDriver(t, OutboxConfig{GiveUpAfter: 30 * time.Minute, Jitter: halfJitter}, func(dl Delivery) Attempt {
		if dl.Notification.Message.AlertID == "a-3" {
			return Attempt{Outcome: Retryable, Error: "HTTP 503"}
		}
		sent = append(sent, dl.Notification.Message.AlertID+"@"+d.now.Sub(t0).String())
		return Attempt{Outcome: Success}
	})
	d.o.SetLimits(ch.ID, Limits{PerHour: 1})
	for _, id := range []string{"a-1", "a-2", "a-3"} {
		m, _ := MessageFor(firingRecord(60), "")
		m.AlertID = id
		d.enqueue(NewNotification(m, ch))
	}
	d.run()
	if strings.Join(sent, " ") != "a-1@0s a-2@1h0m0s" {
		t.Fatalf("sent %v", sent)
	}
	// a-3 is first attempted at 2 h; its retry (3.75 s later) waits for the
	// hourly limit until 3 h, past its deadline of 2 h 30 min.
	if st := statuses(d.o.Logs(LogFilter{})); st[LogSent] != 2 || st[LogRetrying] != 1 || st[LogFailed] != 1 {
		t.Fatalf("statuses %v", st)
	}
	failed := d.o.Logs(LogFilter{Status: LogFailed, Since: t0.Add(150 * time.Minute)})
	if len(failed) != 1 || failed[0].AlertID != "a-3" || !strings.Contains(failed[0].ErrorMessage, "gave up") ||
		failed[0].ID != "a-3:FIRING:ch1#failed" || !failed[0].CreatedAt.Equal(t0.Add(150*time.Minute)) {
		t.Fatalf("failed %+v", failed)
	}
	if st := d.o.Stats(time.Time{}); st.TotalSent != 2 || st.TotalFailed != 1 || st.SuccessRate != 66.67 {
		t.Errorf("stats %+v", st)
	}
}

// A receiver down for minutes, and the service killed during an attempt:
// after the replay the delivery resumes, and the receiver processes the
// alert exactly once (it de-duplicates by Idempotency-Key).
func TestOutboxCrashAndResume(t *testing.T) {
	t.Parallel()
	var mu struct{ down bool }
	mu.down = true
	processed := map[string]int{}
	var deliveries []string
	rcv := newReceiver(t, 200)
	ch := newChannel(t, hookReq(rcv.URL, ""))
	cfg := OutboxConfig{Jitter: halfJitter}
	var d *driver
	s := NewSender(SenderConfig{Self: testSelf, Now: func() time.Time { return d.now }})
	defer s.Close()
	send := func(dl Delivery) Attempt {
		// The receiver is down for the first 3 minutes (503), then up.
		mu.down = d.now.Before(t0.Add(3 * time.Minute))
		if mu.down {
			return Attempt{Start: d.now, Outcome: Retryable, StatusCode: 503, Error: "HTTP 503"}
		}
		a := s.Send(context.Background(), ch, &dl.Notification)
		r := rcv.requests()
		key := r[len(r)-1].header.Get("Idempotency-Key")
		deliveries = append(deliveries, key)
		processed[key]++ // the receiver's de-duplication: a key counts once
		return a
	}
	d = newDriver(t, cfg, send)
	d.o.SetLimits(ch.ID, LimitsOf(ch))
	d.enqueue(notification(t, ch, firingRecord(60)))
	// Attempts at 0, 3.75 s, 11.25 s, 26.25 s, 56.25 s, 116.25 s fail; the 7th,
	// at 236.25 s, reaches the receiver, and the process dies before its
	// outcome is journaled.
	d.crashAt = 7
	d.run()
	if !d.crashed || len(rcv.requests()) != 1 {
		t.Fatalf("crashed %v, requests %d", d.crashed, len(rcv.requests()))
	}
	crashTime := d.now

	// A new process replays the journal: the attempt in flight is known.
	o := d.replay()
	st := o.State()
	if len(st.Pending) != 1 || st.Pending[0].InFlight == nil || st.Pending[0].InFlight.N != 7 || st.Pending[0].Attempts != 7 {
		t.Fatalf("replayed state %+v", st.Pending)
	}
	if len(o.Due(crashTime.Add(time.Hour))) != 0 {
		t.Fatal("an attempt in flight is due before Resume")
	}
	restart := crashTime.Add(2 * time.Minute) // kill -9, restart
	d2 := &driver{t: t, o: o, cfg: cfg, now: restart, send: send, journal: d.journal}
	resumed := o.Resume(restart)
	d2.keep(resumed...)
	if len(resumed) != 1 || resumed[0].Kind != RecordAttempted || resumed[0].NextAt == nil ||
		!resumed[0].NextAt.Equal(restart.Add(cfg.Backoff(resumed[0].ID, 7))) {
		t.Fatalf("resume records %+v", resumed)
	}
	d2.run()
	if len(rcv.requests()) != 2 || len(processed) != 1 || processed["r1-1:firing"] != 2 {
		t.Fatalf("deliveries %v, processed %v", deliveries, processed)
	}
	logs := o.Logs(LogFilter{})
	if st := statuses(logs); st[LogSent] != 1 || st[LogRetrying] != 7 || len(logs) != 8 {
		t.Fatalf("statuses %v", st)
	}
	interrupted := o.Logs(LogFilter{Status: LogRetrying})[0]
	if interrupted.RetryCount != 6 || !strings.Contains(interrupted.ErrorMessage, "interrupted") {
		t.Errorf("interrupted entry %+v", interrupted)
	}
	// The whole journal, replayed again, is the live state.
	if got, want := d2.replay().State(), o.State(); !reflect.DeepEqual(got, want) {
		t.Errorf("replay differs:\n%+v\n%+v", got, want)
	}
}

// Replaying any prefix of the journal gives the state the live outbox had
// at that point, whatever the records were.
func TestOutboxReplayReproducesState(t *testing.T) {
	t.Parallel()
	ch := newChannel(t, `{"channelType":"WEBHOOK","name":"x","rateLimitPerMinute":1,"config":{"url":"https://a.example"}}`)
	ch2 := ch.Clone()
	ch2.ID = "ch2"
	outcomes := []Outcome{Retryable, Success, Permanent, Retryable, Retryable, Success}
	i := 0
	var states []OutboxState
	var d *driver
	d = newDriver(t, OutboxConfig{LogMaxEntries: 4, DoneMaxEntries: 2}, func(dl Delivery) Attempt {
		o := outcomes[i%len(outcomes)]
		i++
		return Attempt{Start: d.now, Outcome: o, Error: string(o)}
	})
	d.o.SetLimits(ch.ID, LimitsOf(ch))
	for k, c := range []*Channel{ch, ch2, ch} {
		m, _ := MessageFor(firingRecord(60), "")
		m.AlertID = "a-" + string(rune('1'+k))
		d.enqueue(NewNotification(m, c))
		states = append(states, d.o.State())
	}
	m, _ := MessageFor(resolvedRecord(60, 120), "")
	m.AlertID = "a-1"
	d.enqueue(NewNotification(m, ch))
	d.run()
	full := d.replay().State()
	if !reflect.DeepEqual(full, d.o.State()) {
		t.Fatalf("replay differs:\n%+v\n%+v", full, d.o.State())
	}
	if len(full.Log) != 4 || len(full.Done) != 2 || full.Enqueued != 4 || full.Sent+full.Failed != 4 {
		t.Fatalf("bounds: %d log entries, done %v, totals %d/%d/%d", len(full.Log), full.Done, full.Enqueued, full.Sent, full.Failed)
	}
	// Forgotten ids are no longer known (the DoneMax horizon).
	if d.o.Known("a-3:FIRING:ch1") == d.o.Known(full.Done[0]) {
		t.Errorf("done horizon: %v", full.Done)
	}
}

// The resolution of an alert waits for its firing notification.
func TestOutboxResolvedWaitsForFiring(t *testing.T) {
	t.Parallel()
	ch := newChannel(t, hookReq("https://a.example", ""))
	o := NewOutbox(OutboxConfig{Jitter: halfJitter})
	fire, res := notification(t, ch, firingRecord(60)), notification(t, ch, resolvedRecord(60, 61))
	o.Enqueue(fire, t0)
	o.Enqueue(res, t0)
	due := o.Due(t0)
	if len(due) != 1 || due[0].Notification.ID != fire.ID {
		t.Fatalf("due %+v", due)
	}
	if _, err := o.Start(fire.ID, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Start(fire.ID, t0); !errors.Is(err, ErrInFlight) {
		t.Fatalf("second start: %v", err)
	}
	if _, err := o.Finish(fire.ID, Attempt{N: 2}, t0); !errors.Is(err, ErrNotInFlight) {
		t.Fatalf("wrong attempt: %v", err)
	}
	if _, err := o.Finish("nope", Attempt{}, t0); !errors.Is(err, ErrUnknownNotification) {
		t.Fatalf("unknown: %v", err)
	}
	if len(o.Due(t0.Add(time.Hour))) != 0 {
		t.Fatal("resolution due while its firing is in flight")
	}
	if _, err := o.Finish(fire.ID, Attempt{Outcome: Success}, at(1)); err != nil {
		t.Fatal(err)
	}
	if due := o.Due(at(1)); len(due) != 1 || due[0].Notification.ID != res.ID {
		t.Fatalf("due %+v", due)
	}
}

func TestOutboxFailChannelAndPendingLog(t *testing.T) {
	t.Parallel()
	ch := newChannel(t, hookReq("https://a.example", ""))
	o := NewOutbox(OutboxConfig{})
	n := notification(t, ch, firingRecord(60))
	o.Enqueue(n, t0)
	logs := o.Logs(LogFilter{ChannelID: ch.ID})
	if len(logs) != 1 || logs[0].Status != LogPending || !logs[0].NextRetryAt.Equal(t0) {
		t.Fatalf("pending log %+v", logs)
	}
	if e, ok := o.LogEntry(logs[0].ID); !ok || e.Status != LogPending {
		t.Fatalf("LogEntry %+v", e)
	}
	recs := o.FailChannel(ch.ID, at(5), "channel deleted")
	if len(recs) != 1 || recs[0].Kind != RecordFailed {
		t.Fatalf("%+v", recs)
	}
	logs = o.Logs(LogFilter{})
	if len(logs) != 1 || logs[0].Status != LogFailed || logs[0].ErrorMessage != "channel deleted" {
		t.Fatalf("logs %+v", logs)
	}
	if len(o.Logs(LogFilter{ChannelID: "other"})) != 0 || len(o.Logs(LogFilter{Since: at(6)})) != 0 {
		t.Error("filters")
	}
	if s := o.Stats(at(1)); s.Total != 0 {
		t.Errorf("stats since: %+v", s)
	}
	if s := o.Stats(t0); s.Total != 1 || s.TotalFailed != 1 {
		t.Errorf("stats since: %+v", s)
	}
}

func TestResultOf(t *testing.T) {
	t.Parallel()
	ch := newChannel(t, hookReq("https://a.example", ""))
	n := NewNotification(TestMessage(ch, t0), ch)
	r := ResultOf(ch, &n, Attempt{N: 1, Start: t0, Duration: 40 * time.Millisecond, Outcome: Success, StatusCode: 200, Response: "ok"})
	if r.Status != LogSent || !r.SentAt.Equal(t0.Add(40*time.Millisecond)) || r.DeliveryTimeMs != 40 || *r.ResponseCode != 200 || r.ChannelName != "hook" {
		t.Fatalf("%+v", r)
	}
	if r := ResultOf(ch, &n, Attempt{Outcome: Retryable, Error: "timed out"}); r.Status != LogFailed || r.SentAt != nil || r.ResponseCode != nil {
		t.Fatalf("%+v", r)
	}
}
