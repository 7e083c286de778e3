package test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/eventara/eventara/internal/testutil"
	"github.com/eventara/eventara/protocol/stomp"
)

// alertWatcher is a plain-WebSocket STOMP client subscribed to
// /topic/alerts: it keeps every alert MESSAGE it gets.
type alertWatcher struct {
	mu   sync.Mutex
	msgs []alertMsg
	err  error
}

type alertMsg struct {
	transition string
	alert      map[string]any
}

func watchAlerts(t *testing.T, addr string) *alertWatcher {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c, _, err := websocket.Dial(ctx, "ws://"+addr+"/ws", &websocket.DialOptions{Subprotocols: []string{"v12.stomp"}})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); c.CloseNow() })
	w := &alertWatcher{}
	for _, f := range []string{
		stompFrame("CONNECT", "accept-version", "1.2", "heart-beat", "0,0"),
		stompFrame("SUBSCRIBE", "id", "alerts", "destination", "/topic/alerts", "receipt", "subscribed"),
	} {
		if err := c.Write(ctx, websocket.MessageText, []byte(f)); err != nil {
			t.Fatal(err)
		}
	}
	receipt := make(chan struct{})
	go func() {
		dec := stomp.NewDecoder(stomp.Limits{})
		for {
			_, b, err := c.Read(ctx)
			if err != nil {
				w.mu.Lock()
				w.err = err
				w.mu.Unlock()
				return
			}
			dec.Feed(b)
			for {
				f, hb, err := dec.Next()
				if err != nil {
					w.mu.Lock()
					w.err = err
					w.mu.Unlock()
					return
				}
				if hb {
					continue
				}
				if f == nil {
					break
				}
				switch f.Command {
				case stomp.CmdReceipt:
					close(receipt)
				case stomp.CmdMessage:
					m := alertMsg{transition: f.Header("transition")}
					_ = json.Unmarshal(f.Body, &m.alert)
					w.mu.Lock()
					w.msgs = append(w.msgs, m)
					w.mu.Unlock()
				}
			}
		}
	}()
	testutil.Recv(t, receipt, testutil.Patience, "the SUBSCRIBE receipt")
	return w
}

// transitions lists the transitions received for alert id.
func (w *alertWatcher) transitions(id string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, m := range w.msgs {
		if m.alert["id"] == id {
			out = append(out, m.transition+"/"+fmt.Sprint(m.alert["status"]))
		}
	}
	return strings.Join(out, " ")
}

// send sends a JSON body with method and decodes the answer.
func send(t *testing.T, method, url, body string) (int, map[string]any) {
	t.Helper()
	code, b := do(t, method, url, "application/json", []byte(body))
	var m map[string]any
	if len(b) > 0 {
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s %s: %d, body not JSON: %q", method, url, code, b)
		}
	}
	return code, m
}

// postMixed posts errs ERROR and infos INFO events in one batch.
func postMixed(t *testing.T, s *server, errs, infos int) {
	t.Helper()
	var evs []string
	for i := range errs + infos {
		sev := "INFO"
		if i < errs {
			sev = "ERROR"
		}
		evs = append(evs, `{"eventType":"checkout","source":"api","severity":"`+sev+`"}`)
	}
	if code, _ := do(t, http.MethodPost, s.url("/api/v1/events/batch"), "application/json", []byte("["+strings.Join(evs, ",")+"]")); code != http.StatusAccepted {
		t.Fatalf("batch: %d", code)
	}
}

// alertOf returns the rule's newest alert from GET /api/v1/alerts.
func alertOf(t *testing.T, s *server, ruleID string) map[string]any {
	t.Helper()
	code, page := getJSON(t, s.url("/api/v1/alerts?ruleId="+ruleID+"&sortBy=startsAt&sortDirection=DESC&size=1"))
	if code != http.StatusOK {
		t.Fatalf("GET /api/v1/alerts: %d %v", code, page)
	}
	if content, _ := page["content"].([]any); len(content) > 0 {
		return content[0].(map[string]any)
	}
	return nil
}

// waitAlert feeds events (feed, every poll) until the rule's newest alert
// has status want.
func waitAlert(t *testing.T, s *server, ruleID, want string, feed func()) map[string]any {
	t.Helper()
	var a map[string]any
	testutil.WaitFor(t, 3*time.Minute, "an alert "+want, func() error {
		feed()
		if a = alertOf(t, s, ruleID); a == nil || a["status"] != want {
			return fmt.Errorf("newest alert: %v", a)
		}
		return nil
	})
	return a
}

// TestAlertRuleLifecycle: a rule "error rate > 5 % over 1 min for 2 s"
// created through the API fires while errors flow and resolves when they
// are diluted; GET /api/v1/alerts and a STOMP subscriber of /topic/alerts
// see pending → firing → acknowledged → resolved; rules and alerts are the
// same after a clean restart and after SIGKILL.
func TestAlertRuleLifecycle(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	watcher := watchAlerts(t, s.addr)

	code, rule := postJSON(t, s.url("/api/v1/rules"), `{"name":"Checkout errors","description":"error rate","ruleType":"THRESHOLD",
		"severity":"CRITICAL","createdBy":"test",
		"ruleConfig":{"metricType":"ERROR_RATE","condition":"GREATER_THAN","thresholdValue":5,"timeWindowMinutes":1,"for":"2s","cooldownMinutes":0}}`)
	if code != http.StatusCreated || rule["status"] != "DRAFT" || rule["version"] != 1.0 {
		t.Fatalf("create: %d %v", code, rule)
	}
	id := rule["id"].(string)
	if code, r := postJSON(t, s.url("/api/v1/rules/"+id+"/enable"), ``); code != http.StatusOK || r["status"] != "ACTIVE" {
		t.Fatalf("enable: %d %v", code, r)
	}

	// Errors flow: half the events fail. A 1-minute rate is known once the
	// rule has a minute of history.
	errorsFlow := func() { postMixed(t, s, 2, 2) }
	pending := waitAlert(t, s, id, "PENDING", errorsFlow)
	alertID := pending["id"].(string)
	firing := waitAlert(t, s, id, "FIRING", errorsFlow)
	if firing["id"] != alertID || firing["triggeredAt"] == nil || firing["severity"] != "CRITICAL" || firing["ruleName"] != "Checkout errors" {
		t.Fatalf("firing alert: %v", firing)
	}
	// Answers with a real alert, judged by the OpenAPI document.
	c := loadContract(t, s, nil)
	c.do(t, call{method: http.MethodGet, path: "/api/v1/alerts/" + alertID, status: http.StatusOK})
	acked := c.do(t, call{method: http.MethodPost, path: "/api/v1/alerts/" + alertID + "/acknowledge",
		body: []byte(`{"acknowledgedBy":"ann","acknowledgmentNotes":"looking"}`), status: http.StatusOK}).json(t)
	if acked["acknowledgedBy"] != "ann" || acked["acknowledgedAt"] == nil || acked["status"] != "FIRING" {
		t.Fatalf("acknowledge: %v", acked)
	}
	if code, body := postJSON(t, s.url("/api/v1/alerts/"+alertID+"/acknowledge"), `{"acknowledgedBy":"bob"}`); code != http.StatusConflict {
		t.Fatalf("second acknowledge: %d %v", code, body)
	}
	// Errors stop; the window fills with successes: the rate drops.
	resolved := waitAlert(t, s, id, "RESOLVED", func() { postMixed(t, s, 0, 200) })
	if resolved["id"] != alertID || resolved["resolutionType"] != "AUTO" || resolved["acknowledgedBy"] != "ann" {
		t.Fatalf("resolved alert: %v", resolved)
	}
	want := "ALERT_PENDING/PENDING ALERT_FIRING/FIRING ALERT_ACKNOWLEDGED/FIRING ALERT_RESOLVED/RESOLVED"
	testutil.WaitFor(t, testutil.Patience, "the transitions on /topic/alerts", func() error {
		if got := watcher.transitions(alertID); got != want {
			return fmt.Errorf("got %q", got)
		}
		return nil
	})
	if st := c.do(t, call{method: http.MethodGet, path: "/api/v1/alerts/statistics", status: http.StatusOK}).json(t); st["resolvedAlerts"] != 1.0 || st["resolvedAuto"] != 1.0 {
		t.Fatalf("alert statistics: %v", st)
	}
	c.do(t, call{method: http.MethodGet, path: "/api/v1/alerts?status=resolved&ruleId=" + id, status: http.StatusOK})
	c.do(t, call{method: http.MethodPost, path: "/api/v1/alerts/" + alertID + "/resolve", body: []byte(`{"resolvedBy":"bob"}`), status: http.StatusConflict})
	if code, r := getJSON(t, s.url("/api/v1/rules/"+id)); code != http.StatusOK || r["triggerCount"] != 1.0 || r["lastTriggeredAt"] == nil {
		t.Fatalf("rule after its alert: %d %v", code, r)
	}

	state := func() string {
		_, rules := do(t, http.MethodGet, s.url("/api/v1/rules"), "", nil)
		_, alerts := do(t, http.MethodGet, s.url("/api/v1/alerts?size=100"), "", nil)
		return string(rules) + "\n" + string(alerts)
	}
	before := state()
	s.restart()
	if after := state(); after != before {
		t.Fatalf("after a restart:\n got %s\nwant %s", after, before)
	}
	s.kill()
	s.start()
	if after := state(); after != before {
		t.Fatalf("after SIGKILL:\n got %s\nwant %s", after, before)
	}
}

// TestRulesAPIBadInput: field errors, unknown ids, duplicate names, wrong
// methods, and the read-only views.
func TestRulesAPIBadInput(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	create := `{"name":"Slow","ruleType":"THRESHOLD","severity":"WARNING","ruleConfig":{"metricType":"P95_LATENCY","condition":"GREATER_THAN","thresholdValue":500}}`
	code, rule := postJSON(t, s.url("/api/v1/rules"), create)
	if code != http.StatusCreated {
		t.Fatalf("create: %d %v", code, rule)
	}
	id := rule["id"].(string)
	cases := []struct {
		name, method, path, body string
		code                     int
		field                    string // a key of "errors", or ""
	}{
		{"duplicate name", "POST", "/api/v1/rules", strings.Replace(create, `"Slow"`, `" slow "`, 1), 409, "name"},
		{"missing name", "POST", "/api/v1/rules", `{"ruleType":"THRESHOLD","severity":"INFO","ruleConfig":{"metricType":"ERROR_RATE","condition":"GREATER_THAN","thresholdValue":1}}`, 400, "name"},
		{"bad metric", "POST", "/api/v1/rules", `{"name":"x","ruleType":"THRESHOLD","severity":"INFO","ruleConfig":{"metricType":"NOPE","condition":"GREATER_THAN","thresholdValue":1}}`, 400, "ruleConfig.metricType"},
		{"unknown field", "POST", "/api/v1/rules", `{"name":"x","colour":"red"}`, 400, "colour"},
		{"not JSON", "POST", "/api/v1/rules", `{`, 400, "body"},
		{"unknown rule", "GET", "/api/v1/rules/nope", "", 404, ""},
		{"update unknown rule", "PUT", "/api/v1/rules/nope", `{"name":"y"}`, 404, ""},
		{"delete unknown rule", "DELETE", "/api/v1/rules/nope", "", 404, ""},
		{"enable unknown rule", "POST", "/api/v1/rules/nope/enable", "", 404, ""},
		{"unknown action", "POST", "/api/v1/rules/" + id + "/explode", "", 404, ""},
		{"bad update", "PUT", "/api/v1/rules/" + id, `{"severity":"LOUD"}`, 400, "severity"},
		{"bad type", "GET", "/api/v1/rules/type/FANCY", "", 400, "type"},
		{"bad status", "GET", "/api/v1/rules/status/ASLEEP", "", 400, "status"},
		{"search without q", "GET", "/api/v1/rules/search", "", 400, "q"},
		{"test invalid", "POST", "/api/v1/rules/test", `{"ruleType":"THRESHOLD","severity":"INFO","ruleConfig":{"metricType":"ERROR_RATE"}}`, 400, "ruleConfig.condition"},
		{"test unknown rule", "POST", "/api/v1/rules/test/nope", "", 404, ""},
		{"unknown alert", "GET", "/api/v1/alerts/nope", "", 404, ""},
		{"acknowledge unknown alert", "POST", "/api/v1/alerts/nope/acknowledge", `{"acknowledgedBy":"a"}`, 404, ""},
		{"acknowledge without who", "POST", "/api/v1/alerts/nope/acknowledge", `{"acknowledgmentNotes":"x"}`, 400, "acknowledgedBy"},
		{"resolve without who", "POST", "/api/v1/alerts/nope/resolve", `{}`, 400, "resolvedBy"},
		{"bad alert filter", "GET", "/api/v1/alerts?status=ASLEEP&severity=LOUD&startDate=yesterday&sortBy=colour&sortDirection=UP&size=0", "", 400, "sortDirection"},
	}
	for _, c := range cases {
		var body []byte
		if c.body != "" {
			body = []byte(c.body)
		}
		code, b := do(t, c.method, s.url(c.path), "application/json", body)
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil || m["status"] != "error" || m["message"] == "" {
			t.Errorf("%s: %d, body %q is not the error JSON", c.name, code, b)
			continue
		}
		if code != c.code {
			t.Errorf("%s: %d %s, want %d", c.name, code, b, c.code)
		}
		if errs, _ := m["errors"].(map[string]any); c.field != "" && errs[c.field] == nil {
			t.Errorf("%s: errors %v lack %q", c.name, m["errors"], c.field)
		}
	}
	for path, allow := range map[string]string{"/api/v1/rules": "POST", "/api/v1/rules/" + id: "DELETE", "/api/v1/alerts": "GET"} {
		req, _ := http.NewRequest(http.MethodPatch, s.url(path), nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || !strings.Contains(resp.Header.Get("Allow"), allow) {
			t.Errorf("PATCH %s: %d, Allow %q", path, resp.StatusCode, resp.Header.Get("Allow"))
		}
	}
	// The views.
	code, upd := send(t, http.MethodPut, s.url("/api/v1/rules/"+id), `{"description":"p95 too high","priority":7}`)
	if code != http.StatusOK || upd["description"] != "p95 too high" || upd["version"] != 2.0 {
		t.Fatalf("update: %d %v", code, upd)
	}
	for path, n := range map[string]int{"/api/v1/rules/search?q=P95": 1, "/api/v1/rules/status/draft": 1, "/api/v1/rules/type/THRESHOLD": 1,
		"/api/v1/rules/active": 0, "/api/v1/rules": 1} {
		code, b := do(t, http.MethodGet, s.url(path), "", nil)
		var list []any
		if err := json.Unmarshal(b, &list); code != 200 || err != nil || len(list) != n {
			t.Errorf("GET %s: %d %s, want %d rules", path, code, b, n)
		}
	}
	if code, st := getJSON(t, s.url("/api/v1/rules/statistics")); code != 200 || st["totalRules"] != 1.0 || st["activeRules"] != 0.0 {
		t.Errorf("statistics: %d %v", code, st)
	}
	if code, res := postJSON(t, s.url("/api/v1/rules/test/"+id), ``); code != 200 || res["success"] != true {
		t.Errorf("test stored rule: %d %v", code, res)
	}
	if code, _ := do(t, http.MethodDelete, s.url("/api/v1/rules/"+id), "", nil); code != http.StatusNoContent {
		t.Fatalf("delete: %d", code)
	}
	if code, _ := getJSON(t, s.url("/api/v1/rules/"+id)); code != http.StatusNotFound {
		t.Fatalf("get after delete: %d", code)
	}
	// Rule records are not events.
	if _, evs := getJSON(t, s.url("/api/v1/events")); len(evs["events"].([]any)) != 0 {
		t.Fatalf("events after rule changes: %v", evs)
	}
}
