package rules

import (
	"encoding/json"
	"fmt"
	"time"
)

// RuleType is the rule's family as the original names it. Only THRESHOLD is
// accepted: every kind this package evaluates (threshold, rate of change,
// ratio, composite, absence) is a THRESHOLD rule whose ruleConfig says which
// (Kind), as in the original. PATTERN, ANOMALY and CEP are refused at
// validation: the original stored them and never evaluated them.
type RuleType string

// Rule types.
const (
	TypeThreshold RuleType = "THRESHOLD"
	TypePattern   RuleType = "PATTERN" // refused: never evaluated
	TypeAnomaly   RuleType = "ANOMALY" // refused: never evaluated
	TypeCEP       RuleType = "CEP"     // refused: never evaluated
)

// Status is a rule's lifecycle status. Only ACTIVE rules are evaluated.
type Status string

// Rule statuses; a new rule is DRAFT.
const (
	StatusDraft    Status = "DRAFT"
	StatusActive   Status = "ACTIVE"
	StatusInactive Status = "INACTIVE"
	StatusArchived Status = "ARCHIVED"
)

// Valid reports whether s is one of the four statuses.
func (s Status) Valid() bool {
	switch s {
	case StatusDraft, StatusActive, StatusInactive, StatusArchived:
		return true
	}
	return false
}

// Severity is an alert's severity (no ERROR, unlike an event's).
type Severity string

// Severities, lowest first.
const (
	SeverityInfo     Severity = "INFO"
	SeverityWarning  Severity = "WARNING"
	SeverityCritical Severity = "CRITICAL"
)

// Valid reports whether s is one of the three severities.
func (s Severity) Valid() bool {
	return s == SeverityInfo || s == SeverityWarning || s == SeverityCritical
}

// Defaults of a rule's alerting policy (the original's).
const (
	DefaultSuppressionWindowMinutes = 30
	DefaultMaxAlertsPerHour         = 10
)

// NotificationConfig is how a rule's notifications read.
type NotificationConfig struct {
	// MessageTemplate may use {ruleName}, {severity}, {thresholdValue},
	// {actualValue} and {triggeredAt} (RenderMessage). Empty means the
	// alert's own message.
	MessageTemplate string `json:"messageTemplate,omitempty"`
}

// Rule is one alerting rule: the original's RuleResponse. It is a value the
// rules registry owns; Config is RuleConfig decoded and validated.
type Rule struct {
	ID                       string              `json:"id"`
	Name                     string              `json:"name"`
	Description              string              `json:"description"`
	RuleType                 RuleType            `json:"ruleType"`
	Status                   Status              `json:"status"`
	RuleConfig               json.RawMessage     `json:"ruleConfig"`
	Severity                 Severity            `json:"severity"`
	Priority                 int                 `json:"priority"`
	NotificationChannels     []string            `json:"notificationChannels"`
	NotificationConfig       *NotificationConfig `json:"notificationConfig"`
	SuppressionWindowMinutes int                 `json:"suppressionWindowMinutes"`
	MaxAlertsPerHour         int                 `json:"maxAlertsPerHour"`
	CreatedBy                string              `json:"createdBy"`
	CreatedAt                time.Time           `json:"createdAt"`
	UpdatedAt                time.Time           `json:"updatedAt"`
	LastTriggeredAt          *time.Time          `json:"lastTriggeredAt"`
	TriggerCount             int64               `json:"triggerCount"`
	Version                  int                 `json:"version"`

	// Config is RuleConfig decoded (ParseConfig); not part of the JSON.
	Config *Config `json:"-"`
}

// Clone returns a deep copy of r, safe to hand to another owner.
func (r *Rule) Clone() *Rule {
	c := *r
	c.RuleConfig = append(json.RawMessage(nil), r.RuleConfig...)
	c.NotificationChannels = append([]string{}, r.NotificationChannels...)
	if r.NotificationConfig != nil {
		nc := *r.NotificationConfig
		c.NotificationConfig = &nc
	}
	if r.LastTriggeredAt != nil {
		t := *r.LastTriggeredAt
		c.LastTriggeredAt = &t
	}
	return &c // Config is immutable once parsed: shared
}

// ObserveAlert updates the rule's trigger statistics from an alert record:
// a firing counts as a trigger (notified or not). The registry calls it for
// every record it journals or replays.
func (r *Rule) ObserveAlert(rec *Record) {
	if rec.Kind != RecordFiring || rec.Alert.RuleID != r.ID {
		return
	}
	r.TriggerCount++
	at := rec.At
	r.LastTriggeredAt = &at
}

// AlertStatus is an alert's state. Upper case, as the original dashboard's
// enums.
type AlertStatus string

// Alert statuses.
const (
	AlertPending  AlertStatus = "PENDING"  // the condition holds, not yet for `for`
	AlertFiring   AlertStatus = "FIRING"   // held for `for`: an incident
	AlertResolved AlertStatus = "RESOLVED" // cleared (AUTO) or resolved by someone (MANUAL)
)

// ResolutionType says how an alert was resolved.
type ResolutionType string

// Resolution types.
const (
	ResolvedAuto   ResolutionType = "AUTO"   // the condition cleared, or the rule stopped
	ResolvedManual ResolutionType = "MANUAL" // Machine.Resolve
)

// Why a firing alert was not notified (Alert.NotifySkipped).
const (
	SkipSuppressed  = "SUPPRESSED"   // within suppressionWindowMinutes of the last notified alert
	SkipRateLimited = "RATE_LIMITED" // maxAlertsPerHour notified alerts in the last hour
)

// Alert is one incident of one rule, from pending to resolved: the
// original's AlertResponse plus the lifecycle fields it lacked. Times are
// tick times (the snapshot's build time), never a wall clock read here.
type Alert struct {
	ID string `json:"id"`
	// Seq numbers the rule's alerts from 1; ID is "<ruleId>-<seq>".
	Seq         uint64      `json:"seq"`
	RuleID      string      `json:"ruleId"`
	RuleName    string      `json:"ruleName"`
	RuleVersion int         `json:"ruleVersion"`
	Severity    Severity    `json:"severity"`
	Priority    int         `json:"priority"`
	Status      AlertStatus `json:"status"`
	Message     string      `json:"message"`
	// ThresholdValue is the threshold crossed; ThresholdValue2 the upper
	// bound of a BETWEEN/NOT_BETWEEN condition, else null.
	ThresholdValue  float64  `json:"thresholdValue"`
	ThresholdValue2 *float64 `json:"thresholdValue2"`
	// ActualValue is the value when the alert started, then when it fired.
	ActualValue float64 `json:"actualValue"`

	StartsAt    time.Time  `json:"startsAt"`    // the condition first held
	TriggeredAt *time.Time `json:"triggeredAt"` // fired (the original's name); null while pending
	ResolvedAt  *time.Time `json:"resolvedAt"`

	AcknowledgedBy      string     `json:"acknowledgedBy,omitempty"`
	AcknowledgedAt      *time.Time `json:"acknowledgedAt"`
	AcknowledgmentNotes string     `json:"acknowledgmentNotes,omitempty"`

	ResolvedBy      string         `json:"resolvedBy,omitempty"`
	ResolutionNotes string         `json:"resolutionNotes,omitempty"`
	ResolutionType  ResolutionType `json:"resolutionType,omitempty"`

	// Notified says whether its firing was notified; NotifySkipped says why
	// not (SkipSuppressed, SkipRateLimited) when it fired unnotified.
	Notified      bool   `json:"notified"`
	NotifySkipped string `json:"notifySkipped,omitempty"`
}

// RecordKind names an alert transition.
type RecordKind string

// Alert transitions, each journaled as one Record.
const (
	// RecordPending: a new alert whose condition holds but not yet for `for`.
	RecordPending RecordKind = "ALERT_PENDING"
	// RecordCanceled: a pending alert whose condition cleared (or whose data
	// went missing) before `for`. It never fired: stores drop it.
	RecordCanceled RecordKind = "ALERT_CANCELED"
	// RecordFiring: the alert fired. Notify says whether to notify.
	RecordFiring RecordKind = "ALERT_FIRING"
	// RecordAcknowledged: someone acknowledged the firing alert.
	RecordAcknowledged RecordKind = "ALERT_ACKNOWLEDGED"
	// RecordResolved: the alert resolved, AUTO or MANUAL. Notify is true
	// when its firing was notified.
	RecordResolved RecordKind = "ALERT_RESOLVED"
)

// Record is one alert transition: the event to journal, and to notify when
// Notify is set. Alert is the whole alert after the transition, so a store
// applies a record by replacing the alert with that ID (dropping it on
// RecordCanceled), and Machine.Apply rebuilds the rule's state from records.
type Record struct {
	Kind   RecordKind `json:"kind"`
	At     time.Time  `json:"at"`
	Alert  Alert      `json:"alert"`
	Notify bool       `json:"notify"`
}

// DecodeRule decodes a rule as its JSON encodes it (a journaled or
// checkpointed rule) and parses its ruleConfig into Config. A ruleConfig
// this version no longer accepts is a *ValidationError: the caller decides
// whether to keep the rule inactive or drop it.
func DecodeRule(data []byte) (*Rule, error) {
	var r Rule
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("decode rule: %w", err)
	}
	cfg, fe := ParseConfig(r.RuleConfig)
	if err := asError(fe); err != nil {
		return &r, fmt.Errorf("rule %s: %w", r.ID, err)
	}
	r.Config = cfg
	return &r, nil
}
