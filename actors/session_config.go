package actors

import (
	"strings"
	"time"

	"github.com/eventara/eventara/protocol/stomp"
)

// SessionConfig configures the STOMP side of client sessions (connection and
// subscription actors). The outbound queue length belongs to transport,
// which owns the queue behind ClientConn.Send. Zero values are documented
// defaults.
type SessionConfig struct {
	// ServerName is the server header of CONNECTED ("Eventara/<version>").
	// Empty means "Eventara".
	ServerName string
	// HeartBeatSend is the server's sx in CONNECTED: the shortest interval
	// at which it sends heart-beats. The negotiated interval is
	// max(sx, the client's cy), and none are sent to a client whose cy is 0.
	// Zero means 10 seconds; it is never 0, so a client that asks for
	// heart-beats (stompjs' heartbeatIncoming) always gets them.
	HeartBeatSend time.Duration
	// HeartBeatReceive is the server's sy in CONNECTED: how often it wants
	// to hear from the client. A client that negotiated an interval
	// (max(its cx, sy)) and stays silent for twice that interval is closed;
	// any inbound byte counts. Zero means 10 seconds.
	HeartBeatReceive time.Duration
	// MaxSubscriptions bounds SUBSCRIBEs alive on one connection; one more
	// is answered with an ERROR. Zero means 16.
	MaxSubscriptions int
	// ConnectTimeout is how long a new session may take to send CONNECT
	// (or, in the JSON form, its first command) before it is closed. Zero
	// means 30 seconds (long enough to type a CONNECT into wscat).
	ConnectTimeout time.Duration
	// Limits bound inbound STOMP frames; zero fields take the stomp
	// package's defaults (64 KiB frames, 64 headers, 8 KiB lines).
	Limits stomp.Limits
	// MaxInboundPending bounds what a client has sent that its connection
	// actor has not yet read: the bytes of inbound transport messages
	// waiting in its mailbox, each counted with 64 bytes of overhead. A
	// client that sends faster than its frames are decoded gets an ERROR
	// whose message is "Too many frames in flight", then a close with
	// 1008; what it sent past the bound is not processed. Zero means 1 MiB.
	MaxInboundPending int
	// MaxSessions bounds the live client sessions (connection actors),
	// whatever their transport: every new SockJS session id and every
	// WebSocket spawns one. One more is refused: its client is closed with
	// 1013 and "Too many sessions: the server holds at most N" (SockJS
	// c[1013,"..."], a WebSocket close frame) and no actor is spawned.
	// Zero means 50,000 (about 1 GiB at the ~20 KB a subscribed session
	// costs, scripts/bench.sh fanout).
	MaxSessions int
	// Authorize, when set, turns authentication on: a session must present
	// a token that Authorize accepts (returns nil for) before it may
	// subscribe or SEND. The token comes from CONNECT's Authorization
	// header ("Bearer <token>", as stompjs connectHeaders send it), else
	// its passcode header, else the transport (see Credentialed); a
	// SUBSCRIBE that carries its own Authorization header is checked too.
	// In the JSON command form the first command's "headers" object is
	// read the same way. A refusal is an ERROR frame whose message is the
	// error's text, then a close with 1008. Nil means no authentication.
	// It must be safe for concurrent use, and its errors must not quote
	// the token.
	Authorize func(token string) error
}

// Credentialed is implemented by a ClientConn whose transport carried a
// token (an access_token query parameter or an Authorization header on
// the request that opened the session). The connection actor calls
// Credential once, when it starts; "" means none.
type Credentialed interface {
	Credential() string
}

// bearer returns the token of an Authorization header value: what follows
// "Bearer " (any case), or the whole value when it has no scheme.
func bearer(v string) string {
	v = strings.TrimSpace(v)
	if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		return strings.TrimSpace(v[7:])
	}
	return v
}

func (c SessionConfig) withDefaults() SessionConfig {
	if c.ServerName == "" {
		c.ServerName = "Eventara"
	}
	if c.HeartBeatSend <= 0 {
		c.HeartBeatSend = 10 * time.Second
	}
	if c.HeartBeatReceive <= 0 {
		c.HeartBeatReceive = 10 * time.Second
	}
	if c.MaxSubscriptions <= 0 {
		c.MaxSubscriptions = 16
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 30 * time.Second
	}
	if c.MaxInboundPending <= 0 {
		c.MaxInboundPending = 1 << 20
	}
	if c.MaxSessions <= 0 {
		c.MaxSessions = 50_000
	}
	return c
}
