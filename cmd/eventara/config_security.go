package main

import (
	"fmt"
	"time"

	"github.com/eventara/eventara/protocol/stomp"
)

// securityConfig is the security and limits flag group. Every protection
// that could break the out-of-the-box behaviour (authentication, origin
// allow-list, per-IP, total-connection and ingest-rate limits) is off
// until set; the size and time limits default to what the service always
// enforced.
type securityConfig struct {
	AuthTokensFile string
	AuthTokens     string
	TLSCert        string
	TLSKey         string
	AllowedOrigins string

	MaxConnections      int
	MaxConnectionsPerIP int
	IngestRate          float64
	IngestBurst         int
	ReadHeaderTimeout   time.Duration

	MaxSubscriptions  int
	ConnectTimeout    time.Duration
	MaxFrameSize      int
	MaxFrameHeaders   int
	MaxHeaderLine     int
	MaxMessageSize    int
	MaxInboundPending int
	MaxSessions       int
}

func init() { extraFlags = append(extraFlags, registerSecurityFlags) }

func registerSecurityFlags(fs *flagSet, c *config) {
	s := &c.Security
	fs.String(&s.AuthTokensFile, "auth-tokens-file", "", "turn on bearer-token authentication with the tokens in this file: one \"<token> <role>[,<role>]\" per line, roles ingest, read, admin; # comments")
	fs.String(&s.AuthTokens, "auth-tokens", "", "tokens as in --auth-tokens-file, items separated by ';' (prefer the environment variable: command lines are visible to other users)")
	fs.String(&s.TLSCert, "tls-cert", "", "PEM certificate (chain) file: serve HTTPS and wss:// on --addr (needs --tls-key)")
	fs.String(&s.TLSKey, "tls-key", "", "PEM private key file of --tls-cert")
	fs.String(&s.AllowedOrigins, "allowed-origins", "*", "comma-separated browser origins (scheme://host[:port]) allowed for REST CORS, SockJS and WebSocket upgrades; * allows any; the service's own origin is always allowed")
	fs.Int(&s.MaxConnections, "max-connections", 0, "most client connections held at once, 0 for no limit; one more gets 503")
	fs.Int(&s.MaxConnectionsPerIP, "max-connections-per-ip", 0, "most client connections from one IP, 0 for no limit; one more gets 429")
	float(fs, &s.IngestRate, "ingest-rate", 0, "ingest requests (POST events or batch) per second per token, or per client IP without auth; 0 for no limit; over it gets 429 with Retry-After")
	fs.Int(&s.IngestBurst, "ingest-burst", 0, "ingest requests a token or IP may send at once before --ingest-rate applies; 0 means max(1, --ingest-rate)")
	fs.Duration(&s.ReadHeaderTimeout, "read-header-timeout", 10*time.Second, "how long a client may take to send a request's headers (slow-loris guard)")
	fs.Int(&s.MaxSubscriptions, "max-subscriptions", 16, "most STOMP subscriptions on one connection; one more gets an ERROR and close 1008")
	fs.Duration(&s.ConnectTimeout, "connect-timeout", 30*time.Second, "how long a new push session may take to send CONNECT (or its first JSON command); then ERROR and close 1008")
	fs.Int(&s.MaxFrameSize, "max-frame-size", stomp.DefaultMaxFrameSize, "largest inbound STOMP frame in bytes; larger gets an ERROR and close 1009")
	fs.Int(&s.MaxFrameHeaders, "max-frame-headers", stomp.DefaultMaxHeaders, "most header lines in an inbound STOMP frame; more gets an ERROR and close 1009")
	fs.Int(&s.MaxHeaderLine, "max-header-line", stomp.DefaultMaxLineSize, "longest STOMP command or header line in bytes; longer gets an ERROR and close 1009")
	fs.Int(&s.MaxMessageSize, "max-message-size", 64<<10, "largest inbound push message in bytes: a SockJS xhr_send/jsonp_send body (413) or a WebSocket message (close 1009)")
	fs.Int(&s.MaxInboundPending, "max-inbound-pending", 1<<20, "bytes a push client may have sent that are not yet read (64 more per message); over it gets an ERROR and close 1008")
	fs.Int(&s.MaxSessions, "max-sessions", 50_000, "most live push sessions (SockJS sessions and WebSockets, each a connection actor); one more is closed with 1013 \"Too many sessions\"")
}

// float registers a float64 flag the way flagSet's helpers do.
func float(fs *flagSet, p *float64, name string, def float64, usage string) {
	fs.Float64Var(p, name, def, fmt.Sprintf("%s (env %s)", usage, envName(name)))
}

// validate checks the group's values; the files it names are read when
// the service starts (newSecurity).
func (s *securityConfig) validate() error {
	if (s.TLSCert == "") != (s.TLSKey == "") {
		return fmt.Errorf("--tls-cert and --tls-key go together")
	}
	for _, v := range []struct {
		name string
		n    float64
	}{
		{"--max-connections", float64(s.MaxConnections)}, {"--max-connections-per-ip", float64(s.MaxConnectionsPerIP)},
		{"--ingest-rate", s.IngestRate}, {"--ingest-burst", float64(s.IngestBurst)},
		{"--max-subscriptions", float64(s.MaxSubscriptions)}, {"--max-frame-size", float64(s.MaxFrameSize)},
		{"--max-frame-headers", float64(s.MaxFrameHeaders)}, {"--max-header-line", float64(s.MaxHeaderLine)},
		{"--max-message-size", float64(s.MaxMessageSize)}, {"--max-inbound-pending", float64(s.MaxInboundPending)},
		{"--max-sessions", float64(s.MaxSessions)},
		{"--read-header-timeout", float64(s.ReadHeaderTimeout)}, {"--connect-timeout", float64(s.ConnectTimeout)},
	} {
		if v.n < 0 {
			return fmt.Errorf("%s must not be negative", v.name)
		}
	}
	return nil
}
