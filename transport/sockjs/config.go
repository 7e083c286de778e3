package sockjs

import (
	"time"

	"github.com/rs/zerolog"
)

// Config configures a Handler. Zero values are the documented defaults.
type Config struct {
	// Prefix is the path everything is served under, without a trailing
	// slash. Zero value means "/ws".
	Prefix string
	// HeartbeatInterval is how often an idle SockJS session gets an h
	// frame. Zero value means 25 * time.Second.
	HeartbeatInterval time.Duration
	// DisconnectDelay is how long an HTTP session lives with no receiving
	// request attached before it is closed. Zero value means 5 * time.Second.
	DisconnectDelay time.Duration
	// ResponseLimit is how many bytes a streaming response (xhr_streaming,
	// eventsource, htmlfile) carries before it is ended so the client opens
	// a fresh one. Zero value means 128 KiB.
	ResponseLimit int
	// QueueLength is how many units a session's outbound queue holds; Send
	// returns false when it is full. Zero value means 64.
	QueueLength int
	// WriteTimeout bounds one write to a WebSocket; a client that does not
	// read for that long is disconnected. Zero value means 10 * time.Second.
	WriteTimeout time.Duration
	// SendBuffer is the kernel send buffer (SO_SNDBUF) of a WebSocket
	// connection. Bounding it keeps a client that stops reading from parking
	// megabytes in the kernel (Linux autotunes up to 4 MiB) and lets
	// WriteTimeout find it within seconds. Zero value means 64 KiB; a
	// negative value leaves the kernel's autotuning on.
	SendBuffer int
	// MaxMessageSize bounds one inbound payload (an xhr_send or jsonp_send
	// body, a WebSocket message). Zero value means 64 KiB.
	MaxMessageSize int
	// DisableWebSocket turns off the websocket transports (info then says
	// "websocket": false).
	DisableWebSocket bool
	// CookieNeeded makes HTTP transports set JSESSIONID (echoing the
	// client's value, or "dummy"), for load balancers with sticky sessions.
	CookieNeeded bool
	// SockJSURL is the sockjs.js the iframe page loads. Zero value means
	// the copy this handler serves at Prefix + "/sockjs.min.js", so the
	// iframe transports work with no internet access.
	SockJSURL string
	// Log receives session events (Debug) and transport errors (Warn).
	Log zerolog.Logger
}

func (c Config) withDefaults() Config {
	if c.Prefix == "" {
		c.Prefix = "/ws"
	}
	if c.Prefix == "/" {
		c.Prefix = ""
	}
	if c.HeartbeatInterval <= 0 {
		c.HeartbeatInterval = 25 * time.Second
	}
	if c.DisconnectDelay <= 0 {
		c.DisconnectDelay = 5 * time.Second
	}
	if c.ResponseLimit <= 0 {
		c.ResponseLimit = 128 << 10
	}
	if c.QueueLength <= 0 {
		c.QueueLength = 64
	}
	if c.SendBuffer == 0 {
		c.SendBuffer = 64 << 10
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.MaxMessageSize <= 0 {
		c.MaxMessageSize = 64 << 10
	}
	if c.SockJSURL == "" {
		c.SockJSURL = c.Prefix + "/" + sockjsFile
	}
	return c
}
