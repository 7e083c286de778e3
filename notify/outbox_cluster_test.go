package notify

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

// takenOver is an outbox in which deliverer A began attempt 1 of a
// notification at 0 s and deliverer B, after A went silent, ended it as
// interrupted at 30 s (a retry due at once): what every node of a cluster
// applied, in stream order. It returns the outbox, the notification's id
// and A's records for attempt 1 as A decided them at 20 s (delivered),
// published too late: they reach the stream only now.
func takenOver(t *testing.T) (*Outbox, string, []Record) {
	t.Helper()
	ch := newChannel(t, hookReq("https://a.example", ""))
	o := NewOutbox(OutboxConfig{BaseDelay: 1, MaxDelay: 1})
	n := notification(t, ch, firingRecord(60))
	o.Enqueue(n, t0)
	// A's side: its own outbox, fed the same records, decides its outcome.
	aSide := NewOutbox(OutboxConfig{})
	aSide.Enqueue(n, t0)
	start, err := aSide.Start(n.ID, t0)
	if err != nil {
		t.Fatal(err)
	}
	late, err := aSide.Finish(n.ID, Attempt{N: 1, Start: t0, Outcome: Success, StatusCode: 200}, at(20))
	if err != nil {
		t.Fatal(err)
	}
	o.Apply(start)
	if _, err := o.Finish(n.ID, Attempt{Outcome: Retryable, Error: "interrupted"}, at(30)); err != nil {
		t.Fatal(err)
	}
	return o, n.ID, late
}

// logIDs lists the delivery log's entry ids with their status, oldest
// first.
func logIDs(o *Outbox) []string {
	var out []string
	for _, e := range o.State().Log {
		out = append(out, e.ID+" "+string(e.Status))
	}
	return out
}

// An outcome applies only to the attempt it belongs to: the late outcome
// of an attempt that another deliverer took over and retried leaves the
// retry in flight, adds nothing to the delivery log, and the retry's own
// outcome is the one that counts (the cluster's "late outcome from an old
// deliverer", actors/notifier_cluster.go).
func TestOutboxLateOutcomeOfATakenOverAttemptIsIgnored(t *testing.T) {
	t.Parallel()
	o, id, late := takenOver(t)
	if _, err := o.Start(id, at(31)); err != nil { // B's retry, attempt 2
		t.Fatal(err)
	}
	before := o.State()
	for _, r := range late {
		o.Apply(r)
	}
	if got := o.State(); !reflect.DeepEqual(got, before) {
		t.Fatalf("the late outcome of attempt 1 changed the state:\n got %+v\nwant %+v", got, before)
	}
	recs, err := o.Finish(id, Attempt{N: 2, Outcome: Success, StatusCode: 200}, at(32))
	if err != nil {
		t.Fatalf("the retry's own outcome: %v", err)
	}
	if len(recs) != 2 || recs[1].Kind != RecordDelivered {
		t.Fatalf("records %+v", recs)
	}
	want := []string{id + "#1 RETRYING", id + "#2 SENT"}
	if got := logIDs(o); !reflect.DeepEqual(got, want) {
		t.Fatalf("log %v, want %v", got, want)
	}
}

// The same late outcome landing after the take-over and before the retry
// began neither delivers the notification nor logs it: the retry is
// still due.
func TestOutboxLateOutcomeBeforeTheRetryIsIgnored(t *testing.T) {
	t.Parallel()
	o, id, late := takenOver(t)
	before := o.State()
	for _, r := range late {
		o.Apply(r)
	}
	if got := o.State(); !reflect.DeepEqual(got, before) {
		t.Fatalf("the late outcome of attempt 1 changed the state:\n got %+v\nwant %+v", got, before)
	}
	if due := o.Due(at(31)); len(due) != 1 || due[0].N != 2 {
		t.Fatalf("due %+v, want attempt 2", due)
	}
	// A late give-up (a permanent answer to attempt 1) is ignored alike.
	if _, err := o.Start(id, at(31)); err != nil {
		t.Fatal(err)
	}
	o.Apply(Record{Kind: RecordAttempted, At: at(20), ID: id, Attempt: &Attempt{N: 1, Outcome: Permanent, Error: "HTTP 404"}})
	o.Apply(Record{Kind: RecordFailed, At: at(20), ID: id, Reason: "HTTP 404", After: 1})
	if st := o.State(); len(st.Pending) != 1 || st.Pending[0].InFlight == nil || st.Pending[0].InFlight.N != 2 {
		t.Fatalf("a late permanent outcome of attempt 1 gave up attempt 2: %+v", st.Pending)
	}
	if _, err := o.Finish(id, Attempt{N: 1}, at(32)); !errors.Is(err, ErrNotInFlight) {
		t.Fatalf("finish attempt 1 while 2 is in flight: %v", err)
	}
}

// Two deliverers' attempts with one number are told apart by their node:
// the outcome of the attempt that did not start here changes nothing.
func TestOutboxOutcomeOfAnotherNodesAttemptIsIgnored(t *testing.T) {
	t.Parallel()
	ch := newChannel(t, hookReq("https://a.example", ""))
	o := NewOutbox(OutboxConfig{})
	n := notification(t, ch, firingRecord(60))
	o.Enqueue(n, t0)
	fromA, err := o.PlanStart(n.ID, "a", t0)
	if err != nil {
		t.Fatal(err)
	}
	fromB, err := o.PlanStart(n.ID, "b", at(1)) // b did not know of a's
	if err != nil {
		t.Fatal(err)
	}
	o.Apply(fromA)
	o.Apply(fromB) // in flight already: ignored
	if f := o.InFlight(); len(f) != 1 || f[0].Attempt.By != "a" || f[0].Attempt.N != 1 {
		t.Fatalf("in flight %+v", f)
	}
	if _, err := o.PlanFinish(n.ID, Attempt{N: 1, By: "b"}, at(2)); !errors.Is(err, ErrNotInFlight) {
		t.Fatalf("b finishes a's attempt: %v", err)
	}
	before := o.State()
	o.Apply(Record{Kind: RecordAttempted, At: at(2), ID: n.ID, Attempt: &Attempt{N: 1, By: "b", Outcome: Success}})
	o.Apply(Record{Kind: RecordDelivered, At: at(2), ID: n.ID})
	if got := o.State(); !reflect.DeepEqual(got, before) {
		t.Fatalf("b's outcome changed the state:\n got %+v\nwant %+v", got, before)
	}
	recs, err := o.PlanFinish(n.ID, Attempt{N: 1, By: "a", Outcome: Permanent, Error: "HTTP 404"}, at(3))
	if err != nil {
		t.Fatal(err)
	}
	if o.State().Sent != 0 || len(recs) != 2 || recs[1].After != 1 || recs[1].Attempt != nil {
		t.Fatalf("PlanFinish applied something, or records %+v", recs)
	}
	for _, r := range recs {
		o.Apply(r)
	}
	if st := o.State(); len(st.Pending) != 0 || st.Failed != 1 || len(st.Log) != 1 || st.Log[0].Status != LogFailed {
		t.Fatalf("a's own outcome: %+v", st)
	}
}

// A held notification is left out of Due, PlanExpire and NextWake, and
// its held start counts against its channel's rate limit until Release;
// then the applied start counts, once.
func TestOutboxHoldLeavesANotificationOut(t *testing.T) {
	t.Parallel()
	ch := newChannel(t, `{"channelType":"WEBHOOK","name":"x","rateLimitPerMinute":2,"config":{"url":"https://a.example"}}`)
	o := NewOutbox(OutboxConfig{})
	o.SetLimits(ch.ID, LimitsOf(ch))
	var ids []string
	for k := range 3 {
		m, _ := MessageFor(firingRecord(60), "")
		m.AlertID = "a-" + string(rune('1'+k))
		n := NewNotification(m, ch)
		o.Enqueue(n, t0)
		ids = append(ids, n.ID)
	}
	start, err := o.PlanStart(ids[0], "a", t0)
	if err != nil {
		t.Fatal(err)
	}
	o.Hold(ids[0], t0)
	due := o.Due(t0)
	if len(due) != 1 || due[0].Notification.ID != ids[1] {
		t.Fatalf("due %+v: want %s alone (one start held, limit 2 a minute)", due, ids[1])
	}
	o.Apply(start)
	o.Release(ids[0])
	if due := o.Due(t0); len(due) != 1 || due[0].Notification.ID != ids[1] {
		t.Fatalf("due after the start applied %+v", due)
	}

	// A give-up decided and held: not decided again, no wake for it.
	exp := NewOutbox(OutboxConfig{GiveUpAfter: time.Minute})
	m, _ := MessageFor(firingRecord(60), "")
	n := NewNotification(m, ch)
	exp.Enqueue(n, t0)
	if _, err := exp.Start(n.ID, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := exp.Finish(n.ID, Attempt{Outcome: Retryable}, at(1)); err != nil {
		t.Fatal(err)
	}
	late := at(120)
	recs := exp.PlanExpire(late)
	if len(recs) != 1 || recs[0].Kind != RecordFailed || len(exp.Pending()) != 1 {
		t.Fatalf("PlanExpire %+v, pending %d", recs, len(exp.Pending()))
	}
	exp.Hold(n.ID, time.Time{})
	if again := exp.PlanExpire(late); len(again) != 0 {
		t.Fatalf("a held notification expired again: %+v", again)
	}
	if at, ok := exp.NextWake(late); ok {
		t.Fatalf("NextWake %v for a held notification", at)
	}
	exp.Apply(recs[0])
	exp.Release(n.ID)
	if st := exp.State(); len(st.Pending) != 0 || st.Failed != 1 {
		t.Fatalf("state %+v", st)
	}
}
