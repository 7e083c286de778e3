package event

import (
	"errors"
	"strconv"
)

// Severities lists the valid severities, in increasing order.
var Severities = []Severity{SeverityDebug, SeverityInfo, SeverityWarning, SeverityError, SeverityCritical}

var severityNames = [...]string{
	SeverityDebug:    "DEBUG",
	SeverityInfo:     "INFO",
	SeverityWarning:  "WARNING",
	SeverityError:    "ERROR",
	SeverityCritical: "CRITICAL",
}

// Valid reports whether s is one of Severities.
func (s Severity) Valid() bool { return s >= SeverityDebug && s <= SeverityCritical }

// String returns the severity's upper-case name, as the API writes it.
func (s Severity) String() string {
	if s.Valid() {
		return severityNames[s]
	}
	return "Severity(" + strconv.Itoa(int(s)) + ")"
}

// MarshalText returns the severity's name; an invalid severity is an error.
func (s Severity) MarshalText() ([]byte, error) {
	if !s.Valid() {
		return nil, errors.New("event: invalid severity " + strconv.Itoa(int(s)))
	}
	return []byte(severityNames[s]), nil
}

// UnmarshalText parses a severity name case-insensitively.
func (s *Severity) UnmarshalText(b []byte) error {
	v, ok := parseSeverity(b)
	if !ok {
		return errors.New("event: unknown severity")
	}
	*s = v
	return nil
}

// ParseSeverity parses DEBUG, INFO, WARNING, ERROR or CRITICAL, ignoring case.
func ParseSeverity(name string) (Severity, bool) { return parseSeverity([]byte(name)) }

func parseSeverity(b []byte) (Severity, bool) {
	if len(b) < 4 || len(b) > 8 {
		return 0, false
	}
	var up [8]byte
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		up[i] = c
	}
	switch string(up[:len(b)]) {
	case "DEBUG":
		return SeverityDebug, true
	case "INFO":
		return SeverityInfo, true
	case "WARNING":
		return SeverityWarning, true
	case "ERROR":
		return SeverityError, true
	case "CRITICAL":
		return SeverityCritical, true
	}
	return 0, false
}
