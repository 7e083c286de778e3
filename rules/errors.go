package rules

import (
	"errors"

	"github.com/eventara/eventara/internal/fielderr"
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
const MaxFieldErrors = fielderr.Max

// FieldErrors maps a request field (name, ruleConfig.metricType,
// ruleConfig.conditions[1].value, or "body" for malformed JSON) to what is
// wrong with it (see fielderr.Errors). Empty means valid.
type FieldErrors = fielderr.Errors

// BodyField is the FieldErrors key for a body that is not one JSON object.
const BodyField = fielderr.Body

// ValidationError is a request that failed validation; Fields says why,
// field by field. Transport answers it with 400.
type ValidationError struct {
	Fields FieldErrors
}

func (e *ValidationError) Error() string { return "invalid rule: " + e.Fields.String() }

// asError returns nil for no field errors, else a *ValidationError.
func asError(fe FieldErrors) error {
	if len(fe) == 0 {
		return nil
	}
	return &ValidationError{Fields: fe}
}
