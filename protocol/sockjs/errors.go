package sockjs

import "errors"

// ErrPayloadExpected is returned by DecodeMessages for an empty payload. A
// transport answers it with 500 and the text "Payload expected.", as the
// protocol requires.
var ErrPayloadExpected = errors.New("Payload expected.")

// ErrBrokenJSON is returned by DecodeMessages when the payload is not a JSON
// string or an array of JSON strings. A transport answers it with 500 and
// the text "Broken JSON encoding." (HTTP), or ends the WebSocket.
var ErrBrokenJSON = errors.New("Broken JSON encoding.")
