package transport

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/eventara/eventara/actors"
	"github.com/eventara/eventara/protocol/event"
	"github.com/eventara/eventara/telemetry"
)

const (
	// maxEventBody bounds POST /api/v1/events.
	maxEventBody = 1 << 20
	// maxBatchBody bounds POST /api/v1/events/batch.
	maxBatchBody = 10 << 20
	// maxPageSize bounds GET /api/v1/events?size=.
	maxPageSize = 100
	// ingestTimeout bounds how long a request waits for the journal.
	ingestTimeout = 30 * time.Second
	// diskFullRetryAfter is the Retry-After of a 503 for a full disk, in
	// seconds.
	diskFullRetryAfter = "10"
	// journalFailedRetryAfter is the Retry-After of a 503 from a failed
	// journal, which takes writes again only after a restart.
	journalFailedRetryAfter = "60"
)

type acceptedBody struct {
	EventID    string `json:"eventId"`
	EventType  string `json:"eventType"`
	Status     string `json:"status"`
	ReceivedAt string `json:"receivedAt"`
}

type batchBody struct {
	Accepted int             `json:"accepted"`
	EventIDs []string        `json:"eventIds"`
	Rejected []rejectedEvent `json:"rejected"`
}

type rejectedEvent struct {
	Index  int               `json:"index"`
	Errors map[string]string `json:"errors"`
}

type pageBody struct {
	Events  []*event.Event `json:"events"`
	Page    int            `json:"page"`
	Size    int            `json:"size"`
	HasMore bool           `json:"hasMore"`
}

// timeFormat is how the REST API writes instants.
const timeFormat = "2006-01-02T15:04:05.000Z07:00"

type eventsAPI struct {
	sys   System
	build telemetry.BuildInfo
}

// readBody checks the content type and reads at most limit bytes, writing
// the error answer (415, 413, 400) itself when it fails.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, bool) {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json, got "+strconv.Quote(ct), nil)
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "request body larger than "+strconv.FormatInt(limit, 10)+" bytes", nil)
			return nil, false
		}
		writeError(w, http.StatusBadRequest, "could not read request body", map[string]string{"body": err.Error()})
		return nil, false
	}
	return body, true
}

func (a *eventsAPI) post(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r, maxEventBody)
	if !ok {
		return
	}
	ev, ferrs := event.Decode(body)
	if len(ferrs) > 0 {
		writeError(w, http.StatusBadRequest, "invalid event", ferrs)
		return
	}
	stamped, ok := a.ingest(w, r, []event.Event{ev}, body)
	if !ok {
		return
	}
	e := &stamped[0]
	writeJSON(w, http.StatusAccepted, acceptedBody{
		EventID: e.ID.String(), EventType: e.Type, Status: "accepted",
		ReceivedAt: e.ReceivedAt.UTC().Format(timeFormat),
	})
}

func (a *eventsAPI) postBatch(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r, maxBatchBody)
	if !ok {
		return
	}
	items, err := event.DecodeBatch(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid batch: "+err.Error(), map[string]string{"body": err.Error()})
		return
	}
	if len(items) == 0 {
		writeError(w, http.StatusBadRequest, "empty batch", map[string]string{"body": "no events"})
		return
	}
	res := batchBody{EventIDs: []string{}, Rejected: []rejectedEvent{}}
	valid := make([]event.Event, 0, len(items))
	for i := range items {
		if len(items[i].Errors) > 0 {
			res.Rejected = append(res.Rejected, rejectedEvent{Index: i, Errors: items[i].Errors})
			continue
		}
		valid = append(valid, items[i].Event)
	}
	if len(valid) == 0 {
		writeJSON(w, http.StatusBadRequest, struct {
			errorBody
			Rejected []rejectedEvent `json:"rejected"`
		}{errorBody{Status: "error", Message: "no valid event in batch"}, res.Rejected})
		return
	}
	stamped, ok := a.ingest(w, r, valid, body)
	if !ok {
		return
	}
	res.Accepted = len(stamped)
	res.EventIDs = make([]string, len(stamped))
	for i := range stamped {
		res.EventIDs[i] = stamped[i].ID.String()
	}
	writeJSON(w, http.StatusAccepted, res)
}

// ingest hands events to the ingest actor and waits until they are durable.
// body is the request's, for the fingerprint of an Idempotency-Key; a
// retry answered from the first request says so in Idempotent-Replayed.
func (a *eventsAPI) ingest(w http.ResponseWriter, r *http.Request, evs []event.Event, body []byte) ([]event.Event, bool) {
	key, kerrs := ingestKey(r, body)
	if kerrs != nil {
		writeError(w, http.StatusBadRequest, "invalid Idempotency-Key header", kerrs)
		return nil, false
	}
	ctx, cancel := context.WithTimeout(r.Context(), ingestTimeout)
	defer cancel()
	var stamped []event.Event
	var replayed bool
	var err error
	if key != nil {
		stamped, replayed, err = a.sys.IngestKeyed(ctx, evs, *key)
	} else {
		stamped, err = a.sys.Ingest(ctx, evs)
	}
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	if err != nil {
		w.Header().Set("Retry-After", "1")
		var full *actors.DiskFullError
		var failed *actors.FailedError
		var reused *actors.KeyReusedError
		switch {
		case errors.As(err, &reused):
			w.Header().Del("Retry-After")
			writeError(w, http.StatusUnprocessableEntity, reused.Error(), map[string]string{"Idempotency-Key": "used before with a different request"})
		case errors.As(err, &full):
			// Space comes back only when someone frees it: a client that
			// retries every second gains nothing.
			w.Header().Set("Retry-After", diskFullRetryAfter)
			writeError(w, http.StatusServiceUnavailable, full.Error(), nil)
		case errors.As(err, &failed):
			w.Header().Set("Retry-After", journalFailedRetryAfter)
			msg := failed.Error()
			if failed.InFlight {
				msg += "; these events were not acknowledged and may or may not have been stored"
			}
			writeError(w, http.StatusServiceUnavailable, msg, nil)
		case errors.Is(err, actors.ErrNoQuorum):
			w.Header().Set("Retry-After", clusterRetryAfter)
			writeError(w, http.StatusServiceUnavailable, clusterUnavailableMessage, nil)
		case errors.Is(err, actors.ErrOverloaded):
			writeError(w, http.StatusServiceUnavailable, "ingest queue full, retry later", nil)
		case errors.Is(err, actors.ErrStopped):
			writeError(w, http.StatusServiceUnavailable, "shutting down", nil)
		case errors.Is(err, actors.ErrOutcomeUnknown), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
			// The group may have been synced after all: do not say "not stored".
			w.Header().Del("Retry-After")
			writeError(w, http.StatusGatewayTimeout, "no answer from the journal in time: the events may or may not have been stored", nil)
		default:
			writeError(w, http.StatusServiceUnavailable, "events not stored: "+err.Error(), nil)
		}
		return nil, false
	}
	return stamped, true
}

// pageParams reads ?page=&size= (defaults 0 and 20, size at most 100).
func pageParams(r *http.Request) (page, size int, errs map[string]string) {
	page, size = 0, 20
	q := r.URL.Query()
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 1_000_000 {
			errs = map[string]string{"page": "must be a whole number from 0"}
		}
		page = n
	}
	if v := q.Get("size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageSize {
			if errs == nil {
				errs = map[string]string{}
			}
			errs["size"] = "must be a whole number from 1 to " + strconv.Itoa(maxPageSize)
		}
		size = n
	}
	return page, size, errs
}

func (a *eventsAPI) list(w http.ResponseWriter, r *http.Request) {
	a.page(w, r, func(page, size int) ([]event.Event, bool, error) { return a.sys.ListEvents(page, size) })
}

func (a *eventsAPI) listByType(w http.ResponseWriter, r *http.Request) {
	t := r.PathValue("eventType")
	a.page(w, r, func(page, size int) ([]event.Event, bool, error) { return a.sys.ListEventsByType(t, page, size) })
}

func (a *eventsAPI) page(w http.ResponseWriter, r *http.Request, list func(page, size int) ([]event.Event, bool, error)) {
	page, size, errs := pageParams(r)
	if errs != nil {
		writeError(w, http.StatusBadRequest, "invalid paging parameters", errs)
		return
	}
	evs, more, err := list(page, size)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "journal read failed: "+err.Error(), nil)
		return
	}
	body := pageBody{Events: make([]*event.Event, len(evs)), Page: page, Size: size, HasMore: more}
	for i := range evs {
		body.Events[i] = &evs[i]
	}
	writeJSON(w, http.StatusOK, body)
}

func (a *eventsAPI) get(w http.ResponseWriter, r *http.Request) {
	raw := r.PathValue("eventId")
	id, err := event.ParseID(raw)
	if err != nil {
		writeError(w, http.StatusNotFound, "no event "+strconv.Quote(raw), nil)
		return
	}
	e, err := a.sys.GetEvent(id)
	if errors.Is(err, actors.ErrNotFound) {
		writeError(w, http.StatusNotFound, "no event "+strconv.Quote(raw), nil)
		return
	}
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "journal read failed: "+err.Error(), nil)
		return
	}
	writeJSON(w, http.StatusOK, &e)
}

type healthBody struct {
	Status         string               `json:"status"`
	Build          *telemetry.BuildInfo `json:"build,omitempty"`
	Timestamp      string               `json:"timestamp"`
	Journal        string               `json:"journal"`
	Reason         string               `json:"reason,omitempty"`
	JournalError   string               `json:"journalError,omitempty"`
	UptimeSeconds  int64                `json:"uptimeSeconds"`
	LastSnapshot   string               `json:"lastSnapshot,omitempty"`
	LastCheckpoint string               `json:"lastCheckpoint,omitempty"`
	// DiskFreeBytes and DiskFreeLimitBytes are the data directory's free
	// space and the floor below which ingestion is refused (0: no floor);
	// absent when the free space cannot be measured.
	DiskFreeBytes      *uint64 `json:"diskFreeBytes,omitempty"`
	DiskFreeLimitBytes *uint64 `json:"diskFreeLimitBytes,omitempty"`
	// Cluster is the node's cluster state (cluster mode only).
	Cluster *clusterJSON `json:"cluster,omitempty"`
}

func (a *eventsAPI) health(w http.ResponseWriter, r *http.Request) {
	h := a.sys.Health()
	b := healthBody{Status: "UP", Timestamp: strconv.FormatInt(time.Now().UnixMilli(), 10), Journal: "writable",
		UptimeSeconds: int64(h.Uptime / time.Second)}
	if a.build.Version != "" {
		b.Build = &a.build
	}
	if !h.LastSnapshot.IsZero() {
		b.LastSnapshot = h.LastSnapshot.UTC().Format(timeFormat)
	}
	if !h.LastCheckpoint.IsZero() {
		b.LastCheckpoint = h.LastCheckpoint.UTC().Format(timeFormat)
	}
	status := http.StatusOK
	if !h.Up {
		status, b.Status, b.Reason = http.StatusServiceUnavailable, "DOWN", h.Reason
	}
	if h.JournalError != "" {
		b.Journal, b.JournalError = "failing", h.JournalError
	}
	if h.DiskMeasured {
		b.DiskFreeBytes, b.DiskFreeLimitBytes = &h.DiskFreeBytes, &h.DiskLimitBytes
	}
	if h.DiskFull {
		b.Journal = "full"
	}
	if h.Cluster != nil {
		b.Cluster = clusterView(h.Cluster)
	}
	writeJSON(w, status, b)
}
