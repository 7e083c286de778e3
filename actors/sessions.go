package actors

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"
)

// openTimeout bounds how long Sessions.Open waits for the session manager
// to spawn a connection actor.
const openTimeout = 5 * time.Second

// sessionManager implements Sessions: it asks the session-manager actor
// ("sessions", under the root) to spawn one connection actor per client
// session as its child.
type sessionManager struct {
	sys *System
	cfg SessionConfig
	pid *actor.PID
	// draining is set by stopSessions before the manager is stopped, so
	// that the connection actors it stops close their clients with 1001
	// (going away) rather than 1011 (a crash). It is the one mutable value
	// the connection actors read.
	draining atomic.Bool
	// live counts the sessions Open admitted whose connection actor has not
	// stopped yet.
	//
	// Queue: the connection actors (and, in transport, the sessions behind
	// them). Bound: SessionConfig.MaxSessions. At the bound: Open closes
	// the new client with 1013 and spawns nothing. Guarded by
	// TestSessionsBeyondTheBoundAreRefused.
	live atomic.Int64
}

// newSessions returns the Sessions that transport uses to open one
// connection actor per client session (children of a session-manager actor
// it spawns).
func newSessions(s *System) (Sessions, error) {
	m := &sessionManager{sys: s, cfg: s.cfg.Sessions.withDefaults()}
	// A connection actor that panics is stopped, not restarted: its
	// protocol state (version, subscriptions, decoder) cannot be rebuilt,
	// so the client is closed with 1011 and reconnects.
	// In a started System every props is re-given the tree's supervisor
	// (supervision.go, same policy for connections); this one serves the
	// session tests that build a bare System. The decision is logged by
	// the supervisor; the connection actor logs its own close (see
	// connectionActor.stopping).
	stopOnFailure := actor.NewOneForOneStrategy(0, 0, func(any) actor.Directive {
		return actor.StopDirective
	})
	p := props(KindSessions, func() actor.Actor {
		return &sessionManagerActor{m: m}
	}, actor.WithSupervisor(stopOnFailure))
	pid, err := s.root.SpawnNamed(p, "sessions")
	if err != nil {
		return nil, err
	}
	m.pid = pid
	return m, nil
}

// Open spawns the connection actor for conn. When the system is stopping,
// or MaxSessions sessions are live, it closes conn at once (1001 or 1013)
// and returns a Session that ignores everything.
func (m *sessionManager) Open(conn ClientConn) Session {
	if m.draining.Load() {
		conn.Close(closeGoingAway, "Server shutting down")
		return closedSession{}
	}
	if n := m.live.Add(1); n > int64(m.cfg.MaxSessions) {
		m.live.Add(-1)
		conn.Close(closeTryAgainLater, "Too many sessions: the server holds at most "+strconv.Itoa(m.cfg.MaxSessions))
		m.sys.log.Debug().Str("remote", conn.RemoteAddr()).Str("transport", conn.Transport()).Msg("session refused: too many sessions")
		return closedSession{}
	}
	// The place is given back once, by whichever comes first: the failed
	// open below, or the connection actor's stop (it may still be spawned
	// after the wait timed out).
	release := sync.OnceFunc(func() { m.live.Add(-1) })
	res, err := m.sys.root.RequestFuture(m.pid, &openSession{conn: conn, release: release}, openTimeout).Result()
	if o, ok := res.(*sessionOpened); ok && err == nil {
		return &session{root: m.sys.root, pid: o.pid, pending: o.pending, limit: int64(m.cfg.MaxInboundPending)}
	}
	release()
	conn.Close(closeGoingAway, "Server shutting down")
	return closedSession{}
}

// stopSessions closes every client session with 1001 and stops the
// session manager and all its connection actors, waiting for them.
func stopSessions(s *System) {
	m, ok := s.sessions.(*sessionManager)
	if !ok || m == nil {
		return
	}
	m.draining.Store(true)
	if err := s.root.PoisonFuture(m.pid).Wait(); err != nil {
		s.log.Warn().Err(err).Msg("stop sessions")
	}
}

// sessionManagerActor is the parent of every connection actor.
type sessionManagerActor struct {
	m    *sessionManager
	log  zerolog.Logger
	next uint64
}

func (a *sessionManagerActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		a.log = actorLog(a.m.sys.log, ctx)
	case *openSession:
		a.next++
		c := &connectionActor{sys: a.m.sys, cfg: &a.m.cfg, draining: &a.m.draining, conn: msg.conn, sessionID: newSessionID(),
			pending: new(atomic.Int64), release: msg.release}
		pid, err := ctx.SpawnNamed(props(KindConnection, func() actor.Actor { return c }, a.m.sys.pushProps()...), "conn-"+strconv.FormatUint(a.next, 10))
		if err != nil {
			a.log.Error().Err(err).Msg("spawn connection actor")
			c.release()
			ctx.Respond(err)
			return
		}
		ctx.Respond(&sessionOpened{pid: pid, pending: c.pending})
	}
}

// session is the Session transport holds: it turns calls into messages to
// the connection actor. It never blocks: the mailbox is unbounded, and what
// waits in it is bounded here instead. Each message is counted in pending
// until the actor takes it; one that would pass limit is dropped and the
// actor is told, once, to close the session (inboundOverflow).
type session struct {
	root       *actor.RootContext
	pid        *actor.PID
	pending    *atomic.Int64
	limit      int64
	overflowed atomic.Bool
}

func (s *session) Receive(data []byte) {
	cost := inboundCost(data)
	if s.pending.Add(cost) > s.limit {
		s.pending.Add(-cost)
		if s.overflowed.CompareAndSwap(false, true) {
			s.root.Send(s.pid, &inboundOverflow{})
		}
		return
	}
	s.root.Send(s.pid, &inbound{data: data})
}
func (s *session) Closed() { s.root.Send(s.pid, &clientGone{}) }

// closedSession is what Open returns for a session it refused.
type closedSession struct{}

// Refused reports whether Open refused the session it returned: the
// system is stopping, or MaxSessions sessions are live. Open has closed
// the client (1001 or 1013) and keeps nothing for it.
func Refused(s Session) bool {
	_, ok := s.(closedSession)
	return ok
}

func (closedSession) Receive([]byte) {}
func (closedSession) Closed()        {}

// newSessionID returns the session header value: 16 random hex digits.
func newSessionID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
