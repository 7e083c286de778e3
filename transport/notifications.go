package transport

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/eventara/eventara/actors"
	"github.com/eventara/eventara/notify"
)

// Bounds of the delivery log queries.
const (
	maxLogHours    = 24 * 365
	maxFailedLimit = 1000
)

// notificationsAPI serves /api/v1/notifications: the original Eventara's
// NotificationChannelController and NotificationLogController paths and
// shapes, with channels always answered masked, this repository's error
// answers (400 with field errors, 404, 409 with a JSON body) and a
// delivery log whose filters all work.
type notificationsAPI struct {
	sys System
}

// notificationRoutes are the notification channel and delivery log
// endpoints.
func notificationRoutes(sys System) []route {
	a := &notificationsAPI{sys: sys}
	return []route{
		{"/api/v1/notifications/channels", methods{http.MethodGet: a.list, http.MethodPost: a.create}},
		{"/api/v1/notifications/channels/stats", methods{http.MethodGet: a.channelStats}},
		{"/api/v1/notifications/channels/{id}", methods{http.MethodGet: a.get, http.MethodPut: a.update, http.MethodDelete: a.delete}},
		{"/api/v1/notifications/channels/{id}/test", methods{http.MethodPost: a.test}},
		{"/api/v1/notifications/logs", methods{http.MethodGet: a.logs}},
		{"/api/v1/notifications/logs/stats", methods{http.MethodGet: a.logStats}},
		{"/api/v1/notifications/logs/failed", methods{http.MethodGet: a.failed}},
		{"/api/v1/notifications/logs/alert/{alertId}", methods{http.MethodGet: a.byAlert}},
		{"/api/v1/notifications/logs/channel/{channelId}", methods{http.MethodGet: a.byChannel}},
		{"/api/v1/notifications/logs/{id}", methods{http.MethodGet: a.logEntry}},
	}
}

// writeChannelError answers a failed channel request.
func writeChannelError(w http.ResponseWriter, id string, err error) {
	var invalid *notify.ValidationError
	var taken *actors.NameTakenChannelError
	switch {
	case errors.As(err, &invalid):
		writeError(w, http.StatusBadRequest, "invalid request: "+invalid.Fields.String(), invalid.Fields)
	case errors.As(err, &taken):
		writeError(w, http.StatusConflict, taken.Error(), map[string]string{"name": "already used by channel " + taken.ID})
	case errors.Is(err, notify.ErrChannelNotFound):
		writeError(w, http.StatusNotFound, "Channel not found: "+strconv.Quote(id), nil)
	case errors.Is(err, actors.ErrLogEntryNotFound):
		writeError(w, http.StatusNotFound, "notification log entry not found: "+strconv.Quote(id), nil)
	case errors.Is(err, actors.ErrTooManyChannels), errors.Is(err, actors.ErrChannelChanged):
		writeError(w, http.StatusConflict, err.Error(), nil)
	case errors.Is(err, actors.ErrNotifierBusy):
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, err.Error()+"; nothing was changed, retry later", nil)
	default:
		writeChangeError(w, id, err)
	}
}

// list is GET /api/v1/notifications/channels?type=&enabled=.
func (a *notificationsAPI) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	errs := map[string]string{}
	var typ notify.ChannelType
	if v := q.Get("type"); v != "" {
		if typ = notify.ChannelType(strings.ToUpper(v)); !typ.Valid() {
			errs["type"] = "must be WEBHOOK, SLACK, DISCORD or EMAIL"
		}
	}
	var enabled *bool
	if v := q.Get("enabled"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs["enabled"] = "must be true or false"
		}
		enabled = &b
	}
	if len(errs) > 0 {
		writeError(w, http.StatusBadRequest, "invalid channel filter", errs)
		return
	}
	writeJSON(w, http.StatusOK, a.sys.Channels(func(ch *notify.Channel) bool {
		return (typ == "" || ch.ChannelType == typ) && (enabled == nil || ch.Enabled == *enabled)
	}))
}

func (a *notificationsAPI) channelStats(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, a.sys.ChannelCounts())
}

func (a *notificationsAPI) get(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	ch, err := a.sys.Channel(id)
	if err != nil {
		writeChannelError(w, id, err)
		return
	}
	writeJSON(w, http.StatusOK, ch)
}

func (a *notificationsAPI) create(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r, notify.MaxRequestBytes)
	if !ok {
		return
	}
	req, err := notify.DecodeCreate(body)
	if err != nil {
		writeChannelError(w, "", err)
		return
	}
	ctx, cancel := changeContext(r)
	defer cancel()
	ch, err := a.sys.CreateChannel(ctx, req)
	if err != nil {
		writeChannelError(w, "", err)
		return
	}
	w.Header().Set("Location", "/api/v1/notifications/channels/"+ch.ID)
	writeJSON(w, http.StatusCreated, ch)
}

func (a *notificationsAPI) update(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	body, ok := readBody(w, r, notify.MaxRequestBytes)
	if !ok {
		return
	}
	req, err := notify.DecodeUpdate(body)
	if err != nil {
		writeChannelError(w, id, err)
		return
	}
	ctx, cancel := changeContext(r)
	defer cancel()
	ch, err := a.sys.UpdateChannel(ctx, id, req)
	if err != nil {
		writeChannelError(w, id, err)
		return
	}
	writeJSON(w, http.StatusOK, ch)
}

func (a *notificationsAPI) delete(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	ctx, cancel := changeContext(r)
	defer cancel()
	if err := a.sys.DeleteChannel(ctx, id); err != nil {
		writeChannelError(w, id, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// test is POST …/channels/{id}/test: one attempt with the test message,
// not through the outbox; a failed attempt is a 200 with status FAILED
// (the original's NotificationResult).
func (a *notificationsAPI) test(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	ctx, cancel := changeContext(r)
	defer cancel()
	res, err := a.sys.TestChannel(ctx, id)
	if err != nil {
		writeChannelError(w, id, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// logPageBody is a page of the delivery log, named as Spring's Page.
type logPageBody struct {
	Content       []notify.LogEntry `json:"content"`
	Page          int               `json:"page"`
	Size          int               `json:"size"`
	TotalElements int               `json:"totalElements"`
	TotalPages    int               `json:"totalPages"`
}

// logFilter reads the delivery log query: channelId, alertId,
// channelType, status, startDate and endDate (RFC 3339, bounding
// createdAt, endDate exclusive), sortBy (createdAt) and sortDir.
func logFilter(r *http.Request) (notify.LogFilter, bool, map[string]string) {
	q := r.URL.Query()
	errs := map[string]string{}
	f := notify.LogFilter{ChannelID: q.Get("channelId"), AlertID: q.Get("alertId")}
	for _, k := range []string{"channelId", "alertId"} {
		if len(q.Get(k)) > maxFilterText {
			errs[k] = "at most " + strconv.Itoa(maxFilterText) + " characters"
		}
	}
	if v := q.Get("channelType"); v != "" {
		if f.ChannelType = notify.ChannelType(strings.ToUpper(v)); !f.ChannelType.Valid() {
			errs["channelType"] = "must be WEBHOOK, SLACK, DISCORD or EMAIL"
		}
	}
	if v := q.Get("status"); v != "" {
		f.Status = notify.LogStatus(strings.ToUpper(v))
		if !slices.Contains([]notify.LogStatus{notify.LogPending, notify.LogSent, notify.LogFailed, notify.LogRetrying}, f.Status) {
			errs["status"] = "must be PENDING, SENT, FAILED or RETRYING"
		}
	}
	for k, dst := range map[string]*time.Time{"startDate": &f.Since, "endDate": &f.Until} {
		if v := q.Get(k); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				errs[k] = "must be an RFC 3339 time, e.g. 2026-02-08T20:17:37Z"
				continue
			}
			*dst = t
		}
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		errs["endDate"] = "must be after startDate"
	}
	if v := q.Get("sortBy"); v != "" && v != "createdAt" {
		errs["sortBy"] = "must be createdAt"
	}
	asc := false
	switch strings.ToUpper(q.Get("sortDir")) {
	case "", "DESC":
	case "ASC":
		asc = true
	default:
		errs["sortDir"] = "must be ASC or DESC"
	}
	if len(errs) > 0 {
		return f, asc, errs
	}
	return f, asc, nil
}

// logs is GET /api/v1/notifications/logs: the filtered delivery log,
// newest first unless sortDir=ASC, one page (size 50 unless asked).
func (a *notificationsAPI) logs(w http.ResponseWriter, r *http.Request) {
	f, asc, errs := logFilter(r)
	page, size, perrs := pageParams(r)
	if r.URL.Query().Get("size") == "" {
		size = 50
	}
	for k, v := range perrs {
		if errs == nil {
			errs = map[string]string{}
		}
		errs[k] = v
	}
	if errs != nil {
		writeError(w, http.StatusBadRequest, "invalid notification log filter", errs)
		return
	}
	all := a.sys.NotificationLogs(f)
	if asc {
		slices.Reverse(all)
	}
	from := min(page*size, len(all))
	writeJSON(w, http.StatusOK, logPageBody{Content: all[from:min(from+size, len(all))], Page: page, Size: size,
		TotalElements: len(all), TotalPages: (len(all) + size - 1) / size})
}

func (a *notificationsAPI) logEntry(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	e, err := a.sys.NotificationLog(id)
	if err != nil {
		writeChannelError(w, id, err)
		return
	}
	writeJSON(w, http.StatusOK, &e)
}

// logStatsBody is GET …/logs/stats: the counts of the notifications
// enqueued in the last periodHours (really: the original echoed hours and
// counted everything).
type logStatsBody struct {
	notify.Stats
	PeriodHours int `json:"periodHours"`
}

func (a *notificationsAPI) logStats(w http.ResponseWriter, r *http.Request) {
	hours, ok := intParam(w, r, "hours", 24, 1, maxLogHours)
	if !ok {
		return
	}
	since := time.Now().Add(-time.Duration(hours) * time.Hour)
	writeJSON(w, http.StatusOK, logStatsBody{Stats: a.sys.NotificationStats(since), PeriodHours: hours})
}

// failed is GET …/logs/failed?limit=: the newest FAILED entries.
func (a *notificationsAPI) failed(w http.ResponseWriter, r *http.Request) {
	limit, ok := intParam(w, r, "limit", 100, 1, maxFailedLimit)
	if !ok {
		return
	}
	all := a.sys.NotificationLogs(notify.LogFilter{Status: notify.LogFailed})
	writeJSON(w, http.StatusOK, all[:min(limit, len(all))])
}

func (a *notificationsAPI) byAlert(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, a.sys.NotificationLogs(notify.LogFilter{AlertID: r.PathValue("alertId")}))
}

func (a *notificationsAPI) byChannel(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, a.sys.NotificationLogs(notify.LogFilter{ChannelID: r.PathValue("channelId")}))
}

// intParam reads an optional whole-number query parameter within
// [lo, hi], answering 400 when it is not one.
func intParam(w http.ResponseWriter, r *http.Request, name string, def, lo, hi int) (int, bool) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		msg := "must be a whole number from " + strconv.Itoa(lo) + " to " + strconv.Itoa(hi)
		writeError(w, http.StatusBadRequest, name+" "+msg, map[string]string{name: msg})
		return 0, false
	}
	return n, true
}
