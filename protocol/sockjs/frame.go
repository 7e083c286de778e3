package sockjs

import "strconv"

// The frames a SockJS server sends. Transports add their own delimiters
// ("\n" for xhr, "data: ...\r\n\r\n" for eventsource, a WebSocket message).
const (
	// OpenFrame starts every session.
	OpenFrame = "o"
	// HeartbeatFrame keeps idle connections open through proxies.
	HeartbeatFrame = "h"
)

// Close codes and reasons the protocol defines.
const (
	// CodeGoAway is the conventional application close ("Go away!").
	CodeGoAway = 3000
	// CodeAnotherConnection is sent to a receiving request while another
	// one is still attached to the session.
	CodeAnotherConnection = 2010
	// ReasonAnotherConnection goes with CodeAnotherConnection.
	ReasonAnotherConnection = "Another connection still open"
	// CodeInterrupted closes a session whose receiving request was
	// aborted by the network.
	CodeInterrupted = 1002
	// ReasonInterrupted goes with CodeInterrupted.
	ReasonInterrupted = "Connection interrupted"
)

// AppendClose appends the close frame c[code,"reason"].
func AppendClose(dst []byte, code int, reason string) []byte {
	dst = append(dst, 'c', '[')
	dst = strconv.AppendInt(dst, int64(code), 10)
	dst = append(dst, ',', '"')
	dst = AppendEscaped(dst, []byte(reason))
	return append(dst, '"', ']')
}

// AppendArray appends the message frame a["m1","m2",...]. Each element of
// escaped must already be escaped with AppendEscaped (it is copied as is),
// which lets a transport escape bytes shared by many sessions once.
func AppendArray(dst []byte, escaped ...[]byte) []byte {
	dst = append(dst, 'a', '[')
	for i, m := range escaped {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '"')
		dst = append(dst, m...)
		dst = append(dst, '"')
	}
	return append(dst, ']')
}

// Pieces of a message frame, for transports that write a frame as a list
// of buffers: ArrayStart, then for each message MessageStart, its escaped
// bytes and MessageEnd, with MessageSep between messages, then ArrayEnd.
const (
	ArrayStart   = "a["
	MessageStart = `"`
	MessageEnd   = `"`
	MessageSep   = ","
	ArrayEnd     = "]"
)
