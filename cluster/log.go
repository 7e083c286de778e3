package cluster

import (
	"errors"
	"fmt"
	"sync"

	"github.com/rs/zerolog"
)

// serverLog is nats-server's Logger on zerolog: Notice is Info, Warn is
// Warn, Error is Error, Debug and Trace are Debug and Trace.
//
// Fatalf does not exit. nats-server calls it from Start for a route or
// client port it cannot listen on, or JetStream it cannot start, and
// expects the process to die; an embedded server would keep running
// without routes or without JetStream. With no logger set the call is
// dropped silently (pitfall P2 of research/scale-out-nats.md), so a
// logger is always set, and Fatalf records the first such error for Start
// to fail with (and Node.Err to report later).
//
// nats-server already rate-limits its noisiest lines (route connect
// retries, "Waiting for routing"); a route that cannot be reached yet
// while the peers start is a Warn here, not an Error.
type serverLog struct {
	log zerolog.Logger

	mu    sync.Mutex
	fatal error
}

func newServerLog(log zerolog.Logger) *serverLog {
	return &serverLog{log: log.With().Str("component", "nats").Logger()}
}

// routeConnectErr is nats-server's format for a failed route dial
// (server/route.go, connErrFmt).
const routeConnectErr = "Error trying to connect to route (attempt %v): %v"

func (l *serverLog) Noticef(format string, v ...any) { l.log.Info().Msgf(format, v...) }
func (l *serverLog) Warnf(format string, v ...any)   { l.log.Warn().Msgf(format, v...) }
func (l *serverLog) Debugf(format string, v ...any)  { l.log.Debug().Msgf(format, v...) }
func (l *serverLog) Tracef(format string, v ...any)  { l.log.Trace().Msgf(format, v...) }

func (l *serverLog) Errorf(format string, v ...any) {
	if format == routeConnectErr {
		l.log.Warn().Msgf(format, v...)
		return
	}
	l.log.Error().Msgf(format, v...)
}

func (l *serverLog) Fatalf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	l.log.Error().Bool("fatal", true).Msg(msg)
	l.mu.Lock()
	if l.fatal == nil {
		l.fatal = errors.New("nats-server: " + msg)
	}
	l.mu.Unlock()
}

// err returns the first fatal error logged, or nil.
func (l *serverLog) err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.fatal
}
