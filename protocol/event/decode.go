package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// Limits on an ingested event, in characters (runes) unless said otherwise.
const (
	MaxNameLen       = 100      // eventType and source
	MaxUserLen       = 200      // userId and sessionId
	MaxTags          = 64       // entries in tags
	MaxTagKeyLen     = 100      // a tag key
	MaxTagValueLen   = 1000     // a tag value
	MaxMetadataBytes = 16 << 10 // metadata, raw bytes as sent
	MaxBatch         = 10000    // events in one batch
	// MaxFieldErrors caps the field errors reported for one event, so a
	// hostile body cannot make the error response larger than itself.
	MaxFieldErrors = 32
)

// FieldErrors maps a JSON field name (eventType, tags.env, metadata, or
// "body" for malformed JSON) to what is wrong with it. A nil or empty map
// means the event is valid.
type FieldErrors map[string]string

// BodyField is the FieldErrors key for input that is not one JSON object.
const BodyField = "body"

// String lists the errors sorted by field, for logs and test failures.
func (fe FieldErrors) String() string {
	keys := make([]string, 0, len(fe))
	for k := range fe {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(k)
		b.WriteString(": ")
		b.WriteString(fe[k])
	}
	return b.String()
}

func (fe *FieldErrors) add(field, msg string) {
	if *fe == nil {
		*fe = make(FieldErrors, 2)
	}
	if len(*fe) >= MaxFieldErrors {
		return
	}
	if _, dup := (*fe)[field]; !dup {
		(*fe)[field] = msg
	}
}

// BatchItem is one element of a batch: the decoded event, or why it is invalid.
type BatchItem struct {
	Event  Event
	Errors FieldErrors
}

// Batch errors.
var (
	// ErrNotArray is returned by DecodeBatch when the body is not a JSON array.
	ErrNotArray = errors.New("event: batch body must be a JSON array")
	// ErrBatchTooLarge is returned by DecodeBatch for more than MaxBatch items.
	ErrBatchTooLarge = errors.New("event: batch holds more than 10000 events")
)

// Decode decodes and validates one event from a JSON object. Either the
// field errors are empty and the event is valid, or the event is zero. Its ID
// and ReceivedAt are zero, and so is Timestamp when the client sent none (the
// ingest actor then sets it to ReceivedAt). The event does not alias data.
func Decode(data []byte) (Event, FieldErrors) {
	if skipSpace(data) == len(data) {
		return Event{}, FieldErrors{BodyField: "empty body: expected a JSON object"}
	}
	r := getReader(data)
	defer putReader(r)
	if r.dec.PeekKind() != '{' {
		if _, err := r.dec.ReadValue(); err != nil {
			return Event{}, FieldErrors{BodyField: syntaxError(err).Error()}
		}
		if err := r.end("value"); err != nil {
			return Event{}, FieldErrors{BodyField: err.Error()}
		}
		return Event{}, FieldErrors{BodyField: "must be a JSON object"}
	}
	ev, fe, err := r.event()
	if err != nil {
		return Event{}, FieldErrors{BodyField: syntaxError(err).Error()}
	}
	if err := r.end("object"); err != nil {
		return Event{}, FieldErrors{BodyField: err.Error()}
	}
	return ev, fe
}

// DecodeBatch decodes a JSON array of up to MaxBatch events, validating each
// one on its own: an invalid element has Errors set, and an element that is
// not an object gets a "body" error. Malformed JSON anywhere, a body that is
// not an array, or too many elements is an error for the whole batch
// (ErrNotArray, ErrBatchTooLarge or a *SyntaxError).
func DecodeBatch(data []byte) ([]BatchItem, error) {
	r := getReader(data)
	defer putReader(r)
	switch r.dec.PeekKind() {
	case '[':
	case 0:
		if skipSpace(data) == len(data) {
			return nil, ErrNotArray
		}
		_, err := r.dec.ReadToken()
		return nil, syntaxError(err)
	default:
		if _, err := r.dec.ReadValue(); err != nil {
			return nil, syntaxError(err)
		}
		return nil, ErrNotArray
	}
	_, _ = r.dec.ReadToken() // '['
	items := make([]BatchItem, 0, min(len(data)/256, MaxBatch))
	for r.dec.PeekKind() != ']' {
		if len(items) == MaxBatch {
			return nil, ErrBatchTooLarge
		}
		var it BatchItem
		var err error
		if r.dec.PeekKind() == '{' {
			it.Event, it.Errors, err = r.event()
		} else {
			_, err = r.dec.ReadValue()
			it.Errors = FieldErrors{BodyField: "must be a JSON object"}
		}
		if err != nil {
			return nil, syntaxError(err)
		}
		items = append(items, it)
	}
	if _, err := r.dec.ReadToken(); err != nil { // ']'
		return nil, syntaxError(err)
	}
	if err := r.end("array"); err != nil {
		return nil, err
	}
	return items, nil
}

// Bits of the fields seen, to reject duplicates.
const (
	seenType = 1 << iota
	seenSource
	seenTimestamp
	seenUser
	seenSession
	seenSeverity
	seenTags
	seenMetadata
)

// event decodes the event object at the reader. err is malformed JSON;
// validation problems go to the field errors, and then the event is zero.
func (r *reader) event() (Event, FieldErrors, error) {
	var ev Event
	var fe FieldErrors
	var seen uint
	err := r.members(func(name []byte) error {
		var bit uint
		switch string(name) {
		case "eventType":
			bit = seenType
		case "source":
			bit = seenSource
		case "timestamp":
			bit = seenTimestamp
		case "userId":
			bit = seenUser
		case "sessionId":
			bit = seenSession
		case "severity":
			bit = seenSeverity
		case "tags":
			bit = seenTags
		case "metadata":
			bit = seenMetadata
		default:
			fe.add(fieldName(name), "unknown field")
			return r.skip()
		}
		if seen&bit != 0 {
			fe.add(string(name), "duplicate field")
		}
		seen |= bit
		if r.dec.PeekKind() == 'n' { // null means absent
			return r.skip()
		}
		switch bit {
		case seenTags:
			return r.tags(&ev, &fe)
		case seenMetadata:
			return r.metadata(&ev, &fe)
		}
		v, err := r.dec.ReadValue()
		if err != nil {
			return err
		}
		switch bit {
		case seenType:
			ev.Type = text(v, "eventType", MaxNameLen, true, &fe)
		case seenSource:
			ev.Source = text(v, "source", MaxNameLen, true, &fe)
		case seenUser:
			ev.UserID = text(v, "userId", MaxUserLen, false, &fe)
		case seenSession:
			ev.SessionID = text(v, "sessionId", MaxUserLen, false, &fe)
		case seenTimestamp:
			ev.Timestamp = timestamp(v, &fe)
		case seenSeverity:
			ev.Severity = severity(v, &fe)
		}
		return nil
	})
	if err != nil {
		return Event{}, nil, err
	}
	if ev.Type == "" {
		if _, bad := fe["eventType"]; !bad {
			fe.add("eventType", "is required")
		}
	}
	if ev.Source == "" {
		if _, bad := fe["source"]; !bad {
			fe.add("source", "is required")
		}
	}
	if len(fe) > 0 {
		return Event{}, fe, nil
	}
	if ev.Severity == 0 {
		ev.Severity = SeverityInfo
	}
	return ev, nil, nil
}

// fieldName makes a client-supplied name safe to use as a FieldErrors key.
func fieldName(name []byte) string {
	if len(name) > MaxNameLen {
		name = name[:MaxNameLen]
	}
	return string(bytes.ToValidUTF8(name, []byte("\uFFFD")))
}

// checkText validates a string's encoding and length in runes.
func checkText(s string, max int) string {
	if !utf8.ValidString(s) {
		return "must be valid UTF-8"
	}
	if len(s) > max && utf8.RuneCountInString(s) > max {
		return "must be at most " + strconv.Itoa(max) + " characters"
	}
	return ""
}

// text validates a name: a string of at most max characters, with no control
// characters (names are shown in dashboards and logs: no NUL, no line
// breaks), not blank when required.
func text(v jsontext.Value, field string, max int, required bool, fe *FieldErrors) string {
	s, ok := str(v)
	if !ok {
		fe.add(field, "must be a string")
		return ""
	}
	if msg := checkText(s, max); msg != "" {
		fe.add(field, msg)
		return ""
	}
	if hasControl(s) {
		fe.add(field, "must not contain control characters")
		return ""
	}
	if required && strings.TrimSpace(s) == "" {
		fe.add(field, "must not be blank")
		return ""
	}
	return s
}

func timestamp(v jsontext.Value, fe *FieldErrors) time.Time {
	s, ok := str(v)
	if !ok {
		fe.add("timestamp", "must be an RFC 3339 string")
		return time.Time{}
	}
	t, err := parseRFC3339(s)
	if err != nil {
		fe.add("timestamp", "must be an RFC 3339 date-time such as 2026-11-28T14:48:12Z")
		return time.Time{}
	}
	return t
}

// parseRFC3339 parses second-precision, fractional and offset forms.
func parseRFC3339(s string) (time.Time, error) {
	if len(s) < len("2006-01-02T15:04:05Z") || len(s) > 64 {
		return time.Time{}, errors.New("bad length")
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}

func severity(v jsontext.Value, fe *FieldErrors) Severity {
	if v.Kind() != '"' {
		fe.add("severity", "must be a string")
		return 0
	}
	var buf [16]byte
	sev, known := parseSeverity(unquote(buf[:0], v))
	if !known {
		fe.add("severity", "must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
	}
	return sev
}

// tags reads the tags object (or the wrong type) at the reader.
func (r *reader) tags(ev *Event, fe *FieldErrors) error {
	if r.dec.PeekKind() != '{' {
		fe.add("tags", "must be an object of strings")
		return r.skip()
	}
	n := 0
	err := r.members(func(kb []byte) error {
		n++
		v, err := r.dec.ReadValue()
		if err != nil {
			return err
		}
		key := string(kb)
		if msg := checkText(key, MaxTagKeyLen); msg != "" {
			fe.add("tags", "key "+msg)
			return nil
		}
		s, ok := str(v)
		if !ok {
			fe.add("tags."+key, "must be a string")
			return nil
		}
		if msg := checkText(s, MaxTagValueLen); msg != "" {
			fe.add("tags."+key, msg)
			return nil
		}
		if n <= MaxTags {
			if ev.Tags == nil {
				ev.Tags = make(map[string]string, 4)
			}
			ev.Tags[key] = s
		}
		return nil
	})
	if n > MaxTags {
		fe.add("tags", "must have at most "+strconv.Itoa(MaxTags)+" entries")
	}
	return err
}

// metadata reads the metadata object (or the wrong type) at the reader: any
// JSON object, kept compacted, and its latency member.
func (r *reader) metadata(ev *Event, fe *FieldErrors) error {
	if r.dec.PeekKind() != '{' {
		fe.add("metadata", "must be a JSON object")
		return r.skip()
	}
	// The object starts after the name just read, a colon and white space.
	start := int(r.dec.InputOffset())
	start += bytes.IndexByte(r.data[start:], '{')
	var latency float64
	hasLatency := false
	err := r.members(func(name []byte) error {
		v, err := r.dec.ReadValue()
		if err == nil && string(name) == "latency" {
			latency, hasLatency = parseLatency(v)
		}
		return err
	})
	if err != nil {
		return err
	}
	raw := r.data[start:r.dec.InputOffset()]
	if len(raw) > MaxMetadataBytes {
		fe.add("metadata", "must be at most "+strconv.Itoa(MaxMetadataBytes)+" bytes")
		return nil
	}
	if !utf8.Valid(raw) {
		fe.add("metadata", "must be valid UTF-8")
		return nil
	}
	meta := jsontext.Value(bytes.Clone(raw))
	if hasSpace(raw) { // else it is compact already
		_ = meta.Compact() // raw is valid JSON
	}
	ev.Metadata = json.RawMessage(meta)
	ev.MetaLatency, ev.HasMetaLatency = latency, hasLatency
	return nil
}

// parseLatency reads metadata.latency: a number or a numeric string counts,
// anything else (and NaN or ±Inf) is ignored.
func parseLatency(v jsontext.Value) (float64, bool) {
	num := string(v)
	if v.Kind() == '"' {
		s, _ := str(v)
		num = strings.TrimSpace(s)
	} else if v[0] != '-' && (v[0] < '0' || v[0] > '9') {
		return 0, false
	}
	if len(num) == 0 || len(num) > 64 {
		return 0, false
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// hasSpace reports whether the valid JSON b has a byte at or below ' ':
// white space between tokens, or a space inside a string (which Compact
// keeps). Valid JSON has no other such bytes.
func hasSpace(b []byte) bool {
	for _, c := range b {
		if c <= ' ' {
			return true
		}
	}
	return false
}

// hasControl reports whether s holds an ASCII control character. A byte
// scan suffices: in UTF-8 every byte of a multi-byte rune is >= 0x80.
func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			return true
		}
	}
	return false
}
