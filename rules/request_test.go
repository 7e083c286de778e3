package rules

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

const validCreate = `{"name":"High error rate","ruleType":"threshold","severity":"critical",
	"ruleConfig":{"metricType":"ERROR_RATE", "condition":"GREATER_THAN","thresholdValue":5}}`

func fields(t *testing.T, err error) FieldErrors {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v is not a *ValidationError", err)
	}
	return ve.Fields
}

func TestNewRuleDefaults(t *testing.T) {
	t.Parallel()
	req, err := DecodeCreate([]byte(validCreate))
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRule(req, "01ABC", t0)
	if err != nil {
		t.Fatal(err)
	}
	if r.ID != "01ABC" || r.Status != StatusDraft || r.Version != 1 || r.RuleType != TypeThreshold || r.Severity != SeverityCritical ||
		r.SuppressionWindowMinutes != 30 || r.MaxAlertsPerHour != 10 || r.TriggerCount != 0 || r.LastTriggeredAt != nil ||
		!r.CreatedAt.Equal(t0) || r.Config == nil || r.Config.Kind != KindThreshold {
		t.Errorf("rule: %+v", r)
	}
	b, _ := json.Marshal(r)
	var back map[string]json.RawMessage
	_ = json.Unmarshal(b, &back)
	for _, k := range []string{"id", "name", "description", "ruleType", "status", "ruleConfig", "severity", "priority", "notificationChannels",
		"notificationConfig", "suppressionWindowMinutes", "maxAlertsPerHour", "createdBy", "createdAt", "updatedAt", "lastTriggeredAt", "triggerCount", "version"} {
		if _, ok := back[k]; !ok {
			t.Errorf("RuleResponse lacks %q: %s", k, b)
		}
	}
	if len(back) != 18 {
		t.Errorf("RuleResponse has %d keys, want 18: %s", len(back), b)
	}
	if string(back["ruleConfig"]) != `{"metricType":"ERROR_RATE","condition":"GREATER_THAN","thresholdValue":5}` || string(back["notificationChannels"]) != "[]" {
		t.Errorf("ruleConfig %s, channels %s", back["ruleConfig"], back["notificationChannels"])
	}
}

func TestNewRuleInvalid(t *testing.T) {
	t.Parallel()
	cases := []struct {
		body, field, msg string
	}{
		{`{"ruleType":"THRESHOLD","severity":"INFO","ruleConfig":{"metricType":"TOTAL_EVENTS","condition":"LESS_THAN","thresholdValue":1}}`, "name", "Rule name is required"},
		{`{"name":"a","severity":"INFO","ruleConfig":{"metricType":"TOTAL_EVENTS","condition":"LESS_THAN","thresholdValue":1}}`, "ruleType", "Rule type is required"},
		{`{"name":"a","ruleType":"PATTERN","severity":"INFO","ruleConfig":{"metricType":"TOTAL_EVENTS","condition":"LESS_THAN","thresholdValue":1}}`, "ruleType", "PATTERN rules are not evaluated"},
		{`{"name":"a","ruleType":"SQL","severity":"INFO","ruleConfig":{"metricType":"TOTAL_EVENTS","condition":"LESS_THAN","thresholdValue":1}}`, "ruleType", "Invalid rule type: SQL"},
		{`{"name":"a","ruleType":"THRESHOLD","ruleConfig":{"metricType":"TOTAL_EVENTS","condition":"LESS_THAN","thresholdValue":1}}`, "severity", "Severity is required"},
		{`{"name":"a","ruleType":"THRESHOLD","severity":"ERROR","ruleConfig":{"metricType":"TOTAL_EVENTS","condition":"LESS_THAN","thresholdValue":1}}`, "severity", "Invalid severity: ERROR"},
		{`{"name":"a","ruleType":"THRESHOLD","severity":"INFO"}`, "ruleConfig", "Rule configuration is required"},
		{`{"name":"a","ruleType":"THRESHOLD","severity":"INFO","ruleConfig":{"metricType":"X"}}`, "ruleConfig.metricType", "Invalid metric type: X"},
		{`{"name":"a","ruleType":"THRESHOLD","severity":"INFO","priority":-1,"ruleConfig":{"metricType":"TOTAL_EVENTS","condition":"LESS_THAN","thresholdValue":1}}`, "priority", "priority must be from 0"},
		{`{"name":"a","ruleType":"THRESHOLD","severity":"INFO","maxAlertsPerHour":0,"ruleConfig":{"metricType":"TOTAL_EVENTS","condition":"LESS_THAN","thresholdValue":1}}`, "maxAlertsPerHour", "from 1 to 3600"},
		{`{"name":"a","ruleType":"THRESHOLD","severity":"INFO","suppressionWindowMinutes":-1,"ruleConfig":{"metricType":"TOTAL_EVENTS","condition":"LESS_THAN","thresholdValue":1}}`, "suppressionWindowMinutes", "from 0 to 10080"},
		{`{"name":"a","ruleType":"THRESHOLD","severity":"INFO","notificationChannels":[""],"ruleConfig":{"metricType":"TOTAL_EVENTS","condition":"LESS_THAN","thresholdValue":1}}`, "notificationChannels", "non-blank"},
	}
	for _, tc := range cases {
		req, err := DecodeCreate([]byte(tc.body))
		if err != nil {
			t.Errorf("%s: decode: %v", tc.body, err)
			continue
		}
		_, err = NewRule(req, "id", t0)
		if fe := fields(t, err); !strings.Contains(fe[tc.field], tc.msg) {
			t.Errorf("%s: %s; want %s: …%s…", tc.body, fe, tc.field, tc.msg)
		}
	}
}

func TestDecodeStrict(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ body, field, msg string }{
		{``, "body", "empty body"},
		{`[]`, "body", "must be a JSON object"},
		{`{"name":"a",}`, "body", "malformed JSON"},
		{`{"name":"a"} {}`, "body", "unexpected data"},
		{`{"name":"a","colour":"red"}`, "colour", "unknown field"},
		{`{"name":5}`, "name", "must be a JSON string"},
		{`{"priority":"high"}`, "priority", "must be a JSON number"},
		{`{"notificationChannels":"ops"}`, "notificationChannels", "must be a JSON array"},
	} {
		_, err := DecodeCreate([]byte(tc.body))
		if fe := fields(t, err); !strings.Contains(fe[tc.field], tc.msg) {
			t.Errorf("%q: %s; want %s: …%s…", tc.body, fe, tc.field, tc.msg)
		}
	}
}

func TestUpdate(t *testing.T) {
	t.Parallel()
	req, _ := DecodeCreate([]byte(validCreate))
	r, err := NewRule(req, "id", t0)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		body    string
		version int
		check   func(n *Rule) bool
	}{
		{`{}`, 1, func(n *Rule) bool { return n.Name == r.Name && n.UpdatedAt.Equal(at(5)) }},
		{`{"description":"new","notificationChannels":["a","a"],"suppressionWindowMinutes":0}`, 1,
			func(n *Rule) bool {
				return n.Description == "new" && len(n.NotificationChannels) == 1 && n.SuppressionWindowMinutes == 0
			}},
		{`{"name":"renamed"}`, 2, func(n *Rule) bool { return n.Name == "renamed" }},
		{`{"severity":"warning"}`, 2, func(n *Rule) bool { return n.Severity == SeverityWarning }},
		{`{"priority":4}`, 2, func(n *Rule) bool { return n.Priority == 4 }},
		// The same config, spaced differently, is no change.
		{`{"ruleConfig":{"metricType":"ERROR_RATE","condition":"GREATER_THAN",   "thresholdValue":5}}`, 1, nil},
		{`{"ruleConfig":{"metricType":"ERROR_RATE","condition":"GREATER_THAN","thresholdValue":6}}`, 2,
			func(n *Rule) bool { return n.Config.Terms[0].Threshold == 6 }},
		{`{"ruleConfig":null,"name":null}`, 1, nil},
	} {
		u, err := DecodeUpdate([]byte(tc.body))
		if err != nil {
			t.Fatalf("%s: %v", tc.body, err)
		}
		n, err := r.Update(u, at(5))
		if err != nil || n.Version != tc.version || (tc.check != nil && !tc.check(n)) {
			t.Errorf("%s: %+v, %v; want version %d", tc.body, n, err, tc.version)
		}
	}
	if r.Description != "" || r.Version != 1 {
		t.Errorf("Update changed the original rule: %+v", r)
	}
	u, _ := DecodeUpdate([]byte(`{"ruleConfig":{"metricType":"ERROR_RATE"},"name":""}`))
	_, err = r.Update(u, at(5))
	if fe := fields(t, err); fe["name"] == "" || fe["ruleConfig.condition"] == "" {
		t.Errorf("invalid update: %s", fe)
	}
	if s := r.WithStatus(StatusActive, at(9)); s.Status != StatusActive || r.Status != StatusDraft || s.Version != 1 {
		t.Errorf("WithStatus: %+v", s)
	}
}

func TestTestRule(t *testing.T) {
	t.Parallel()
	req, err := DecodeTest([]byte(`{"ruleType":"THRESHOLD","severity":"INFO","ruleConfig":{"metricType":"ERROR_RATE","condition":"GREATER_THAN","thresholdValue":5,"timeWindowMinutes":10,"sourceFilter":["api"],"for":"2m"}}`))
	if err != nil {
		t.Fatal(err)
	}
	res, err := TestRule(req)
	if err != nil || !res.Success || res.Message != "Rule is valid and ready to execute" {
		t.Fatalf("%+v %v", res, err)
	}
	if want := "THRESHOLD: ERROR_RATE over 10m (sources: api) > 5, for 2m"; res.Description != want {
		t.Errorf("description %q, want %q", res.Description, want)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "needs 10m of history") {
		t.Errorf("warnings %q", res.Warnings)
	}
	req, _ = DecodeTest([]byte(`{"ruleType":"ANOMALY","ruleConfig":{"metricType":"ERROR_RATE"}}`))
	_, err = TestRule(req)
	if fe := fields(t, err); fe["ruleType"] == "" || fe["severity"] == "" || fe["ruleConfig.condition"] == "" {
		t.Errorf("invalid test request: %s", fe)
	}
}

func TestAlertJSON(t *testing.T) {
	t.Parallel()
	m := NewMachine(testRule(Policy{}))
	rec := m.Step(Result{At: at(0), Outcome: Holds, Value: 7, Threshold: 5})[0]
	b, _ := json.Marshal(rec)
	want := `{"kind":"ALERT_FIRING","at":"2026-11-28T14:00:00Z","alert":{"id":"r1-1","seq":1,"ruleId":"r1","ruleName":"errors","ruleVersion":3,` +
		`"severity":"CRITICAL","priority":7,"status":"FIRING","message":"","thresholdValue":5,"thresholdValue2":null,"actualValue":7,` +
		`"startsAt":"2026-11-28T14:00:00Z","triggeredAt":"2026-11-28T14:00:00Z","resolvedAt":null,"acknowledgedAt":null,"notified":true},"notify":true}`
	if string(b) != want {
		t.Errorf("record JSON\n got %s\nwant %s", b, want)
	}
}

func TestDecodeRule(t *testing.T) {
	t.Parallel()
	req, _ := DecodeCreate([]byte(validCreate))
	r, _ := NewRule(req, "id", t0)
	b, _ := json.Marshal(r)
	back, err := DecodeRule(b)
	if err != nil || back.Config == nil || back.Config.Describe() != r.Config.Describe() || !back.CreatedAt.Equal(r.CreatedAt) {
		t.Fatalf("%+v %v", back, err)
	}
	bad := strings.Replace(string(b), `"ERROR_RATE"`, `"GONE"`, 1)
	if back, err := DecodeRule([]byte(bad)); back == nil || back.Config != nil || fields(t, errors.Unwrap(err))["ruleConfig.metricType"] == "" {
		t.Errorf("stale config: %+v %v", back, err)
	}
}
