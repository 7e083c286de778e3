package transport

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/eventara/eventara/actors"
	"github.com/eventara/eventara/rules"
)

// changeTimeout bounds how long a rule or alert change waits for the rules
// actor and the journal.
const changeTimeout = 30 * time.Second

// rulesAPI serves /api/v1/rules: the original Eventara's paths and JSON
// shapes (RuleResponse, CreateRuleRequest, UpdateRuleRequest,
// RuleTestResult), with this repository's error answers: 400 with field
// errors, 404 for an unknown id, 409 for a duplicate name, 405 with Allow.
type rulesAPI struct {
	sys System
}

// rulesRoutes are the rules and alerts endpoints.
func rulesRoutes(sys System) []route {
	a := &rulesAPI{sys: sys}
	al := &alertsAPI{sys: sys}
	return []route{
		{"/api/v1/rules", methods{http.MethodGet: a.list, http.MethodPost: a.create}},
		{"/api/v1/rules/active", methods{http.MethodGet: a.active}},
		{"/api/v1/rules/statistics", methods{http.MethodGet: a.statistics}},
		{"/api/v1/rules/search", methods{http.MethodGet: a.search}},
		{"/api/v1/rules/top-triggered", methods{http.MethodGet: a.topTriggered}},
		{"/api/v1/rules/test", methods{http.MethodPost: a.test}},
		{"/api/v1/rules/test/{id}", methods{http.MethodPost: a.testStored}},
		{"/api/v1/rules/type/{type}", methods{http.MethodGet: a.byType}},
		{"/api/v1/rules/status/{status}", methods{http.MethodGet: a.byStatus}},
		{"/api/v1/rules/{id}", methods{http.MethodGet: a.get, http.MethodPut: a.update, http.MethodDelete: a.delete}},
		{"/api/v1/rules/{id}/{action}", methods{http.MethodPost: a.action}},
		{"/api/v1/alerts", methods{http.MethodGet: al.list}},
		{"/api/v1/alerts/statistics", methods{http.MethodGet: al.statistics}},
		{"/api/v1/alerts/{id}", methods{http.MethodGet: al.get}},
		{"/api/v1/alerts/{id}/acknowledge", methods{http.MethodPost: func(w http.ResponseWriter, r *http.Request) { al.handle(w, r, "acknowledge") }}},
		{"/api/v1/alerts/{id}/resolve", methods{http.MethodPost: func(w http.ResponseWriter, r *http.Request) { al.handle(w, r, "resolve") }}},
	}
}

// writeChangeError answers a failed rule or alert change.
func writeChangeError(w http.ResponseWriter, id string, err error) {
	var invalid *rules.ValidationError
	var taken *actors.NameTakenError
	var full *actors.DiskFullError
	var failed *actors.FailedError
	switch {
	case errors.As(err, &invalid):
		writeError(w, http.StatusBadRequest, "invalid request: "+invalid.Fields.String(), invalid.Fields)
	case errors.As(err, &taken):
		writeError(w, http.StatusConflict, taken.Error(), map[string]string{"name": "already used by rule " + taken.ID})
	case errors.Is(err, actors.ErrRuleNotFound):
		writeError(w, http.StatusNotFound, "rule not found: "+strconv.Quote(id), nil)
	case errors.Is(err, actors.ErrAlertNotFound):
		writeError(w, http.StatusNotFound, "alert not found: "+strconv.Quote(id), nil)
	case errors.Is(err, actors.ErrAlertResolved), errors.Is(err, rules.ErrNotFiring),
		errors.Is(err, rules.ErrAlreadyAcknowledged), errors.Is(err, actors.ErrTooManyRules):
		writeError(w, http.StatusConflict, strings.TrimPrefix(err.Error(), "rules: "), nil)
	case errors.As(err, &full):
		w.Header().Set("Retry-After", diskFullRetryAfter)
		writeError(w, http.StatusServiceUnavailable, full.Error(), nil)
	case errors.As(err, &failed):
		w.Header().Set("Retry-After", journalFailedRetryAfter)
		writeError(w, http.StatusServiceUnavailable, failed.Error(), nil)
	case errors.Is(err, actors.ErrNoQuorum):
		w.Header().Set("Retry-After", clusterRetryAfter)
		writeError(w, http.StatusServiceUnavailable, "cluster has no quorum: the change may or may not have been made; read it back or retry later", nil)
	case errors.Is(err, actors.ErrRulesBusy), errors.Is(err, actors.ErrRestarting):
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, err.Error()+"; nothing was changed, retry later", nil)
	case errors.Is(err, actors.ErrStopped):
		writeError(w, http.StatusServiceUnavailable, "shutting down", nil)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		writeError(w, http.StatusGatewayTimeout, "no answer in time: the change may or may not have been made", nil)
	default:
		writeError(w, http.StatusServiceUnavailable, "not changed: "+err.Error(), nil)
	}
}

func changeContext(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), changeTimeout)
}

func (a *rulesAPI) list(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, a.sys.Rules(nil))
}

func (a *rulesAPI) active(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, a.sys.Rules(func(r *rules.Rule) bool { return r.Status == rules.StatusActive }))
}

func (a *rulesAPI) statistics(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, a.sys.RuleStatistics())
}

func (a *rulesAPI) search(w http.ResponseWriter, r *http.Request) {
	q := strings.ToLower(strings.TrimSpace(r.URL.Query().Get("q")))
	if q == "" {
		writeError(w, http.StatusBadRequest, "q is required", map[string]string{"q": "required: text to find in rule names and descriptions"})
		return
	}
	writeJSON(w, http.StatusOK, a.sys.Rules(func(r *rules.Rule) bool {
		return strings.Contains(strings.ToLower(r.Name), q) || strings.Contains(strings.ToLower(r.Description), q)
	}))
}

// topTriggered is the original's ten most triggered rules.
func (a *rulesAPI) topTriggered(w http.ResponseWriter, _ *http.Request) {
	rs := a.sys.Rules(nil)
	slices.SortStableFunc(rs, func(x, y *rules.Rule) int { return int(y.TriggerCount - x.TriggerCount) })
	writeJSON(w, http.StatusOK, rs[:min(10, len(rs))])
}

func (a *rulesAPI) byType(w http.ResponseWriter, r *http.Request) {
	t := rules.RuleType(strings.ToUpper(r.PathValue("type")))
	switch t {
	case rules.TypeThreshold, rules.TypePattern, rules.TypeAnomaly, rules.TypeCEP:
	default:
		writeError(w, http.StatusBadRequest, "unknown rule type "+strconv.Quote(r.PathValue("type")),
			map[string]string{"type": "must be THRESHOLD, PATTERN, ANOMALY or CEP"})
		return
	}
	writeJSON(w, http.StatusOK, a.sys.Rules(func(r *rules.Rule) bool { return r.RuleType == t }))
}

func (a *rulesAPI) byStatus(w http.ResponseWriter, r *http.Request) {
	st := rules.Status(strings.ToUpper(r.PathValue("status")))
	if !st.Valid() {
		writeError(w, http.StatusBadRequest, "unknown rule status "+strconv.Quote(r.PathValue("status")),
			map[string]string{"status": "must be ACTIVE, INACTIVE, DRAFT or ARCHIVED"})
		return
	}
	writeJSON(w, http.StatusOK, a.sys.Rules(func(r *rules.Rule) bool { return r.Status == st }))
}

func (a *rulesAPI) get(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	rule, err := a.sys.Rule(id)
	if err != nil {
		writeChangeError(w, id, err)
		return
	}
	writeJSON(w, http.StatusOK, rule)
}

func (a *rulesAPI) create(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r, rules.MaxRequestBytes)
	if !ok {
		return
	}
	req, err := rules.DecodeCreate(body)
	if err != nil {
		writeChangeError(w, "", err)
		return
	}
	ctx, cancel := changeContext(r)
	defer cancel()
	rule, err := a.sys.CreateRule(ctx, req)
	if err != nil {
		writeChangeError(w, "", err)
		return
	}
	w.Header().Set("Location", "/api/v1/rules/"+rule.ID)
	writeJSON(w, http.StatusCreated, rule)
}

func (a *rulesAPI) update(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	body, ok := readBody(w, r, rules.MaxRequestBytes)
	if !ok {
		return
	}
	req, err := rules.DecodeUpdate(body)
	if err != nil {
		writeChangeError(w, id, err)
		return
	}
	ctx, cancel := changeContext(r)
	defer cancel()
	rule, err := a.sys.UpdateRule(ctx, id, req)
	if err != nil {
		writeChangeError(w, id, err)
		return
	}
	writeJSON(w, http.StatusOK, rule)
}

func (a *rulesAPI) delete(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	ctx, cancel := changeContext(r)
	defer cancel()
	if err := a.sys.DeleteRule(ctx, id); err != nil {
		writeChangeError(w, id, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// action is POST /api/v1/rules/{id}/enable, /disable and /archive.
func (a *rulesAPI) action(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	st, ok := map[string]rules.Status{"enable": rules.StatusActive, "disable": rules.StatusInactive,
		"archive": rules.StatusArchived}[r.PathValue("action")]
	if !ok {
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.URL.Path+" (POST …/enable, …/disable or …/archive)", nil)
		return
	}
	ctx, cancel := changeContext(r)
	defer cancel()
	rule, err := a.sys.SetRuleStatus(ctx, id, st)
	if err != nil {
		writeChangeError(w, id, err)
		return
	}
	writeJSON(w, http.StatusOK, rule)
}

// test is POST /api/v1/rules/test: validation and a description of how
// the rule would be evaluated, without storing it. An invalid rule is 400
// with field errors, as the original's Invalid Rule.
func (a *rulesAPI) test(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r, rules.MaxRequestBytes)
	if !ok {
		return
	}
	req, err := rules.DecodeTest(body)
	if err != nil {
		writeChangeError(w, "", err)
		return
	}
	res, err := rules.TestRule(req)
	if err != nil {
		writeChangeError(w, "", err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// testStored is POST /api/v1/rules/test/{id}: the stored rule checked by
// this version (200 with success false when its ruleConfig is no longer
// accepted).
func (a *rulesAPI) testStored(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	rule, err := a.sys.Rule(id)
	if err != nil {
		writeChangeError(w, id, err)
		return
	}
	prio := rule.Priority
	res, err := rules.TestRule(&rules.TestRuleRequest{RuleType: rule.RuleType, RuleConfig: rule.RuleConfig,
		Severity: rule.Severity, Priority: &prio, Name: rule.Name})
	var invalid *rules.ValidationError
	if errors.As(err, &invalid) {
		res = rules.TestResult{Success: false, Message: "Rule is not valid", Errors: []string{invalid.Fields.String()}, Warnings: []string{}}
	}
	writeJSON(w, http.StatusOK, res)
}
