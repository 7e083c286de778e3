package event

import (
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// timeLayout is how the API writes times: RFC 3339, UTC, milliseconds.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// AppendTime appends t in the API's time format (RFC 3339 in UTC with
// millisecond precision), without quotes.
func AppendTime(dst []byte, t time.Time) []byte {
	return t.UTC().AppendFormat(dst, timeLayout)
}

// MarshalJSON writes the event as the API returns it:
// {"eventId","eventType","source","timestamp","receivedAt","userId"?,
// "sessionId"?,"severity","latency"?,"tags"?,"metadata"?}. latency (ms) is
// present only when it is greater than zero; tags are sorted by key.
func (e *Event) MarshalJSON() ([]byte, error) {
	return e.AppendJSON(make([]byte, 0, 256+len(e.Metadata))), nil
}

// AppendJSON appends the JSON of MarshalJSON to dst.
func (e *Event) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"eventId":"`...)
	dst, _ = e.ID.AppendText(dst)
	dst = append(dst, `","eventType":`...)
	dst = appendString(dst, e.Type)
	dst = append(dst, `,"source":`...)
	dst = appendString(dst, e.Source)
	dst = append(dst, `,"timestamp":"`...)
	dst = AppendTime(dst, e.Timestamp)
	dst = append(dst, `","receivedAt":"`...)
	dst = AppendTime(dst, e.ReceivedAt)
	dst = append(dst, '"')
	if e.UserID != "" {
		dst = append(dst, `,"userId":`...)
		dst = appendString(dst, e.UserID)
	}
	if e.SessionID != "" {
		dst = append(dst, `,"sessionId":`...)
		dst = appendString(dst, e.SessionID)
	}
	dst = append(dst, `,"severity":"`...)
	sev := e.Severity
	if !sev.Valid() {
		sev = SeverityInfo
	}
	dst = append(dst, severityNames[sev]...)
	dst = append(dst, '"')
	if l := e.Latency(); l > 0 && !math.IsInf(l, 0) {
		dst = append(dst, `,"latency":`...)
		dst = AppendFloat(dst, l)
	}
	if len(e.Tags) > 0 {
		keys := make([]string, 0, len(e.Tags))
		for k := range e.Tags {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		dst = append(dst, `,"tags":{`...)
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, k)
			dst = append(dst, ':')
			dst = appendString(dst, e.Tags[k])
		}
		dst = append(dst, '}')
	}
	if len(e.Metadata) > 0 {
		dst = append(dst, `,"metadata":`...)
		dst = append(dst, e.Metadata...)
	}
	return append(dst, '}')
}

// AppendFloat appends f as a JSON number, formatted as encoding/json does.
// NaN and ±Inf, which JSON cannot hold, are written as 0.
func AppendFloat(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, '0')
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a quoted JSON string. Invalid UTF-8 becomes
// U+FFFD; U+2028 and U+2029 are escaped as encoding/json does.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
