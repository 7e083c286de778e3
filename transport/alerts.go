package transport

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/eventara/eventara/rules"
	"github.com/eventara/eventara/rulestore"
)

// maxAlertBody bounds an acknowledge or resolve body; maxFilterText a text
// filter of GET /api/v1/alerts.
const (
	maxAlertBody  = 16 << 10
	maxFilterText = 200
	maxByLen      = rules.MaxCreatedByLen
	maxNotesLen   = rules.MaxDescriptionLen
)

// alertsAPI serves /api/v1/alerts: the alert list with the original's
// AlertFilterRequest fields, one alert, statistics, acknowledge and
// resolve (the original had the DTOs and no controller).
type alertsAPI struct {
	sys System
}

// alertPageBody is a page of alerts, named as Spring's Page.
type alertPageBody struct {
	Content       []rules.Alert `json:"content"`
	Page          int           `json:"page"`
	Size          int           `json:"size"`
	TotalElements int           `json:"totalElements"`
	TotalPages    int           `json:"totalPages"`
}

// alertFilter reads GET /api/v1/alerts's query: status and severity take
// one value or a comma-separated list (any case); startDate and endDate
// are RFC 3339 and bound startsAt; sortBy is one of rulestore.SortKeys;
// sortDirection ASC or DESC (default DESC); page and size as events'.
func alertFilter(r *http.Request) (rulestore.AlertFilter, map[string]string) {
	q := r.URL.Query()
	errs := map[string]string{}
	page, size, perrs := pageParams(r)
	for k, v := range perrs {
		errs[k] = v
	}
	f := rulestore.AlertFilter{Page: page, Size: size, Desc: true,
		RuleID: q.Get("ruleId"), RuleName: q.Get("ruleName"), Search: q.Get("searchTerm")}
	for _, k := range []string{"ruleId", "ruleName", "searchTerm"} {
		if len(q.Get(k)) > maxFilterText {
			errs[k] = "at most " + strconv.Itoa(maxFilterText) + " characters"
		}
	}
	for _, v := range list(q.Get("status")) {
		s := rules.AlertStatus(strings.ToUpper(v))
		switch s {
		case rules.AlertPending, rules.AlertFiring, rules.AlertResolved, rulestore.StatusAcknowledged:
			f.Statuses = append(f.Statuses, s)
		default:
			errs["status"] = "must be PENDING, FIRING, RESOLVED or ACKNOWLEDGED (a comma-separated list)"
		}
	}
	for _, v := range list(q.Get("severity")) {
		s := rules.Severity(strings.ToUpper(v))
		if !s.Valid() {
			errs["severity"] = "must be INFO, WARNING or CRITICAL (a comma-separated list)"
			continue
		}
		f.Severities = append(f.Severities, s)
	}
	for k, dst := range map[string]*time.Time{"startDate": &f.Start, "endDate": &f.End} {
		if v := q.Get(k); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				errs[k] = "must be an RFC 3339 time, e.g. 2026-02-08T20:17:37Z"
				continue
			}
			*dst = t
		}
	}
	if !f.Start.IsZero() && !f.End.IsZero() && !f.Start.Before(f.End) {
		errs["endDate"] = "must be after startDate"
	}
	if v := q.Get("sortBy"); v != "" {
		if !slices.Contains(rulestore.SortKeys, v) {
			errs["sortBy"] = "must be one of " + strings.Join(rulestore.SortKeys, ", ")
		}
		f.SortBy = v
	}
	switch strings.ToUpper(q.Get("sortDirection")) {
	case "", "DESC":
	case "ASC":
		f.Desc = false
	default:
		errs["sortDirection"] = "must be ASC or DESC"
	}
	if len(errs) > 0 {
		return f, errs
	}
	return f, nil
}

// list splits a comma-separated query value, dropping empty items.
func list(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func (a *alertsAPI) list(w http.ResponseWriter, r *http.Request) {
	f, errs := alertFilter(r)
	if errs != nil {
		writeError(w, http.StatusBadRequest, "invalid alert filter", errs)
		return
	}
	p := a.sys.Alerts(f)
	writeJSON(w, http.StatusOK, alertPageBody{Content: p.Alerts, Page: f.Page, Size: f.Size,
		TotalElements: p.Total, TotalPages: (p.Total + f.Size - 1) / f.Size})
}

func (a *alertsAPI) statistics(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, a.sys.AlertStatistics())
}

func (a *alertsAPI) get(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	al, err := a.sys.Alert(id)
	if err != nil {
		writeChangeError(w, id, err)
		return
	}
	writeJSON(w, http.StatusOK, &al)
}

// handledBody is the body of acknowledge (the original's
// AcknowledgeAlertRequest) and resolve (ResolveAlertRequest).
type handledBody struct {
	AcknowledgedBy      *string `json:"acknowledgedBy"`
	AcknowledgmentNotes string  `json:"acknowledgmentNotes"`
	ResolvedBy          *string `json:"resolvedBy"`
	ResolutionNotes     string  `json:"resolutionNotes"`
	ResolutionType      string  `json:"resolutionType"`
}

// handle is POST /api/v1/alerts/{id}/acknowledge and /resolve (action).
func (a *alertsAPI) handle(w http.ResponseWriter, r *http.Request, action string) {
	id := r.PathValue("id")
	body, ok := readBody(w, r, maxAlertBody)
	if !ok {
		return
	}
	var b handledBody
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		writeError(w, http.StatusBadRequest, "invalid body: "+err.Error(), map[string]string{"body": err.Error()})
		return
	}
	byField, notesField, by, notes := "acknowledgedBy", "acknowledgmentNotes", b.AcknowledgedBy, b.AcknowledgmentNotes
	other := b.ResolvedBy != nil || b.ResolutionNotes != "" || b.ResolutionType != ""
	if action == "resolve" {
		byField, notesField, by, notes = "resolvedBy", "resolutionNotes", b.ResolvedBy, b.ResolutionNotes
		other = b.AcknowledgedBy != nil || b.AcknowledgmentNotes != ""
	}
	errs := map[string]string{}
	switch {
	case by == nil || strings.TrimSpace(*by) == "":
		errs[byField] = "required: who " + map[string]string{"acknowledge": "acknowledges", "resolve": "resolves"}[action]
	case len(*by) > maxByLen:
		errs[byField] = "at most " + strconv.Itoa(maxByLen) + " characters"
	}
	if len(notes) > maxNotesLen {
		errs[notesField] = "at most " + strconv.Itoa(maxNotesLen) + " characters"
	}
	if other {
		errs["body"] = "fields of the other action: " + action + " takes " + byField + " and " + notesField
	}
	if action == "resolve" && b.ResolutionType != "" && !strings.EqualFold(b.ResolutionType, string(rules.ResolvedManual)) {
		errs["resolutionType"] = "only MANUAL: an alert resolved by hand"
		delete(errs, "body")
	}
	if len(errs) > 0 {
		writeError(w, http.StatusBadRequest, "invalid "+action+" request", errs)
		return
	}
	ctx, cancel := changeContext(r)
	defer cancel()
	var al rules.Alert
	var err error
	if action == "acknowledge" {
		al, err = a.sys.AcknowledgeAlert(ctx, id, strings.TrimSpace(*by), notes)
	} else {
		al, err = a.sys.ResolveAlert(ctx, id, strings.TrimSpace(*by), notes)
	}
	if err != nil {
		writeChangeError(w, id, err)
		return
	}
	writeJSON(w, http.StatusOK, &al)
}
