package rulestore

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/eventara/eventara/rules"
)

// StatusAcknowledged is the alert filter's status for firing alerts that
// someone acknowledged (acknowledgement is a mark on a FIRING alert, not a
// status of its own).
const StatusAcknowledged rules.AlertStatus = "ACKNOWLEDGED"

// Sort keys of AlertFilter.SortBy.
var SortKeys = []string{"startsAt", "triggeredAt", "resolvedAt", "severity", "priority", "ruleName", "status"}

// AlertFilter selects and orders alerts: the original's AlertFilterRequest.
// Empty fields select everything.
type AlertFilter struct {
	// Statuses: PENDING, FIRING, RESOLVED or ACKNOWLEDGED; any of them.
	Statuses   []rules.AlertStatus
	Severities []rules.Severity
	RuleID     string
	// RuleName matches the rule name case-insensitively, as a substring.
	RuleName string
	// Start and End bound StartsAt: Start ≤ startsAt < End.
	Start, End time.Time
	// Search is a case-insensitive substring of the rule name, the message
	// or the notes.
	Search string
	// Page (from 0) and Size (≥ 1) select the page.
	Page, Size int
	// SortBy is one of SortKeys ("" is startsAt); Desc reverses it. Ties
	// are broken by alert id, so pages never overlap.
	SortBy string
	Desc   bool
}

// AlertPage is one page of alerts and how many matched in all.
type AlertPage struct {
	Alerts []rules.Alert
	Total  int
}

func (f *AlertFilter) match(a *rules.Alert) bool {
	if len(f.Statuses) > 0 && !slices.ContainsFunc(f.Statuses, func(s rules.AlertStatus) bool {
		if s == StatusAcknowledged {
			return a.Status == rules.AlertFiring && a.AcknowledgedAt != nil
		}
		return a.Status == s
	}) {
		return false
	}
	if len(f.Severities) > 0 && !slices.Contains(f.Severities, a.Severity) {
		return false
	}
	if f.RuleID != "" && a.RuleID != f.RuleID {
		return false
	}
	if f.RuleName != "" && !containsFold(a.RuleName, f.RuleName) {
		return false
	}
	if !f.Start.IsZero() && a.StartsAt.Before(f.Start) {
		return false
	}
	if !f.End.IsZero() && !a.StartsAt.Before(f.End) {
		return false
	}
	if f.Search != "" && !containsFold(a.RuleName, f.Search) && !containsFold(a.Message, f.Search) &&
		!containsFold(a.AcknowledgmentNotes, f.Search) && !containsFold(a.ResolutionNotes, f.Search) {
		return false
	}
	return true
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

var severityRank = map[rules.Severity]int{rules.SeverityInfo: 0, rules.SeverityWarning: 5, rules.SeverityCritical: 10}

func timeOf(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

func compareBy(key string) func(a, b *rules.Alert) int {
	switch key {
	case "triggeredAt":
		return func(a, b *rules.Alert) int { return timeOf(a.TriggeredAt).Compare(timeOf(b.TriggeredAt)) }
	case "resolvedAt":
		return func(a, b *rules.Alert) int { return timeOf(a.ResolvedAt).Compare(timeOf(b.ResolvedAt)) }
	case "severity":
		return func(a, b *rules.Alert) int { return cmp.Compare(severityRank[a.Severity], severityRank[b.Severity]) }
	case "priority":
		return func(a, b *rules.Alert) int { return cmp.Compare(a.Priority, b.Priority) }
	case "ruleName":
		return func(a, b *rules.Alert) int { return strings.Compare(a.RuleName, b.RuleName) }
	case "status":
		return func(a, b *rules.Alert) int { return strings.Compare(string(a.Status), string(b.Status)) }
	}
	return func(a, b *rules.Alert) int { return a.StartsAt.Compare(b.StartsAt) }
}

// Alerts returns the page of alerts f selects.
func (s *Store) Alerts(f AlertFilter) AlertPage {
	matched := make([]*rules.Alert, 0, 64)
	for _, a := range s.alerts {
		if f.match(a) {
			matched = append(matched, a)
		}
	}
	by := compareBy(f.SortBy)
	slices.SortFunc(matched, func(a, b *rules.Alert) int {
		c := by(a, b)
		if c == 0 {
			c = strings.Compare(a.ID, b.ID)
		}
		if f.Desc {
			return -c
		}
		return c
	})
	page := AlertPage{Total: len(matched), Alerts: []rules.Alert{}}
	size := max(f.Size, 1)
	from := min(f.Page*size, len(matched))
	for _, a := range matched[from:min(from+size, len(matched))] {
		page.Alerts = append(page.Alerts, *a)
	}
	return page
}

// AlertStatistics is GET /api/v1/alerts/statistics.
type AlertStatistics struct {
	TotalAlerts        int `json:"totalAlerts"`
	PendingAlerts      int `json:"pendingAlerts"`
	FiringAlerts       int `json:"firingAlerts"`
	AcknowledgedAlerts int `json:"acknowledgedAlerts"`
	ResolvedAlerts     int `json:"resolvedAlerts"`
	// BySeverity counts open (pending or firing) alerts per severity.
	BySeverity map[rules.Severity]int `json:"bySeverity"`
	// ResolvedAuto and ResolvedManual split ResolvedAlerts.
	ResolvedAuto   int `json:"resolvedAuto"`
	ResolvedManual int `json:"resolvedManual"`
}

// AlertStatistics counts the alerts kept.
func (s *Store) AlertStatistics() AlertStatistics {
	st := AlertStatistics{TotalAlerts: len(s.alerts), BySeverity: map[rules.Severity]int{
		rules.SeverityInfo: 0, rules.SeverityWarning: 0, rules.SeverityCritical: 0}}
	for _, a := range s.alerts {
		switch a.Status {
		case rules.AlertPending:
			st.PendingAlerts++
		case rules.AlertFiring:
			st.FiringAlerts++
			if a.AcknowledgedAt != nil {
				st.AcknowledgedAlerts++
			}
		case rules.AlertResolved:
			st.ResolvedAlerts++
			if a.ResolutionType == rules.ResolvedManual {
				st.ResolvedManual++
			} else {
				st.ResolvedAuto++
			}
			continue
		}
		st.BySeverity[a.Severity]++
	}
	return st
}

// RuleStatistics is GET /api/v1/rules/statistics: the original's
// totalRules and activeRules, and the other statuses.
type RuleStatistics struct {
	TotalRules    int `json:"totalRules"`
	ActiveRules   int `json:"activeRules"`
	InactiveRules int `json:"inactiveRules"`
	DraftRules    int `json:"draftRules"`
	ArchivedRules int `json:"archivedRules"`
}

// RuleStatistics counts the rules by status.
func (s *Store) RuleStatistics() RuleStatistics {
	st := RuleStatistics{TotalRules: len(s.rules)}
	for _, r := range s.rules {
		switch r.Status {
		case rules.StatusActive:
			st.ActiveRules++
		case rules.StatusInactive:
			st.InactiveRules++
		case rules.StatusDraft:
			st.DraftRules++
		case rules.StatusArchived:
			st.ArchivedRules++
		}
	}
	return st
}
