package logview

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// TimeSpec is a moment given on the command line (--since, --until,
// --at), resolved against the log once it is read. The zero value is no
// moment.
type TimeSpec struct {
	raw   string
	abs   time.Time     // a full time with its zone
	local time.Time     // a date and time without zone: in the log's zone
	clock time.Duration // a time of day: on the log's first day
	rel   time.Duration // +D after the log's first line, -D before its last
	kind  specKind
}

type specKind uint8

const (
	specNone specKind = iota
	specAbs
	specLocal
	specClock
	specFromStart
	specFromEnd
)

// ErrTimeSpec is the error of a moment that does not parse.
var ErrTimeSpec = errors.New(`want a time such as 2026-12-07T20:42:45Z, "2026-12-07 20:42:45", 20:42:45.5, +30s (after the log's first line) or -2m (before its last)`)

// ParseTimeSpec reads a moment: RFC 3339 ("2026-12-07T20:42:45.5Z"), a
// date and time without zone (in the log's zone: "2026-12-07 20:42:45"),
// a time of day (on the log's first day, or the next when that is more
// than 12 hours before its first line: "20:42", "20:42:45.250"), or a duration after the log's
// first line ("+30s") or before its last ("-2m").
func ParseTimeSpec(s string) (TimeSpec, error) {
	s = strings.TrimSpace(s)
	ts := TimeSpec{raw: s}
	if s == "" {
		return TimeSpec{}, nil
	}
	if s[0] == '+' || s[0] == '-' {
		d, err := time.ParseDuration(s[1:])
		if err != nil || d < 0 {
			return ts, fmt.Errorf("%q: %w", s, ErrTimeSpec)
		}
		ts.rel, ts.kind = d, specFromStart
		if s[0] == '-' {
			ts.kind = specFromEnd
		}
		return ts, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		ts.abs, ts.kind = t, specAbs
		return ts, nil
	}
	for _, layout := range []string{"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			ts.local, ts.kind = t, specLocal
			return ts, nil
		}
	}
	for _, layout := range []string{"15:04:05.999999999", "15:04"} {
		if t, err := time.Parse(layout, s); err == nil {
			ts.clock, ts.kind = t.Sub(time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)), specClock
			return ts, nil
		}
	}
	return ts, fmt.Errorf("%q: %w", s, ErrTimeSpec)
}

// String is the moment as given.
func (ts TimeSpec) String() string { return ts.raw }

// IsZero reports whether no moment was given.
func (ts TimeSpec) IsZero() bool { return ts.kind == specNone }

// resolve gives the moment for a log from first to last (zero when none
// was given, or when it needs a log and there is none).
func (ts TimeSpec) resolve(first, last time.Time) time.Time {
	if ts.kind == specAbs {
		return ts.abs
	}
	if ts.kind == specNone || first.IsZero() {
		return time.Time{}
	}
	loc := first.Location()
	switch ts.kind {
	case specLocal:
		l := ts.local
		return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), l.Nanosecond(), loc)
	case specClock:
		y, m, d := first.Date()
		t := time.Date(y, m, d, 0, 0, 0, 0, loc).Add(ts.clock)
		if first.Sub(t) > 12*time.Hour { // 00:10 in a log that starts at 23:50
			t = t.AddDate(0, 0, 1)
		}
		return t
	case specFromStart:
		return first.Add(ts.rel)
	case specFromEnd:
		return last.Add(-ts.rel)
	}
	return time.Time{}
}
