package actors

import (
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
	return c
}
