package notify

import (
	"errors"

	"github.com/eventara/eventara/internal/fielderr"
)

// Sentinel errors for the REST layer and the notifier's owner.
var (
	// ErrChannelNotFound: no channel has that id (answer 404).
	ErrChannelNotFound = errors.New("notify: channel not found")
	// ErrDuplicateName: another channel already has that name (answer 409
	// with a JSON body; names are compared case-insensitively, see
	// SameName).
	ErrDuplicateName = errors.New("notify: a channel with this name already exists")
	// ErrUnknownNotification: the outbox has no pending notification with
	// that id (Outbox.Start, Outbox.Finish).
	ErrUnknownNotification = errors.New("notify: no such pending notification")
	// ErrNotInFlight: Finish for a notification whose attempt was not
	// started with Start, or for another attempt number.
	ErrNotInFlight = errors.New("notify: no attempt of this notification is in flight")
	// ErrInFlight: Start for a notification whose attempt is already in
	// flight.
	ErrInFlight = errors.New("notify: an attempt of this notification is already in flight")
)

// MaxFieldErrors caps the field errors reported for one request, so a
// hostile body cannot make the error answer larger than itself.
const MaxFieldErrors = fielderr.Max

// FieldErrors maps a request field ("name", "config.url",
// "config.headers.X-Team", or "body" for malformed JSON) to what is wrong
// with it (see fielderr.Errors). No message ever contains a secret: a bad
// secret is described, never quoted.
type FieldErrors = fielderr.Errors

// BodyField is the FieldErrors key for a body that is not one JSON object.
const BodyField = fielderr.Body

// ValidationError is a channel request that failed validation; Fields says
// why, field by field. Transport answers it with 400.
type ValidationError struct {
	Fields FieldErrors
}

func (e *ValidationError) Error() string { return "invalid notification channel: " + e.Fields.String() }

// asError returns nil for no field errors, else a *ValidationError.
func asError(fe FieldErrors) error {
	if len(fe) == 0 {
		return nil
	}
	return &ValidationError{Fields: fe}
}
