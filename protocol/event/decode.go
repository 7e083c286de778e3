package event

import (
	"bytes"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
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
// and ReceivedAt
// are zero, and so is Timestamp when the client sent none (the ingest actor
// then sets it to ReceivedAt). The event does not alias data.
func Decode(data []byte) (Event, FieldErrors) {
	s := scanner{data: data}
	var ev Event
	var fe FieldErrors
	s.skipWS()
	if s.peek() != '{' {
		if s.pos >= len(data) {
			return ev, FieldErrors{BodyField: "empty body: expected a JSON object"}
		}
		if s.skipValue(0) {
			return ev, FieldErrors{BodyField: "must be a JSON object"}
		}
		return ev, FieldErrors{BodyField: s.err.Error()}
	}
	if !s.object(&ev, &fe) {
		return Event{}, FieldErrors{BodyField: s.err.Error()}
	}
	s.skipWS()
	if s.pos < len(data) {
		s.fail("unexpected data after the object")
		return Event{}, FieldErrors{BodyField: s.err.Error()}
	}
	if len(fe) > 0 {
		return Event{}, fe
	}
	return ev, nil
}

// DecodeBatch decodes a JSON array of up to MaxBatch events, validating each
// one on its own: an invalid element has Errors set, and an element that is
// not an object gets a "body" error. Malformed JSON anywhere, a body that is
// not an array, or too many elements is an error for the whole batch
// (ErrNotArray, ErrBatchTooLarge or a *SyntaxError).
func DecodeBatch(data []byte) ([]BatchItem, error) {
	s := scanner{data: data}
	s.skipWS()
	if s.peek() != '[' {
		if s.pos < len(data) && !s.skipValue(0) {
			return nil, s.err
		}
		return nil, ErrNotArray
	}
	s.pos++
	n := len(data) / 256
	if n > MaxBatch {
		n = MaxBatch
	}
	items := make([]BatchItem, 0, n)
	s.skipWS()
	if s.peek() == ']' {
		s.pos++
	} else {
		for {
			if len(items) == MaxBatch {
				return nil, ErrBatchTooLarge
			}
			s.skipWS()
			var it BatchItem
			if s.peek() == '{' {
				if !s.object(&it.Event, &it.Errors) {
					return nil, s.err
				}
				if len(it.Errors) > 0 {
					it.Event = Event{}
				}
			} else {
				if !s.skipValue(1) {
					return nil, s.err
				}
				it.Errors = FieldErrors{BodyField: "must be a JSON object"}
			}
			items = append(items, it)
			s.skipWS()
			c := s.peek()
			if c == ',' {
				s.pos++
				continue
			}
			if c == ']' {
				s.pos++
				break
			}
			s.fail("expected ',' or ']'")
			return nil, s.err
		}
	}
	s.skipWS()
	if s.pos < len(data) {
		s.fail("unexpected data after the array")
		return nil, s.err
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

// object decodes the event object at s.pos ('{'). It returns false only for
// malformed JSON (s.err set); validation problems go to fe.
func (s *scanner) object(ev *Event, fe *FieldErrors) bool {
	s.pos++
	s.skipWS()
	var seen uint
	if s.peek() == '}' {
		s.pos++
	} else {
		for {
			s.skipWS()
			if s.peek() != '"' {
				return s.fail("expected field name")
			}
			key, ok := s.str(&s.keyBuf)
			if !ok || !s.expect(':', "expected ':'") {
				return false
			}
			s.skipWS()
			var bit uint
			switch string(key) {
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
				fe.add(fieldName(key), "unknown field")
				if !s.skipValue(1) {
					return false
				}
			}
			if bit != 0 {
				if seen&bit != 0 {
					fe.add(fieldName(key), "duplicate field")
				}
				seen |= bit
				if !s.field(bit, ev, fe) {
					return false
				}
			}
			if !s.objectNext() {
				if s.err != nil {
					return false
				}
				break
			}
		}
	}
	if ev.Type == "" {
		if _, bad := (*fe)["eventType"]; !bad {
			fe.add("eventType", "is required")
		}
	}
	if ev.Source == "" {
		if _, bad := (*fe)["source"]; !bad {
			fe.add("source", "is required")
		}
	}
	if ev.Severity == 0 {
		ev.Severity = SeverityInfo
	}
	return true
}

// fieldName makes a client-supplied key safe to use as a FieldErrors key.
func fieldName(key []byte) string {
	if len(key) > MaxNameLen {
		key = key[:MaxNameLen]
	}
	if !utf8.Valid(key) {
		return strings.ToValidUTF8(string(key), "\uFFFD")
	}
	return string(key)
}

// field decodes the value of a known field.
func (s *scanner) field(bit uint, ev *Event, fe *FieldErrors) bool {
	if s.peek() == 'n' { // null means absent
		return s.literal("null")
	}
	switch bit {
	case seenType:
		return s.name("eventType", &ev.Type, MaxNameLen, true, fe)
	case seenSource:
		return s.name("source", &ev.Source, MaxNameLen, true, fe)
	case seenUser:
		return s.name("userId", &ev.UserID, MaxUserLen, false, fe)
	case seenSession:
		return s.name("sessionId", &ev.SessionID, MaxUserLen, false, fe)
	case seenTimestamp:
		return s.timestamp(ev, fe)
	case seenSeverity:
		return s.severity(ev, fe)
	case seenTags:
		return s.tags(ev, fe)
	case seenMetadata:
		return s.metadata(ev, fe)
	}
	return s.skipValue(1)
}

// wrongType skips a value of the wrong JSON type and records the error.
func (s *scanner) wrongType(field, want string, fe *FieldErrors) bool {
	fe.add(field, "must be "+want)
	return s.skipValue(1)
}

// checkText validates a decoded string's encoding and length in runes.
func checkText(b []byte, max int) string {
	if !utf8.Valid(b) {
		return "must be valid UTF-8"
	}
	if len(b) > max && utf8.RuneCount(b) > max {
		return "must be at most " + strconv.Itoa(max) + " characters"
	}
	return ""
}

func (s *scanner) name(field string, dst *string, max int, required bool, fe *FieldErrors) bool {
	if s.peek() != '"' {
		return s.wrongType(field, "a string", fe)
	}
	b, ok := s.str(&s.valBuf)
	if !ok {
		return false
	}
	if msg := checkText(b, max); msg != "" {
		fe.add(field, msg)
		return true
	}
	// Names are shown in dashboards and logs: no NUL, no line breaks.
	if hasControl(b) {
		fe.add(field, "must not contain control characters")
		return true
	}
	if required && len(bytes.TrimSpace(b)) == 0 {
		fe.add(field, "must not be blank")
		return true
	}
	*dst = string(b)
	return true
}

func (s *scanner) timestamp(ev *Event, fe *FieldErrors) bool {
	if s.peek() != '"' {
		return s.wrongType("timestamp", "an RFC 3339 string", fe)
	}
	b, ok := s.str(&s.valBuf)
	if !ok {
		return false
	}
	t, err := parseRFC3339(b)
	if err != nil {
		fe.add("timestamp", "must be an RFC 3339 date-time such as 2026-11-28T14:48:12Z")
		return true
	}
	ev.Timestamp = t
	return true
}

// parseRFC3339 parses second-precision, fractional and offset forms.
func parseRFC3339(b []byte) (time.Time, error) {
	if len(b) < len("2006-01-02T15:04:05Z") || len(b) > 64 {
		return time.Time{}, errors.New("bad length")
	}
	t, err := time.Parse(time.RFC3339Nano, string(b))
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}

func (s *scanner) severity(ev *Event, fe *FieldErrors) bool {
	if s.peek() != '"' {
		return s.wrongType("severity", "a string", fe)
	}
	b, ok := s.str(&s.valBuf)
	if !ok {
		return false
	}
	sev, known := parseSeverity(b)
	if !known {
		fe.add("severity", "must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
		return true
	}
	ev.Severity = sev
	return true
}

func (s *scanner) tags(ev *Event, fe *FieldErrors) bool {
	if s.peek() != '{' {
		return s.wrongType("tags", "an object of strings", fe)
	}
	s.pos++
	s.skipWS()
	if s.peek() == '}' {
		s.pos++
		return true
	}
	var m map[string]string
	n := 0
	for {
		s.skipWS()
		if s.peek() != '"' {
			return s.fail("expected field name")
		}
		kb, ok := s.str(&s.keyBuf)
		if !ok || !s.expect(':', "expected ':'") {
			return false
		}
		s.skipWS()
		n++
		keyMsg := checkText(kb, MaxTagKeyLen)
		if keyMsg != "" {
			fe.add("tags", "key "+keyMsg)
			if !s.skipValue(1) {
				return false
			}
		} else if s.peek() != '"' {
			if !s.wrongType("tags."+string(kb), "a string", fe) {
				return false
			}
		} else {
			key := string(kb)
			vb, ok := s.str(&s.valBuf)
			if !ok {
				return false
			}
			if msg := checkText(vb, MaxTagValueLen); msg != "" {
				fe.add("tags."+key, msg)
			} else if n <= MaxTags {
				if m == nil {
					m = make(map[string]string, 4)
				}
				m[key] = string(vb)
			}
		}
		if !s.objectNext() {
			if s.err != nil {
				return false
			}
			break
		}
	}
	if n > MaxTags {
		fe.add("tags", "must have at most "+strconv.Itoa(MaxTags)+" entries")
	}
	ev.Tags = m
	return true
}

func (s *scanner) metadata(ev *Event, fe *FieldErrors) bool {
	if s.peek() != '{' {
		return s.wrongType("metadata", "a JSON object", fe)
	}
	start := s.pos
	s.pos++
	s.skipWS()
	var latency float64
	hasLatency := false
	if s.peek() == '}' {
		s.pos++
	} else {
		for {
			s.skipWS()
			if s.peek() != '"' {
				return s.fail("expected field name")
			}
			kb, ok := s.str(&s.keyBuf)
			if !ok || !s.expect(':', "expected ':'") {
				return false
			}
			s.skipWS()
			if string(kb) == "latency" {
				var v float64
				var ok bool
				v, ok, hasLatency = s.latency()
				if !ok {
					return false
				}
				if hasLatency {
					latency = v
				}
			} else if !s.skipValue(1) {
				return false
			}
			if !s.objectNext() {
				if s.err != nil {
					return false
				}
				break
			}
		}
	}
	raw := s.data[start:s.pos]
	if len(raw) > MaxMetadataBytes {
		fe.add("metadata", "must be at most "+strconv.Itoa(MaxMetadataBytes)+" bytes")
		return true
	}
	if !utf8.Valid(raw) {
		fe.add("metadata", "must be valid UTF-8")
		return true
	}
	ev.Metadata = compact(make([]byte, 0, len(raw)), raw)
	ev.MetaLatency, ev.HasMetaLatency = latency, hasLatency
	return true
}

// latency decodes metadata.latency: a number or a numeric string counts,
// anything else (and NaN or ±Inf) is ignored. ok is false only for
// malformed JSON.
func (s *scanner) latency() (v float64, ok, has bool) {
	var num []byte
	switch c := s.peek(); {
	case c == '-' || (c >= '0' && c <= '9'):
		if num, ok = s.scanNumber(); !ok {
			return 0, false, false
		}
	case c == '"':
		if num, ok = s.str(&s.valBuf); !ok {
			return 0, false, false
		}
		num = bytes.TrimSpace(num)
	default:
		return 0, s.skipValue(1), false
	}
	if len(num) == 0 || len(num) > 64 {
		return 0, true, false
	}
	f, err := strconv.ParseFloat(string(num), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, true, false
	}
	return f, true, true
}

// hasControl reports whether b holds an ASCII control character. A byte
// scan suffices: in UTF-8 every byte of a multi-byte rune is >= 0x80.
func hasControl(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c == 0x7f {
			return true
		}
	}
	return false
}
