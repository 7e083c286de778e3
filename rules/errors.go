package rules

import (
	"errors"
	"slices"
	"strings"
)

// Sentinel errors of the alert lifecycle (Machine.Acknowledge, Resolve).
var (
	// ErrNoSuchAlert is returned when the alert is not the rule's open alert
	// (unknown, already resolved, or of another rule).
	ErrNoSuchAlert = errors.New("rules: no such open alert")
	// ErrNotFiring is returned when acknowledging or resolving an alert that
	// is still pending: it has not fired, so there is nothing to handle yet.
	ErrNotFiring = errors.New("rules: alert is pending, not firing")
	// ErrAlreadyAcknowledged is returned when acknowledging an alert twice.
	ErrAlreadyAcknowledged = errors.New("rules: alert already acknowledged")
)

// MaxFieldErrors caps the field errors reported for one request, so a
// hostile body cannot make the error answer larger than itself.
const MaxFieldErrors = 32

// FieldErrors maps a request field (name, ruleConfig.metricType,
// ruleConfig.conditions[1].value, or "body" for malformed JSON) to what is
// wrong with it: the "errors" object of the repo's 400 answer
// {"status":"error","message":…,"errors":{field:msg}}. Empty means valid.
type FieldErrors map[string]string

// BodyField is the FieldErrors key for a body that is not one JSON object.
const BodyField = "body"

// String lists the errors sorted by field, for logs, test failures and the
// answer's message.
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

// add records msg for field unless the field already has one or the cap is
// reached (the first problem of a field is the one worth reading).
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

// ValidationError is a request that failed validation; Fields says why,
// field by field. Transport answers it with 400.
type ValidationError struct {
	Fields FieldErrors
}

func (e *ValidationError) Error() string { return "invalid rule: " + e.Fields.String() }

// asError returns nil for no field errors, else a *ValidationError.
func (fe FieldErrors) asError() error {
	if len(fe) == 0 {
		return nil
	}
	return &ValidationError{Fields: fe}
}
