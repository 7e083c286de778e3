package test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/eventara/eventara/internal/testutil"
	"github.com/eventara/eventara/notify"
)

const hookSecret = "test-signing-secret-0123456789"

// receiver is a webhook receiver as notify's doc asks for one: it
// verifies the signature, de-duplicates by Idempotency-Key (a repeat gets
// 200 and is not processed again), and answers 500 while failing says so.
// hold, when set, keeps each request waiting until it is closed.
type receiver struct {
	*httptest.Server
	t         *testing.T
	mu        sync.Mutex
	requests  []string                  // Idempotency-Key of each request, in order
	posts     []webhookPost             // each request, in order
	processed map[string]map[string]any // by Idempotency-Key: the body first processed
	badSigs   []string
	failing   func(key string, n int) bool // n: the request's number for this key, from 1
	hold      chan struct{}
	arrived   chan string // each request's key, when set (never blocks)
}

// webhookPost is one request as the receiver got it.
type webhookPost struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t, processed: map[string]map[string]any{}, failing: func(string, int) bool { return false }}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	key := req.Header.Get("Idempotency-Key")
	r.mu.Lock()
	r.requests = append(r.requests, key)
	r.posts = append(r.posts, webhookPost{header: req.Header.Clone(), body: body})
	n := 0
	for _, k := range r.requests {
		if k == key {
			n++
		}
	}
	hold, arrived, failing := r.hold, r.arrived, r.failing(key, n)
	r.mu.Unlock()
	if arrived != nil {
		select {
		case arrived <- key:
		default:
		}
	}
	if hold != nil {
		<-hold
	}
	if err := notify.Verify([]byte(hookSecret), req.Header.Get("X-Eventara-Timestamp"), req.Header.Get("X-Eventara-Signature"),
		body, time.Now(), 5*time.Minute); err != nil {
		r.mu.Lock()
		r.badSigs = append(r.badSigs, key+": "+err.Error())
		r.mu.Unlock()
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if failing {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	r.mu.Lock()
	if _, seen := r.processed[key]; !seen {
		var m map[string]any
		_ = json.Unmarshal(body, &m)
		r.processed[key] = m
	}
	r.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// got returns the body processed for key, or nil; and how many requests
// carried key.
func (r *receiver) got(key string) (map[string]any, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, k := range r.requests {
		if k == key {
			n++
		}
	}
	if len(r.badSigs) > 0 {
		r.t.Errorf("requests whose signature did not verify: %v", r.badSigs)
	}
	return r.processed[key], n
}

// postsFor returns the requests whose X-Eventara-Alert-Id is alertID and
// X-Eventara-Event is event, in order, whatever their Idempotency-Key.
func (r *receiver) postsFor(alertID, event string) []webhookPost {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []webhookPost
	for _, p := range r.posts {
		if p.header.Get(notify.HeaderAlertID) == alertID && p.header.Get(notify.HeaderEvent) == event {
			out = append(out, p)
		}
	}
	return out
}

func (r *receiver) waitProcessed(t *testing.T, key string) map[string]any {
	t.Helper()
	var body map[string]any
	testutil.WaitFor(t, 2*time.Minute, "the receiver to process "+key, func() error {
		if body, _ = r.got(key); body == nil {
			return fmt.Errorf("not yet")
		}
		return nil
	})
	return body
}

// smtpSink is a local SMTP server (go-smtp) keeping every message.
type smtpSink struct {
	addr string
	mu   sync.Mutex
	msgs []string
}

func startSMTPSink(t *testing.T) *smtpSink {
	t.Helper()
	sink := &smtpSink{}
	srv := smtp.NewServer(sink)
	srv.Domain = "localhost"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sink.addr = ln.Addr().String()
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return sink
}

func (s *smtpSink) NewSession(*smtp.Conn) (smtp.Session, error) { return &sinkSession{s: s}, nil }

func (s *smtpSink) messages() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.msgs...)
}

type sinkSession struct{ s *smtpSink }

func (*sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (*sinkSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (*sinkSession) Reset()                               {}
func (*sinkSession) Logout() error                        { return nil }
func (ss *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.s.mu.Lock()
	ss.s.msgs = append(ss.s.msgs, string(b))
	ss.s.mu.Unlock()
	return nil
}

// createNotifiedRule creates and enables "error rate > 5 % over 1 min for
// 2 s" notifying channels.
func createNotifiedRule(t *testing.T, s *server, name string, channels ...string) string {
	t.Helper()
	names, _ := json.Marshal(channels)
	code, rule := postJSON(t, s.url("/api/v1/rules"), `{"name":"`+name+`","ruleType":"THRESHOLD","severity":"CRITICAL",
		"notificationChannels":`+string(names)+`,"notificationConfig":{"messageTemplate":"{ruleName}: error rate {actualValue} % over {thresholdValue} %"},
		"ruleConfig":{"metricType":"ERROR_RATE","condition":"GREATER_THAN","thresholdValue":5,"timeWindowMinutes":1,"for":"2s","cooldownMinutes":0}}`)
	if code != http.StatusCreated {
		t.Fatalf("create rule: %d %v", code, rule)
	}
	id := rule["id"].(string)
	if code, r := postJSON(t, s.url("/api/v1/rules/"+id+"/enable"), ``); code != http.StatusOK {
		t.Fatalf("enable: %d %v", code, r)
	}
	return id
}

// logStatuses lists an alert's delivery log entries, oldest first, as
// "TRANSITION/STATUS".
func logStatuses(t *testing.T, s *server, alertID string, channelTypes ...string) string {
	t.Helper()
	code, page := getJSON(t, s.url("/api/v1/notifications/logs?sortDir=ASC&alertId="+url.QueryEscape(alertID)))
	if code != http.StatusOK {
		t.Fatalf("logs: %d %v", code, page)
	}
	var out []string
	for _, e := range page["content"].([]any) {
		m := e.(map[string]any)
		if len(channelTypes) > 0 && !slices.Contains(channelTypes, fmt.Sprint(m["channelType"])) {
			continue
		}
		out = append(out, fmt.Sprint(m["channelType"], "/", m["transition"], "/", m["status"]))
	}
	return strings.Join(out, " ")
}

// TestNotificationsDeliveredOnce: a webhook channel to a receiver that
// answers 500 twice and an e-mail channel to a local SMTP sink; a rule
// "error rate > 5 %" naming both fires: the receiver processes one signed
// notification (its signature verifies), the delivery log shows each
// attempt, the mail arrives with the rendered templates; the alert
// resolves and the resolution arrives once too. Every notifications
// endpoint is judged by the OpenAPI document on the way, bad input
// included.
func TestNotificationsDeliveredOnce(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	hook := newReceiver(t)
	hook.failing = func(key string, n int) bool { return strings.HasSuffix(key, ":firing") && n <= 2 }
	sink := startSMTPSink(t)
	c := loadContract(t, s, nil)
	post := func(path, body string, status int) answer {
		return c.do(t, call{method: http.MethodPost, path: path, body: []byte(body), status: status})
	}
	get := func(path string, status int) answer {
		return c.do(t, call{method: http.MethodGet, path: path, status: status})
	}

	ch := post("/api/v1/notifications/channels", `{"channelType":"WEBHOOK","name":"ops-hook","config":{"url":"`+hook.URL+`/alerts",
		"signingSecret":"`+hookSecret+`","headers":{"X-Team":"ops"}}}`, 201).json(t)
	hookID := ch["id"].(string)
	if cfg := ch["config"].(map[string]any); cfg["signingSecret"] != notify.Mask {
		t.Fatalf("create answered the secret unmasked: %v", cfg)
	}
	host, port, _ := net.SplitHostPort(sink.addr)
	mail := post("/api/v1/notifications/channels", `{"channelType":"email","name":"ops-mail","config":{"host":"`+host+`","port":`+port+`,
		"from":"Eventara <alerts@example.com>","to":["oncall@example.com"],"starttls":"NONE","subjectTemplate":"{status}: {ruleName} ({severity})"}}`, 201).json(t)
	mailID := mail["id"].(string)

	// Bad input, unknown ids, the service's own address, duplicates.
	for _, tc := range []struct {
		name string
		call call
	}{
		{"no name", call{method: http.MethodPost, path: "/api/v1/notifications/channels", body: []byte(`{"channelType":"WEBHOOK","config":{"url":"https://a.example"}}`), status: 400, invalidRequest: true}},
		{"unknown field", call{method: http.MethodPost, path: "/api/v1/notifications/channels", body: []byte(`{"channelType":"WEBHOOK","name":"x","config":{"url":"https://a.example"},"colour":1}`), status: 400, invalidRequest: true}},
		{"webhook to itself", call{method: http.MethodPost, path: "/api/v1/notifications/channels", body: []byte(`{"channelType":"WEBHOOK","name":"loop","config":{"url":"` + s.url("/api/v1/events") + `"}}`), status: 400}},
		{"not http", call{method: http.MethodPost, path: "/api/v1/notifications/channels", body: []byte(`{"channelType":"WEBHOOK","name":"ftp","config":{"url":"ftp://a.example/x"}}`), status: 400}},
		{"duplicate name", call{method: http.MethodPost, path: "/api/v1/notifications/channels", body: []byte(`{"channelType":"SLACK","name":"OPS-HOOK","config":{"url":"https://hooks.slack.com/services/T0/B0/x"}}`), status: 409}},
		{"unknown channel", call{method: http.MethodGet, path: "/api/v1/notifications/channels/nope", status: 404}},
		{"delete unknown channel", call{method: http.MethodDelete, path: "/api/v1/notifications/channels/nope", status: 404}},
		{"test unknown channel", call{method: http.MethodPost, path: "/api/v1/notifications/channels/nope/test", status: 404}},
		{"bad type filter", call{method: http.MethodGet, path: "/api/v1/notifications/channels?type=PIGEON", status: 400}},
		{"bad log filter", call{method: http.MethodGet, path: "/api/v1/notifications/logs?status=LOST", status: 400}},
		{"bad hours", call{method: http.MethodGet, path: "/api/v1/notifications/logs/stats?hours=0", status: 400, invalidRequest: true}},
		{"unknown log entry", call{method: http.MethodGet, path: "/api/v1/notifications/logs/nope", status: 404}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := c.do(t, tc.call)
			if tc.call.status >= 400 && !strings.Contains(string(a.body), `"status":"error"`) {
				t.Errorf("%d without the error shape: %s", tc.call.status, a.body)
			}
		})
	}
	if dup := post("/api/v1/notifications/channels", `{"channelType":"SLACK","name":"Ops-Hook","config":{"url":"https://hooks.slack.com/services/T0/B0/x"}}`, 409).json(t); dup["errors"] == nil {
		t.Errorf("409 without errors: %v", dup)
	}
	// The channel test: one attempt, not through the outbox.
	if res := post("/api/v1/notifications/channels/"+mailID+"/test", ``, 200).json(t); res["status"] != "SENT" {
		t.Fatalf("mail channel test: %v", res)
	}
	c.do(t, call{method: http.MethodPut, path: "/api/v1/notifications/channels/" + hookID,
		body: []byte(`{"description":"pager bridge","config":{"url":"` + hook.URL + `/alerts","signingSecret":"********","headers":{"X-Team":"********"}}}`), status: 200})

	ruleID := createNotifiedRule(t, s, "Checkout errors", "ops-hook", "OPS-MAIL", "no-such-channel")
	firing := waitAlert(t, s, ruleID, "FIRING", func() { postMixed(t, s, 2, 2) })
	alertID := firing["id"].(string)

	body := hook.waitProcessed(t, alertID+":firing")
	if body["event"] != "firing" || body["alertId"] != alertID || body["ruleName"] != "Checkout errors" ||
		!strings.HasPrefix(fmt.Sprint(body["message"]), "Checkout errors: error rate ") {
		t.Fatalf("firing body: %v", body)
	}
	testutil.WaitFor(t, testutil.Patience, "the firing attempts in the delivery log", func() error {
		// Each channel's attempts in order; the two channels' entries
		// interleave as their sends happen to end.
		if got, want := logStatuses(t, s, alertID, "WEBHOOK"), "WEBHOOK/FIRING/RETRYING WEBHOOK/FIRING/RETRYING WEBHOOK/FIRING/SENT"; !strings.Contains(got, want) {
			return fmt.Errorf("webhook log %q", got)
		}
		if got := logStatuses(t, s, alertID, "EMAIL"); !strings.Contains(got, "EMAIL/FIRING/SENT") {
			return fmt.Errorf("e-mail log %q", got)
		}
		return nil
	})
	if _, n := hook.got(alertID + ":firing"); n != 3 {
		t.Errorf("firing requests: %d, want 3 (two 500s, one 200)", n)
	}
	var firingMail string
	testutil.WaitFor(t, testutil.Patience, "the firing mail", func() error {
		for _, m := range sink.messages() {
			if strings.Contains(m, alertID+":firing") {
				firingMail = m
				return nil
			}
		}
		return fmt.Errorf("%d messages", len(sink.messages()))
	})
	if !strings.Contains(firingMail, "Subject: FIRING: Checkout errors (CRITICAL)") || !strings.Contains(firingMail, "Checkout errors: error rate ") {
		t.Errorf("firing mail lacks the rendered templates:\n%s", firingMail)
	}

	resolved := waitAlert(t, s, ruleID, "RESOLVED", func() { postMixed(t, s, 0, 200) })
	if resolved["id"] != alertID {
		t.Fatalf("resolved %v", resolved)
	}
	if rb := hook.waitProcessed(t, alertID+":resolved"); rb["event"] != "resolved" || rb["resolvedAt"] == nil {
		t.Fatalf("resolution body: %v", rb)
	}
	testutil.WaitFor(t, testutil.Patience, "the resolution sent to both", func() error {
		if got := logStatuses(t, s, alertID); !strings.Contains(got, "WEBHOOK/RESOLVED/SENT") || !strings.Contains(got, "EMAIL/RESOLVED/SENT") {
			return fmt.Errorf("log %q", got)
		}
		return nil
	})
	if _, n := hook.got(alertID + ":resolved"); n != 1 {
		t.Errorf("resolution requests: %d", n)
	}

	// The reads, judged by the document.
	for _, p := range []string{"/api/v1/notifications/channels", "/api/v1/notifications/channels?type=webhook&enabled=true",
		"/api/v1/notifications/channels/" + hookID, "/api/v1/notifications/channels/stats",
		"/api/v1/notifications/logs", "/api/v1/notifications/logs?channelId=" + hookID + "&status=SENT&page=0&size=1",
		"/api/v1/notifications/logs/stats?hours=1", "/api/v1/notifications/logs/failed?limit=5",
		"/api/v1/notifications/logs/alert/" + alertID, "/api/v1/notifications/logs/channel/" + mailID} {
		get(p, 200)
	}
	page := get("/api/v1/notifications/logs?channelId="+hookID+"&status=SENT&size=1", 200).json(t)
	if page["totalElements"] != 2.0 || len(page["content"].([]any)) != 1 {
		t.Errorf("SENT webhook entries: %v", page)
	}
	entry := page["content"].([]any)[0].(map[string]any)
	get("/api/v1/notifications/logs/"+url.PathEscape(entry["id"].(string)), 200)
	if st := get("/api/v1/notifications/logs/stats", 200).json(t); st["totalSent"] != 4.0 || st["periodHours"] != 24.0 || st["successRate"] != 100.0 {
		t.Errorf("log stats: %v", st)
	}
	if hc := get("/api/v1/notifications/channels/"+hookID, 200).json(t); hc["totalSent"] != 2.0 || hc["description"] != "pager bridge" ||
		hc["config"].(map[string]any)["signingSecret"] != notify.Mask {
		t.Errorf("webhook channel after its deliveries: %v", hc)
	}
	if stats := get("/api/v1/notifications/channels/stats", 200).json(t); stats["total"] != 2.0 || stats["webhooks"] != 1.0 || stats["emails"] != 1.0 {
		t.Errorf("channel stats: %v", stats)
	}
	// Nothing the service logged holds a secret.
	if strings.Contains(s.logs.String(), hookSecret) {
		t.Error("the signing secret reached the service's log")
	}
	c.do(t, call{method: http.MethodDelete, path: "/api/v1/notifications/channels/" + mailID, status: 204})
}

// TestNotificationSurvivesKill: Eventara is killed (SIGKILL) while the
// receiver holds the firing notification's request; after the restart
// the notification is sent again with the same Idempotency-Key, and the
// receiver, de-duplicating, processes it once; the delivery log shows the
// interrupted attempt and the delivery.
func TestNotificationSurvivesKill(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	hook := newReceiver(t)
	hold := make(chan struct{})
	hook.hold, hook.arrived = hold, make(chan string, 8)
	if code, ch := postJSON(t, s.url("/api/v1/notifications/channels"), `{"channelType":"WEBHOOK","name":"hook",
		"config":{"url":"`+hook.URL+`","signingSecret":"`+hookSecret+`"}}`); code != http.StatusCreated {
		t.Fatalf("create channel: %d %v", code, ch)
	}
	ruleID := createNotifiedRule(t, s, "Errors", "hook")
	firing := waitAlert(t, s, ruleID, "FIRING", func() { postMixed(t, s, 2, 2) })
	alertID := firing["id"].(string)
	select {
	case key := <-hook.arrived:
		if key != alertID+":firing" {
			t.Fatalf("first request %q", key)
		}
	case <-time.After(testutil.Patience):
		t.Fatal("no notification request")
	}
	s.kill() // the attempt is journaled as started; its outcome never is
	hook.mu.Lock()
	hook.hold = nil
	hook.mu.Unlock()
	close(hold) // the receiver processes the request the killed process sent
	hook.waitProcessed(t, alertID+":firing")

	s.start()
	testutil.WaitFor(t, time.Minute, "the retry after the restart", func() error {
		if _, n := hook.got(alertID + ":firing"); n < 2 {
			return fmt.Errorf("%d requests", n)
		}
		if got := logStatuses(t, s, alertID); got != "WEBHOOK/FIRING/RETRYING WEBHOOK/FIRING/SENT" {
			return fmt.Errorf("log %q", got)
		}
		return nil
	})
	code, logs := getJSON(t, s.url("/api/v1/notifications/logs?sortDir=ASC&alertId="+url.QueryEscape(alertID)))
	first := logs["content"].([]any)[0].(map[string]any)
	if code != http.StatusOK || !strings.Contains(fmt.Sprint(first["errorMessage"]), "interrupted") {
		t.Errorf("the interrupted attempt: %d %v", code, first)
	}
	if _, n := hook.got(alertID + ":firing"); n != 2 {
		t.Errorf("requests with the firing key: %d, want 2 (the interrupted one, the retry)", n)
	}
	hook.mu.Lock()
	processed := len(hook.processed)
	hook.mu.Unlock()
	if processed != 1 {
		t.Errorf("the receiver processed %d notifications, want 1", processed)
	}
}
