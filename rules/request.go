package rules

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits on a rule's own fields, in characters.
const (
	MaxRuleNameLen        = 200
	MaxDescriptionLen     = 2000
	MaxCreatedByLen       = 200
	MaxChannels           = 20
	MaxChannelNameLen     = 100
	MaxTemplateLen        = 2000
	MaxPriority           = 1000
	MaxSuppressionMinutes = 7 * 24 * 60
	MaxAlertsPerHourLimit = 3600
	// MaxRequestBytes bounds a rule request body.
	MaxRequestBytes = 64 << 10
)

// CreateRuleRequest is the body of POST /api/v1/rules.
type CreateRuleRequest struct {
	Name                     string              `json:"name"`
	Description              string              `json:"description"`
	RuleType                 RuleType            `json:"ruleType"`
	RuleConfig               json.RawMessage     `json:"ruleConfig"`
	Severity                 Severity            `json:"severity"`
	Priority                 *int                `json:"priority"`
	NotificationChannels     []string            `json:"notificationChannels"`
	NotificationConfig       *NotificationConfig `json:"notificationConfig"`
	SuppressionWindowMinutes *int                `json:"suppressionWindowMinutes"`
	MaxAlertsPerHour         *int                `json:"maxAlertsPerHour"`
	CreatedBy                string              `json:"createdBy"`
}

// UpdateRuleRequest is the body of PUT /api/v1/rules/{id}: a missing or
// null field leaves the rule's unchanged.
type UpdateRuleRequest struct {
	Name                     *string             `json:"name"`
	Description              *string             `json:"description"`
	RuleType                 *RuleType           `json:"ruleType"`
	RuleConfig               json.RawMessage     `json:"ruleConfig"`
	Severity                 *Severity           `json:"severity"`
	Priority                 *int                `json:"priority"`
	NotificationChannels     []string            `json:"notificationChannels"`
	NotificationConfig       *NotificationConfig `json:"notificationConfig"`
	SuppressionWindowMinutes *int                `json:"suppressionWindowMinutes"`
	MaxAlertsPerHour         *int                `json:"maxAlertsPerHour"`
}

// TestRuleRequest is the body of POST /api/v1/rules/test.
type TestRuleRequest struct {
	RuleType   RuleType        `json:"ruleType"`
	RuleConfig json.RawMessage `json:"ruleConfig"`
	Severity   Severity        `json:"severity"`
	Priority   *int            `json:"priority"`
	Name       string          `json:"name"`
}

// TestResult is the answer of a rule test: the original's RuleTestResult,
// with Description (how the rule is evaluated) where it had generatedDrl.
type TestResult struct {
	Success     bool     `json:"success"`
	Message     string   `json:"message"`
	Description string   `json:"description"`
	Errors      []string `json:"errors"`
	Warnings    []string `json:"warnings"`
}

// DecodeCreate decodes a create request strictly: malformed JSON, a body
// that is not one object, an unknown field or a field of the wrong JSON
// type is a field error ("body" or the field's name). It does not validate
// values: NewRule does.
func DecodeCreate(body []byte) (*CreateRuleRequest, error) {
	var r CreateRuleRequest
	if err := decodeStrict(body, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// DecodeUpdate decodes an update request as DecodeCreate does.
func DecodeUpdate(body []byte) (*UpdateRuleRequest, error) {
	var r UpdateRuleRequest
	if err := decodeStrict(body, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// DecodeTest decodes a test request as DecodeCreate does.
func DecodeTest(body []byte) (*TestRuleRequest, error) {
	var r TestRuleRequest
	if err := decodeStrict(body, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

func decodeStrict(body []byte, v any) error {
	bad := func(field, msg string) error { return &ValidationError{Fields: FieldErrors{field: msg}} }
	body = bytes.TrimSpace(body)
	switch {
	case len(body) == 0:
		return bad(BodyField, "empty body: expected a JSON object")
	case len(body) > MaxRequestBytes:
		return bad(BodyField, fmt.Sprintf("body larger than %d bytes", MaxRequestBytes))
	case body[0] != '{':
		return bad(BodyField, "must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te) && te.Field != "":
			return bad(te.Field, "must be a JSON "+jsonKind(te.Type.Kind().String()))
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			name, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
			return bad(clip(name), "unknown field")
		}
		return bad(BodyField, "malformed JSON: "+strings.TrimPrefix(err.Error(), "json: "))
	}
	if _, err := dec.Token(); err != io.EOF {
		return bad(BodyField, "unexpected data after the JSON object")
	}
	return nil
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "int", "int64", "float64":
		return "number"
	case "slice":
		return "array"
	case "struct", "map", "ptr":
		return "object"
	}
	return goKind
}

// NewRule validates req and returns the new rule: status DRAFT, version 1,
// the defaults applied, enum names upper-cased (they are accepted in any
// case). id and now are the caller's (a ULID, the tick or request time).
// The error is a *ValidationError. Unique names are the registry's to check.
func NewRule(req *CreateRuleRequest, id string, now time.Time) (*Rule, error) {
	var fe FieldErrors
	r := &Rule{
		ID: id, Status: StatusDraft, Version: 1, CreatedAt: now, UpdatedAt: now,
		SuppressionWindowMinutes: DefaultSuppressionWindowMinutes, MaxAlertsPerHour: DefaultMaxAlertsPerHour,
		NotificationChannels: []string{},
	}
	r.Name = checkName(req.Name, &fe)
	r.Description = checkText("description", req.Description, MaxDescriptionLen, &fe)
	r.CreatedBy = checkText("createdBy", req.CreatedBy, MaxCreatedByLen, &fe)
	r.RuleType = checkType(req.RuleType, &fe)
	r.Severity = checkSeverity(req.Severity, &fe)
	r.Config, r.RuleConfig = checkConfig(req.RuleConfig, &fe)
	r.applyOptional(req.Priority, req.NotificationChannels, req.NotificationConfig, req.SuppressionWindowMinutes, req.MaxAlertsPerHour, &fe)
	if err := asError(fe); err != nil {
		return nil, err
	}
	return r, nil
}

// Update validates req and returns r updated (r is not changed). A change
// of name, severity, priority or ruleConfig is a new version, as in the
// original. The error is a *ValidationError.
func (r *Rule) Update(req *UpdateRuleRequest, now time.Time) (*Rule, error) {
	var fe FieldErrors
	n := r.Clone()
	changed := false
	if req.Name != nil {
		if name := checkName(*req.Name, &fe); name != n.Name {
			n.Name, changed = name, true
		}
	}
	if req.Description != nil {
		n.Description = checkText("description", *req.Description, MaxDescriptionLen, &fe)
	}
	if req.RuleType != nil {
		n.RuleType = checkType(*req.RuleType, &fe)
	}
	if req.Severity != nil {
		if s := checkSeverity(*req.Severity, &fe); s != n.Severity {
			n.Severity, changed = s, true
		}
	}
	if len(req.RuleConfig) > 0 && string(req.RuleConfig) != "null" {
		cfg, raw := checkConfig(req.RuleConfig, &fe)
		if !bytes.Equal(raw, n.RuleConfig) {
			n.Config, n.RuleConfig, changed = cfg, raw, true
		}
	}
	if req.Priority != nil && *req.Priority != n.Priority {
		changed = true
	}
	n.applyOptional(req.Priority, req.NotificationChannels, req.NotificationConfig, req.SuppressionWindowMinutes, req.MaxAlertsPerHour, &fe)
	if err := asError(fe); err != nil {
		return nil, err
	}
	n.UpdatedAt = now
	if changed {
		n.Version++
	}
	return n, nil
}

// WithStatus returns r with status s (enable: ACTIVE, disable: INACTIVE,
// archive: ARCHIVED). Any status may follow any other.
func (r *Rule) WithStatus(s Status, now time.Time) *Rule {
	n := r.Clone()
	n.Status, n.UpdatedAt = s, now
	return n
}

// TestRule validates a test request. An invalid one is an error (a
// *ValidationError, answered 400 as the original did); a valid one gives
// a successful TestResult describing the evaluation, with warnings about
// when the rule can first fire.
func TestRule(req *TestRuleRequest) (TestResult, error) {
	var fe FieldErrors
	if req.Name != "" {
		checkName(req.Name, &fe)
	}
	checkType(req.RuleType, &fe)
	checkSeverity(req.Severity, &fe)
	cfg, _ := checkConfig(req.RuleConfig, &fe)
	if req.Priority != nil && (*req.Priority < 0 || *req.Priority > MaxPriority) {
		fe.Add("priority", fmt.Sprintf("priority must be from 0 to %d", MaxPriority))
	}
	if err := asError(fe); err != nil {
		return TestResult{}, err
	}
	return TestResult{
		Success:     true,
		Message:     "Rule is valid and ready to execute",
		Description: cfg.Describe(),
		Errors:      []string{},
		Warnings:    Warnings(cfg),
	}, nil
}

// Warnings says what a valid config's author may not expect: how long
// after a start the rule needs before it can fire, and sampling.
func Warnings(c *Config) []string {
	out := []string{}
	e := NewEvaluator(c)
	var need time.Duration
	for _, te := range e.terms {
		if te.s.hist != nil {
			need = max(need, time.Duration(te.s.hist.span))
			if step := time.Duration(te.s.hist.step); step > time.Second {
				out = append(out, fmt.Sprintf("history is sampled every %s, so the window may stretch by that much", dur(step)))
			}
		}
		if te.t.Metric == P95Latency && te.t.Window > 0 || te.t.Metric == LatencyChange {
			out = append(out, "reads the window's p95 latency, which needs the window views with each snapshot")
		}
	}
	if need > 0 {
		out = append(out, fmt.Sprintf("needs %s of history after a start or a metrics reset before it can fire", dur(need)))
	}
	return slices.Compact(out)
}

func (r *Rule) applyOptional(priority *int, channels []string, nc *NotificationConfig, suppression, maxPerHour *int, fe *FieldErrors) {
	if priority != nil {
		if *priority < 0 || *priority > MaxPriority {
			fe.Add("priority", fmt.Sprintf("priority must be from 0 to %d", MaxPriority))
		}
		r.Priority = *priority
	}
	if channels != nil {
		r.NotificationChannels = checkChannels(channels, fe)
	}
	if nc != nil {
		if utf8.RuneCountInString(nc.MessageTemplate) > MaxTemplateLen || !utf8.ValidString(nc.MessageTemplate) {
			fe.Add("notificationConfig.messageTemplate", fmt.Sprintf("messageTemplate must be valid text of at most %d characters", MaxTemplateLen))
		}
		c := *nc
		r.NotificationConfig = &c
	}
	if suppression != nil {
		if *suppression < 0 || *suppression > MaxSuppressionMinutes {
			fe.Add("suppressionWindowMinutes", fmt.Sprintf("suppressionWindowMinutes must be from 0 to %d", MaxSuppressionMinutes))
		}
		r.SuppressionWindowMinutes = *suppression
	}
	if maxPerHour != nil {
		if *maxPerHour < 1 || *maxPerHour > MaxAlertsPerHourLimit {
			fe.Add("maxAlertsPerHour", fmt.Sprintf("maxAlertsPerHour must be from 1 to %d", MaxAlertsPerHourLimit))
		}
		r.MaxAlertsPerHour = *maxPerHour
	}
}

func checkName(name string, fe *FieldErrors) string {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		fe.Add("name", "Rule name is required")
	case !utf8.ValidString(name) || utf8.RuneCountInString(name) > MaxRuleNameLen:
		fe.Add("name", fmt.Sprintf("name must be valid text of at most %d characters", MaxRuleNameLen))
	}
	return name
}

func checkText(field, s string, maxLen int, fe *FieldErrors) string {
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxLen {
		fe.Add(field, fmt.Sprintf("%s must be valid text of at most %d characters", field, maxLen))
	}
	return s
}

func checkType(t RuleType, fe *FieldErrors) RuleType {
	t = RuleType(strings.ToUpper(strings.TrimSpace(string(t))))
	switch t {
	case "":
		fe.Add("ruleType", "Rule type is required")
	case TypeThreshold:
	case TypePattern, TypeAnomaly, TypeCEP:
		fe.Add("ruleType", string(t)+" rules are not evaluated: use THRESHOLD (threshold, rate-of-change, "+
			"ratio, composite and absence rules are THRESHOLD rules; ruleConfig says which)")
	default:
		fe.Add("ruleType", "Invalid rule type: "+clip(string(t))+" (THRESHOLD)")
	}
	return t
}

func checkSeverity(s Severity, fe *FieldErrors) Severity {
	s = Severity(strings.ToUpper(strings.TrimSpace(string(s))))
	switch {
	case s == "":
		fe.Add("severity", "Severity is required")
	case !s.Valid():
		fe.Add("severity", "Invalid severity: "+clip(string(s))+" (INFO, WARNING or CRITICAL)")
	}
	return s
}

// checkConfig parses ruleConfig and returns it with its compact JSON.
func checkConfig(raw json.RawMessage, fe *FieldErrors) (*Config, json.RawMessage) {
	cfg, errs := ParseConfig(raw)
	for k, v := range errs {
		fe.Add(k, v)
	}
	if cfg == nil {
		return nil, nil
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		fe.Add(cfgField, "must be a JSON object") // cannot happen: ParseConfig decoded it
		return nil, nil
	}
	return cfg, b.Bytes()
}

func checkChannels(list []string, fe *FieldErrors) []string {
	if len(list) > MaxChannels {
		fe.Add("notificationChannels", fmt.Sprintf("at most %d channels", MaxChannels))
		return nil
	}
	out := make([]string, 0, len(list))
	for _, c := range list {
		c = strings.TrimSpace(c)
		if c == "" || !utf8.ValidString(c) || utf8.RuneCountInString(c) > MaxChannelNameLen {
			fe.Add("notificationChannels", fmt.Sprintf("channel names must be non-blank, at most %d characters", MaxChannelNameLen))
			return nil
		}
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// RenderMessage fills a notificationConfig.messageTemplate with the alert:
// {ruleName}, {severity}, {thresholdValue}, {actualValue} (2 decimals) and
// {triggeredAt} (RFC 3339, UTC; empty before firing). An empty template
// gives the original's default text.
func RenderMessage(template string, a *Alert) string {
	if template == "" {
		template = "Alert: {ruleName} - Threshold: {thresholdValue}, Actual: {actualValue}"
	}
	at := ""
	if a.TriggeredAt != nil {
		at = a.TriggeredAt.UTC().Format(time.RFC3339)
	}
	return strings.NewReplacer(
		"{ruleName}", a.RuleName,
		"{severity}", string(a.Severity),
		"{thresholdValue}", strconv.FormatFloat(a.ThresholdValue, 'f', 2, 64),
		"{actualValue}", strconv.FormatFloat(a.ActualValue, 'f', 2, 64),
		"{triggeredAt}", at,
	).Replace(template)
}
