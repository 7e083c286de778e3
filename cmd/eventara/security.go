package main

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"

	"github.com/rs/zerolog"

	"github.com/eventara/eventara/actors"
	"github.com/eventara/eventara/protocol/stomp"
	"github.com/eventara/eventara/transport"
	"github.com/eventara/eventara/transport/sockjs"
)

// security is the securityConfig turned into the parts' settings.
type security struct {
	cfg     securityConfig
	tokens  *transport.Tokens
	origins *transport.Origins
	conns   *transport.ConnLimiter
	tls     *tls.Config
}

// newSecurity validates c, reads the token file and the certificate, and
// logs what is on (never a token).
func newSecurity(c securityConfig, log zerolog.Logger) (*security, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	s := &security{cfg: c}
	if c.AuthTokensFile != "" {
		b, err := os.ReadFile(c.AuthTokensFile)
		if err != nil {
			return nil, fmt.Errorf("--auth-tokens-file: %w", err)
		}
		t, err := transport.ParseTokens(c.AuthTokensFile, string(b))
		if err != nil {
			return nil, err
		}
		s.tokens = t
	}
	if c.AuthTokens != "" {
		t, err := transport.ParseTokens(envName("auth-tokens"), c.AuthTokens)
		if err != nil {
			return nil, err
		}
		s.tokens = s.tokens.Merge(t)
	}
	if s.tokens != nil && s.tokens.Len() == 0 {
		return nil, fmt.Errorf("authentication configured but no token defined")
	}
	origins, err := transport.ParseOrigins(c.AllowedOrigins)
	if err != nil {
		return nil, fmt.Errorf("--allowed-origins: %w", err)
	}
	s.origins = origins
	if c.MaxConnections > 0 || c.MaxConnectionsPerIP > 0 {
		s.conns = transport.NewConnLimiter(transport.ConnLimits{Total: c.MaxConnections, PerIP: c.MaxConnectionsPerIP})
	}
	if c.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("load --tls-cert/--tls-key: %w", err)
		}
		s.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	ev := log.Info().Bool("tls", s.tls != nil).Bool("auth", s.tokens != nil).
		Str("allowed_origins", c.AllowedOrigins).Int("max_connections", c.MaxConnections).
		Int("max_connections_per_ip", c.MaxConnectionsPerIP).Float64("ingest_rate", c.IngestRate)
	if s.tokens != nil {
		ev = ev.Int("tokens", s.tokens.Len())
	}
	ev.Msg("security settings")
	return s, nil
}

// sessionConfig adds authentication and the STOMP limits to sc.
func (s *security) sessionConfig(sc actors.SessionConfig) actors.SessionConfig {
	if s.tokens != nil {
		sc.Authorize = s.tokens.AuthorizeRead
	}
	sc.MaxSubscriptions = s.cfg.MaxSubscriptions
	sc.ConnectTimeout = s.cfg.ConnectTimeout
	sc.MaxInboundPending = s.cfg.MaxInboundPending
	sc.MaxSessions = s.cfg.MaxSessions
	sc.Limits = stomp.Limits{MaxFrameSize: s.cfg.MaxFrameSize, MaxHeaders: s.cfg.MaxFrameHeaders, MaxLineSize: s.cfg.MaxHeaderLine}
	return sc
}

// pushConfig adds the inbound message limit to pc.
func (s *security) pushConfig(pc sockjs.Config) sockjs.Config {
	pc.MaxMessageSize = s.cfg.MaxMessageSize
	return pc
}

// transportConfig adds the HTTP protections to tc.
func (s *security) transportConfig(tc transport.Config) transport.Config {
	tc.Tokens = s.tokens
	tc.Origins = s.origins
	tc.IngestRate = transport.RateLimit{Rate: s.cfg.IngestRate, Burst: s.cfg.IngestBurst}
	tc.Conns = s.conns
	return tc
}

// configureServer sets the header read timeout, the connection limiter's
// hooks and TLS on srv.
func (s *security) configureServer(srv *http.Server) {
	srv.ReadHeaderTimeout = s.cfg.ReadHeaderTimeout
	if s.conns != nil {
		srv.ConnContext = s.conns.ConnContext
		srv.ConnState = s.conns.ConnState
	}
	srv.TLSConfig = s.tls
	if s.tls != nil {
		// HTTP/1.1 only: a browser that negotiated HTTP/2 could try a
		// WebSocket over it (RFC 8441), which the push handler, built on
		// hijacking the connection, cannot serve.
		srv.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){}
	}
}

// serve serves srv on ln: HTTPS (and so wss://) when TLS is configured,
// plain HTTP otherwise.
func (s *security) serve(srv *http.Server, ln net.Listener) error {
	if s.tls != nil {
		return srv.ServeTLS(ln, "", "")
	}
	return srv.Serve(ln)
}
