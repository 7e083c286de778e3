package actors

// This file is the boundary between transport (sockets: SockJS sessions and
// raw WebSockets) and the STOMP connection actors. transport implements
// ClientConn; actors implements Sessions.

// Framing says how a client session wants its bytes.
type Framing uint8

const (
	// FramingSTOMP: STOMP frames, written as they are (raw WebSocket text
	// frames) or SockJS-escaped inside a["..."] (SockJS transports).
	FramingSTOMP Framing = iota
	// FramingJSON: the seed's JSON command form on a plain WebSocket: the
	// client sends {"command":"SUBSCRIBE",...} and receives each snapshot as
	// plain JSON, no STOMP framing.
	FramingJSON
)

// Shared is one snapshot's MESSAGE as every subscriber shares it, built
// once per tick by the topic: the snapshot's JSON and the STOMP frame's
// tail. Read-only once built, and handed to every subscriber as the same
// pointer: transport prepares its own framings of these bytes (SockJS
// escaping, permessage-deflate) once per Shared and keys them by it.
type Shared struct {
	// JSON is the snapshot body (what GET /api/v1/metrics returns).
	JSON []byte
	// STOMPTail is the rest of a STOMP MESSAGE frame after the
	// per-subscriber headers: the common headers, the blank line, the body
	// and the NUL.
	STOMPTail []byte
}

// Outgoing is one unit the connection actor queues for its client.
type Outgoing struct {
	// Head is the frame, or its per-subscriber start ("MESSAGE\n" plus the
	// subscription and message-id headers) when Shared is set. Plain STOMP
	// bytes, never escaped. Nil for a FramingJSON snapshot message.
	Head []byte
	// Shared, when set, completes the frame: its STOMPTail for
	// FramingSTOMP (framed as the transport needs it), its JSON for
	// FramingJSON.
	Shared *Shared
	// HeartBeat marks an EOL heart-beat (Head is "\n").
	HeartBeat bool
}

// ClientConn is the transport side of one client session. Its methods are
// safe for concurrent use and never block.
type ClientConn interface {
	// Send puts o in the session's bounded outbound queue. It returns false
	// when the queue is full or the session is closed; the connection actor
	// then closes the session as a slow consumer.
	Send(o Outgoing) bool
	// SetFraming switches how Send's units are written (FramingJSON once a
	// raw WebSocket client shows it speaks the JSON form).
	SetFraming(f Framing)
	// Close flushes what is queued, then ends the session: for SockJS a
	// c[code,"reason"] frame, for a raw WebSocket a close frame with code and
	// reason. Calling it again is a no-op.
	Close(code int, reason string)
	// Transport names the transport ("websocket", "xhr-streaming", "raw-websocket", ...).
	Transport() string
	// RemoteAddr is the client's address, for logs and limits.
	RemoteAddr() string
}

// Session is the actor side of one client session, handed to transport by
// Sessions.Open. Its methods never block.
type Session interface {
	// Receive passes one inbound transport message (a SockJS message string
	// or a WebSocket text frame) to the connection actor. Data is owned by
	// the callee after the call.
	Receive(data []byte)
	// Closed tells the connection actor that the client went away.
	Closed()
}

// Sessions opens connection actors for transport.
type Sessions interface {
	Open(conn ClientConn) Session
}
