package notify_test

import (
	"fmt"
	"time"

	"github.com/eventara/eventara/notify"
	"github.com/eventara/eventara/rules"
)

// A receiver checks a signed webhook: the HMAC over the timestamp and the
// raw body, then the timestamp's age.
func ExampleVerify() {
	secret := []byte("0123456789abcdef-secret")
	body := []byte(`{"alertId":"r1-1","status":"FIRING"}`)
	ts := "1790000000"
	sig := notify.Sign(secret, ts, body) // what X-Eventara-Signature carries
	now := time.Unix(1790000030, 0)
	fmt.Println(notify.Verify(secret, ts, sig, body, now, 5*time.Minute))
	fmt.Println(notify.Verify(secret, ts, sig, []byte(`{"alertId":"r1-2"}`), now, 5*time.Minute))
	// Output:
	// <nil>
	// signature mismatch
}

// The notifier's loop with a receiver that fails twice: enqueue, then at
// each wake-up Start, send, Finish, until delivered.
func ExampleOutbox() {
	t0 := time.Date(2026, 11, 28, 14, 0, 0, 0, time.UTC)
	req, _ := notify.DecodeCreate([]byte(`{"channelType":"WEBHOOK","name":"ops","config":{"url":"https://hooks.example.com/alerts"}}`))
	ch, _ := notify.NewChannel(req, "ch1", t0, notify.Self{Ports: []int{8080}})
	fired := t0
	rec := rules.Record{Kind: rules.RecordFiring, At: t0, Notify: true, Alert: rules.Alert{
		ID: "r1-1", RuleID: "r1", RuleName: "api errors", Severity: rules.SeverityCritical, TriggeredAt: &fired}}

	o := notify.NewOutbox(notify.OutboxConfig{})
	o.SetLimits(ch.ID, notify.LimitsOf(ch))
	for _, n := range notify.ForRecord(rec, &rules.Rule{ID: "r1"}, []*notify.Channel{ch}) {
		o.Enqueue(n, t0) // journal the record it returns
	}
	outcomes := []notify.Outcome{notify.Retryable, notify.Retryable, notify.Success}
	now := t0
	for _, outcome := range outcomes {
		for _, d := range o.Due(now) {
			o.Start(d.Notification.ID, now) // journal, then send (Sender.Send)
			o.Finish(d.Notification.ID, notify.Attempt{N: d.N, Start: now, Outcome: outcome}, now)
		}
		next, ok := o.NextWake(now)
		if !ok {
			break
		}
		now = next
	}
	for _, e := range o.Logs(notify.LogFilter{}) {
		fmt.Println(e.ID, e.Status, e.CreatedAt.Sub(t0).Round(time.Millisecond))
	}
	// Output:
	// r1-1:FIRING:ch1#3 SENT 10.208s
	// r1-1:FIRING:ch1#2 RETRYING 3.403s
	// r1-1:FIRING:ch1#1 RETRYING 0s
}
