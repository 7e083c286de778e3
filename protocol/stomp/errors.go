package stomp

import "errors"

// Sentinel kinds of decode errors; a *ProtocolError wraps one of them, so
// callers test with errors.Is.
var (
	// ErrFrameTooLarge: the frame (command, headers and body) exceeds
	// Limits.MaxFrameSize.
	ErrFrameTooLarge = errors.New("frame too large")
	// ErrTooManyHeaders: more header lines than Limits.MaxHeaders.
	ErrTooManyHeaders = errors.New("too many headers")
	// ErrLineTooLong: a command or header line exceeds Limits.MaxLineSize.
	ErrLineTooLong = errors.New("header line too long")
	// ErrBodyTooLarge: the body (or its content-length) exceeds
	// Limits.MaxBodySize.
	ErrBodyTooLarge = errors.New("body too large")
	// ErrMalformed: the bytes are not a STOMP frame (a header without a
	// colon, a bad escape, a bad content-length, no NUL after the body).
	ErrMalformed = errors.New("malformed frame")
	// ErrVersion: no protocol version both sides support.
	ErrVersion = errors.New("unsupported protocol version")
	// ErrHeartBeat: a heart-beat header that is not "cx,cy".
	ErrHeartBeat = errors.New("invalid heart-beat header")
)

// ProtocolError is a decode or negotiation failure. The connection answers
// it with an ERROR frame whose message header is Message(), then closes.
type ProtocolError struct {
	// Kind is one of the sentinel errors above.
	Kind error
	// Detail says what exactly was wrong, for the ERROR body and logs.
	Detail string
}

func (e *ProtocolError) Error() string {
	if e.Detail == "" {
		return "stomp: " + e.Kind.Error()
	}
	return "stomp: " + e.Kind.Error() + ": " + e.Detail
}

// Unwrap returns Kind.
func (e *ProtocolError) Unwrap() error { return e.Kind }

// Message is a short text fit for the message header of an ERROR frame.
func (e *ProtocolError) Message() string { return e.Kind.Error() }

func protoErr(kind error, detail string) *ProtocolError {
	return &ProtocolError{Kind: kind, Detail: detail}
}
