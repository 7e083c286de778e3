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

// Shared holds the bytes of one snapshot MESSAGE that are the same for every
// subscriber, prepared once per tick. Read-only once built.
type Shared struct {
	// JSON is the snapshot body (what GET /api/v1/metrics returns).
	JSON []byte
	// STOMPTail is the rest of a STOMP MESSAGE frame after the
	// per-subscriber headers: the common headers, the blank line, the body
	// and the NUL.
	STOMPTail []byte
	// SockJSTail is STOMPTail escaped as the inside of a SockJS JSON string
	// (without quotes), so a SockJS transport writes
	// a[" + escape(Head) + SockJSTail + "].
	SockJSTail []byte

	// STOMPTailDeflate is STOMPTail compressed on its own, for clients that
	// negotiated permessage-deflate (RFC 7692) with
	// server_no_context_takeover: raw DEFLATE blocks from a fresh
	// compressor, ended by a sync flush whose 00 00 ff ff is removed
	// (section 7.2.1). A compressed message is the per-subscriber head as a
	// stored (uncompressed) block followed by these bytes, so no subscriber
	// needs a compressor. Nil when compression failed: such messages go out
	// uncompressed.
	STOMPTailDeflate []byte
	// SockJSTailDeflate is SockJSTail plus the closing `"]`, compressed the
	// same way: the rest of a SockJS a["..."] frame after a[" and the
	// escaped head.
	SockJSTailDeflate []byte
}

// Outgoing is one unit the connection actor queues for its client.
type Outgoing struct {
	// Head is the frame, or its per-subscriber start ("MESSAGE\n" plus the
	// subscription and message-id headers) when Shared is set. Plain STOMP
	// bytes, never escaped. Nil for a FramingJSON snapshot message.
	Head []byte
	// Shared, when set, completes the frame: STOMPTail (or SockJSTail after
	// escaping Head) for FramingSTOMP, JSON for FramingJSON.
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
