package actors

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eventara/eventara/internal/testutil"
	"github.com/eventara/eventara/notify"
	"github.com/eventara/eventara/protocol/event"
	"github.com/eventara/eventara/rules"
)

// hookReceiver is a webhook receiver that de-duplicates by
// Idempotency-Key, as notify's doc asks receivers to: it answers what
// status says for each request (the n-th, from 1) and keeps the body of
// each first delivery per key.
type hookReceiver struct {
	*httptest.Server
	mu       sync.Mutex
	requests int
	bodies   map[string][]byte // by Idempotency-Key: the first 2xx-answered body
	hold     chan struct{}     // when set, each request waits for it to close
	status   func(n int) int
}

func newHookReceiver(t *testing.T, status func(n int) int) *hookReceiver {
	h := &hookReceiver{bodies: map[string][]byte{}, status: status}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.requests++
		n, hold := h.requests, h.hold
		h.mu.Unlock()
		if hold != nil {
			select {
			case <-hold:
			case <-r.Context().Done():
				return
			}
		}
		code := h.status(n)
		if code/100 == 2 {
			h.mu.Lock()
			if _, seen := h.bodies[r.Header.Get("Idempotency-Key")]; !seen {
				h.bodies[r.Header.Get("Idempotency-Key")] = b
			}
			h.mu.Unlock()
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookReceiver) counts() (requests int, keys string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var ks []string
	for k := range h.bodies {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return h.requests, strings.Join(ks, " ")
}

// notifierConfig lets webhooks reach the test receivers on loopback (the
// service's own port is 1 here) and retries fast.
func notifierConfig(cfg *Config) {
	cfg.Notifications = NotificationsConfig{
		Self:        notify.Self{Ports: []int{1}, Addrs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}},
		Outbox:      notify.OutboxConfig{BaseDelay: 20 * time.Millisecond, MaxDelay: 40 * time.Millisecond},
		SendTimeout: 5 * time.Second,
	}
}

// wallClockNotifier is notifierConfig on the wall clock: the outbox's
// retry timer then fires when its deliveries are due.
func wallClockNotifier(cfg *Config) {
	notifierConfig(cfg)
	cfg.Now = time.Now
}

func createHook(t *testing.T, sys *System, name, url string) *notify.Channel {
	t.Helper()
	req, err := notify.DecodeCreate([]byte(`{"channelType":"WEBHOOK","name":"` + name + `","config":{"url":"` + url +
		`","signingSecret":"0123456789abcdef-secret"},"rateLimitPerMinute":0,"rateLimitPerHour":0}`))
	if err != nil {
		t.Fatal(err)
	}
	ch, err := sys.CreateChannel(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// alertRecord is a notified transition of alert "r1-1" of a rule naming
// channels.
func alertRecord(kind rules.RecordKind, at time.Time) Notification {
	fired := at.Add(-time.Minute)
	a := rules.Alert{ID: "r1-1", Seq: 1, RuleID: "r1", RuleName: "Checkout errors", Severity: rules.SeverityCritical,
		Status: rules.AlertFiring, StartsAt: fired, TriggeredAt: &fired, Notified: true, ThresholdValue: 5, ActualValue: 50}
	if kind == rules.RecordResolved {
		a.Status, a.ResolvedAt, a.ResolutionType = rules.AlertResolved, &at, rules.ResolvedAuto
	}
	rule := &rules.Rule{ID: "r1", Name: "Checkout errors", NotificationChannels: []string{"Hook", "missing"}}
	return Notification{Record: rules.Record{Kind: kind, At: at, Alert: a, Notify: true}, Rule: rule}
}

// TestNotifierDeliversOnceThroughRetries: a receiver answering 500 twice
// gets the firing alert once it answers 200, then the resolution (which
// waits for the firing one); the delivery log shows each attempt; a
// repeated Notify of the same transition is not delivered again.
func TestNotifierDeliversOnceThroughRetries(t *testing.T) {
	t.Parallel()
	hook := newHookReceiver(t, func(n int) int {
		if n <= 2 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	sys, _ := clockSystem(t, t.TempDir(), &fakeClock{now: ruleT0}, wallClockNotifier)
	ch := createHook(t, sys, "hook", hook.URL)
	n := actorNotifier{sys: sys}
	n.Notify(alertRecord(rules.RecordFiring, time.Now()))
	n.Notify(alertRecord(rules.RecordResolved, time.Now()))
	n.Notify(alertRecord(rules.RecordFiring, time.Now())) // the same transition again
	testutil.WaitFor(t, testutil.Patience, "both transitions delivered", func() error {
		if st := sys.NotificationStats(time.Time{}); st.TotalSent != 2 || st.Pending != 0 {
			return fmt.Errorf("stats %+v", st)
		}
		return nil
	})
	requests, keys := hook.counts()
	if requests != 4 || keys != "r1-1:firing r1-1:resolved" {
		t.Fatalf("receiver got %d requests, delivered %q", requests, keys)
	}
	logs := sys.NotificationLogs(notify.LogFilter{ChannelID: ch.ID, AlertID: "r1-1"})
	var got []string
	for i := len(logs) - 1; i >= 0; i-- {
		got = append(got, string(logs[i].Transition)+"/"+string(logs[i].Status)+"/"+strconv.Itoa(logs[i].RetryCount))
	}
	if want := "FIRING/RETRYING/0 FIRING/RETRYING/1 FIRING/SENT/2 RESOLVED/SENT/0"; strings.Join(got, " ") != want {
		t.Fatalf("delivery log %q, want %q", strings.Join(got, " "), want)
	}
	c, err := sys.Channel(ch.ID)
	if err != nil || c.TotalSent != 2 || c.LastUsedAt == nil || c.Config.Webhook.SigningSecret != notify.Mask {
		t.Fatalf("channel after the deliveries: %+v %v", c, err)
	}
}

// TestNotifierResumesAfterRestart: an attempt in flight when the system
// stops (canceled, or cut off before its outcome is journaled) is retried
// by the next start (same Idempotency-Key) and delivered once; the channel, the log and the counters survive, from the compacted
// snapshot.
func TestNotifierResumesAfterRestart(t *testing.T) {
	t.Parallel()
	hook := newHookReceiver(t, func(int) int { return http.StatusOK })
	hold := make(chan struct{})
	hook.hold = hold
	dir := t.TempDir()
	sys, stop := clockSystem(t, dir, &fakeClock{now: ruleT0}, wallClockNotifier)
	ch := createHook(t, sys, "hook", hook.URL)
	actorNotifier{sys: sys}.Notify(alertRecord(rules.RecordFiring, time.Now()))
	testutil.Eventually(t, "the first attempt reaches the receiver", func() bool { r, _ := hook.counts(); return r == 1 })
	stop() // cancels the attempt in flight; its outcome is never journaled
	hook.mu.Lock()
	hook.hold = nil
	hook.mu.Unlock()
	close(hold)

	sys, _ = clockSystem(t, dir, &fakeClock{now: ruleT0}, wallClockNotifier)
	testutil.WaitFor(t, testutil.Patience, "delivered after the restart", func() error {
		if st := sys.NotificationStats(time.Time{}); st.TotalSent != 1 || st.Total != 1 {
			return fmt.Errorf("stats %+v", st)
		}
		return nil
	})
	if _, keys := hook.counts(); keys != "r1-1:firing" {
		t.Fatalf("delivered %q", keys)
	}
	logs := sys.NotificationLogs(notify.LogFilter{ChannelID: ch.ID})
	if len(logs) != 2 || logs[0].Status != notify.LogSent || logs[1].Status != notify.LogRetrying ||
		!strings.Contains(logs[1].ErrorMessage, "interrupted") && !strings.Contains(logs[1].ErrorMessage, "stopping") {
		t.Fatalf("delivery log after the restart: %+v", logs)
	}
	if c, err := sys.Channel(ch.ID); err != nil || c.Name != "hook" {
		t.Fatalf("channel after the restart: %+v %v", c, err)
	}
}

// TestChannelAPIErrors: field errors, duplicate names, unknown ids, the
// self-URL refusal, masking, and a delete giving up pending deliveries.
func TestChannelAPIErrors(t *testing.T) {
	t.Parallel()
	sys, _ := clockSystem(t, t.TempDir(), &fakeClock{now: ruleT0}, notifierConfig)
	ctx := context.Background()
	create := func(body string) (*notify.Channel, error) {
		req, err := notify.DecodeCreate([]byte(body))
		if err != nil {
			return nil, err
		}
		return sys.CreateChannel(ctx, req)
	}
	ch, err := create(`{"channelType":"webhook","name":"Ops","config":{"url":"https://hooks.example/x?token=abc","authToken":"tok-123"}}`)
	if err != nil {
		t.Fatal(err)
	}
	if ch.Config.Webhook.AuthToken != notify.Mask || strings.Contains(fmt.Sprint(ch.Config), "tok-123") {
		t.Fatalf("answer not masked: %+v", ch.Config.Webhook)
	}
	var invalid *notify.ValidationError
	var taken *NameTakenChannelError
	for _, c := range []struct {
		body  string
		check func(error) bool
	}{
		{`{"channelType":"WEBHOOK","name":" ops ","config":{"url":"https://a.example"}}`, func(err error) bool { return errors.As(err, &taken) && errors.Is(err, notify.ErrDuplicateName) }},
		{`{"channelType":"WEBHOOK","name":"self","config":{"url":"http://127.0.0.1:1/x"}}`, func(err error) bool { return errors.As(err, &invalid) && invalid.Fields["config.url"] != "" }},
		{`{"channelType":"WEBHOOK","config":{"url":"https://a.example"}}`, func(err error) bool { return errors.As(err, &invalid) && invalid.Fields["name"] != "" }},
	} {
		if _, err := create(c.body); !c.check(err) {
			t.Errorf("%s: %v", c.body, err)
		}
	}
	if _, err := sys.Channel("nope"); !errors.Is(err, notify.ErrChannelNotFound) {
		t.Fatalf("unknown channel: %v", err)
	}
	if err := sys.DeleteChannel(ctx, "nope"); !errors.Is(err, notify.ErrChannelNotFound) {
		t.Fatalf("delete unknown: %v", err)
	}
	off := false
	if c, err := sys.UpdateChannel(ctx, ch.ID, &notify.UpdateChannelRequest{Enabled: &off}); err != nil || c.Enabled {
		t.Fatalf("disable: %+v %v", c, err)
	}
	if got := sys.ChannelCounts(); got.Total != 1 || got.Enabled != 0 || got.Webhooks != 1 {
		t.Fatalf("counts %+v", got)
	}
	if err := sys.DeleteChannel(ctx, ch.ID); err != nil {
		t.Fatal(err)
	}
	if len(sys.Channels(nil)) != 0 {
		t.Fatal("channel still listed")
	}
}

func TestChannelCommandsBounded(t *testing.T) {
	t.Parallel()
	sys, _ := clockSystem(t, t.TempDir(), &fakeClock{now: ruleT0}, notifierConfig)
	mustArm(t, sys, Fault{Actor: "notifier", Fault: FaultStall, Message: "channelCommand"})
	errs := make(chan error, maxChannelCommands)
	for i := range maxChannelCommands {
		req, _ := notify.DecodeCreate([]byte(fmt.Sprintf(`{"channelType":"WEBHOOK","name":"c%d","config":{"url":"https://a.example"}}`, i)))
		go func() { _, err := sys.CreateChannel(context.Background(), req); errs <- err }()
	}
	testutil.Eventually(t, "every command admitted", func() bool { return sys.notifying.commands.Load() == maxChannelCommands })
	if _, err := sys.CreateChannel(context.Background(), &notify.CreateChannelRequest{}); !errors.Is(err, ErrNotifierBusy) {
		t.Fatalf("command past the bound: %v", err)
	}
	sys.Faults().Clear()
	for range maxChannelCommands {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n := len(sys.Channels(nil)); n != maxChannelCommands {
		t.Fatalf("%d channels", n)
	}
}

// TestNotifierReoffersWhatWasNotEnqueued: an alert fired and journaled by
// the rules whose notification never reached the outbox (here: the rules
// handed it to another Notifier, as a crash between the two journals
// would lose it) is enqueued and delivered by the notifier's next start,
// once; a restart after that sends nothing again.
func TestNotifierReoffersWhatWasNotEnqueued(t *testing.T) {
	t.Parallel()
	hook := newHookReceiver(t, func(int) int { return http.StatusOK })
	dir := t.TempDir()
	clock := &fakeClock{now: ruleT0}
	elsewhere := &recordingNotifier{}
	sys, stop := clockSystem(t, dir, clock, func(cfg *Config) { notifierConfig(cfg); cfg.Notifier = elsewhere })
	createHook(t, sys, "hook", hook.URL)
	r := createActive(t, sys, strings.Replace(errorRateRule("r"), `"severity"`, `"notificationChannels":["HOOK"],"severity"`, 1))
	firing := untilAlert(t, sys, clock, r.ID, "firing", func() []event.Event { return errorEvents(1, 1) },
		func(a rules.Alert) bool { return a.Status == rules.AlertFiring })
	testutil.Eventually(t, "the firing handed to the other notifier", func() bool { return elsewhere.kinds() == "ALERT_FIRING" })
	stop()
	if requests, _ := hook.counts(); requests != 0 {
		t.Fatalf("%d requests before the restart", requests)
	}

	for range 2 {
		sys, stop = clockSystem(t, dir, clock, notifierConfig)
		testutil.WaitFor(t, testutil.Patience, "the re-offered firing delivered", func() error {
			if _, keys := hook.counts(); keys != firing.ID+":firing" {
				return fmt.Errorf("delivered %q", keys)
			}
			if st := sys.NotificationStats(time.Time{}); st.TotalSent != 1 || st.Pending != 0 {
				return fmt.Errorf("stats %+v", st)
			}
			return nil
		})
		stop()
	}
	if requests, _ := hook.counts(); requests != 1 {
		t.Fatalf("%d requests, want 1", requests)
	}
}
