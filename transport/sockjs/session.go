package sockjs

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eventara/eventara/actors"
	"github.com/eventara/eventara/protocol/sockjs"
)

// session is one SockJS session over the HTTP transports (polling or
// streaming). It has no goroutine: the receiving request attached to it
// writes its queue, and between requests a timer ends it after
// DisconnectDelay. It implements actors.ClientConn.
type session struct {
	h         *Handler
	id        string
	transport string
	remote    string

	ready   chan struct{} // closed once actor is set
	actor   actors.Session
	endOnce sync.Once
	framing atomic.Uint32

	// wake tells the attached receiver that the queue or state changed
	// (capacity 1: a pending signal is enough).
	wake chan struct{}

	mu         sync.Mutex
	queue      []actors.Outgoing // bounded by Config.QueueLength
	opened     bool              // the o frame went out
	closeFrame []byte            // set by Close or an interruption
	closed     bool              // closeFrame delivered, or the session ended
	attached   bool              // a receiving request is attached
	recvCtx    context.Context   // the attached request's context
	gen        uint64            // bumps on attach and detach; stale timers check it
	timer      *time.Timer       // disconnect timer, running while detached
}

var _ actors.ClientConn = (*session)(nil)

func newSession(h *Handler, id, transport, remote string) *session {
	return &session{
		h:         h,
		id:        id,
		transport: transport,
		remote:    remote,
		ready:     make(chan struct{}),
		wake:      make(chan struct{}, 1),
	}
}

// getOrCreate returns the session id, opening a connection actor for it if
// it is new; nil once the handler is closed.
func (h *Handler) getOrCreate(id, transport, remote string) *session {
	h.mu.Lock()
	if s, ok := h.polled[id]; ok {
		h.mu.Unlock()
		return s
	}
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	s := newSession(h, id, transport, remote)
	h.polled[id] = s
	h.mu.Unlock()
	s.actor = h.sessions.Open(s)
	refused := actors.Refused(s.actor)
	if refused {
		s.refuse() // before ready: no request may send its o frame
	}
	close(s.ready)
	if refused {
		// Closed at once (too many sessions, or shutting down): it answers
		// the requests that already hold it with its close frame alone (a
		// session that never opened), and is not kept, so that invented
		// session ids cannot pile sessions up.
		h.mu.Lock()
		if h.polled[id] == s {
			delete(h.polled, id)
		}
		h.mu.Unlock()
		return s
	}
	h.cfg.Log.Debug().Str("session", id).Str("transport", transport).Str("remote", remote).Msg("sockjs session opened")
	return s
}

// refuse makes a session Open refused answer its close frame without an
// open frame first (sockjs-client takes a close frame as the first frame:
// its onclose gets the code and reason).
func (s *session) refuse() {
	s.mu.Lock()
	s.opened = true
	s.mu.Unlock()
}

func (h *Handler) lookup(id string) *session {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.polled[id]
}

// Send implements actors.ClientConn.
func (s *session) Send(o actors.Outgoing) bool {
	s.mu.Lock()
	if s.closeFrame != nil || s.closed || len(s.queue) >= s.h.cfg.QueueLength {
		s.mu.Unlock()
		return false
	}
	s.queue = append(s.queue, o)
	s.mu.Unlock()
	s.notify()
	return true
}

// Close implements actors.ClientConn: queued units go out first, then the
// close frame, which later requests keep getting until the session expires.
func (s *session) Close(code int, reason string) {
	s.mu.Lock()
	if s.closeFrame != nil || s.closed {
		s.mu.Unlock()
		return
	}
	s.closeFrame = sockjs.AppendClose(nil, code, reason)
	s.mu.Unlock()
	s.notify()
}

// SetFraming implements actors.ClientConn.
func (s *session) SetFraming(f actors.Framing) { s.framing.Store(uint32(f)) }

// Transport implements actors.ClientConn.
func (s *session) Transport() string { return s.transport }

// RemoteAddr implements actors.ClientConn.
func (s *session) RemoteAddr() string { return s.remote }

func (s *session) notify() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// next appends the next frame to dst: the open frame, all queued units as
// one a[...] frame, or the close frame (last is then true). It returns nil
// when there is nothing to send.
func (s *session) next(dst []byte) (frame []byte, last bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case !s.opened:
		s.opened = true
		return append(dst, sockjs.OpenFrame...), false
	case len(s.queue) > 0:
		dst = appendUnits(dst, s.queue, actors.Framing(s.framing.Load()))
		clear(s.queue) // drop the references to shared snapshot bytes
		s.queue = s.queue[:0]
		return dst, false
	case s.closeFrame != nil:
		s.closed = true
		return append(dst, s.closeFrame...), true
	}
	return nil, false
}

// attach makes the calling request the session's receiver. When it cannot,
// it returns the frame to answer with instead: the close frame of a closed
// session, or c[2010] when another receiver is attached.
// other is the attached request's context in the c[2010] case.
func (s *session) attach(ctx context.Context) (ok bool, answer []byte, other context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false, s.closeFrame, nil
	}
	if s.attached {
		if s.recvCtx.Err() == nil {
			return false, anotherConnection, s.recvCtx
		}
		// The attached request's client is gone and its handler has not
		// noticed yet: the session is interrupted (its handler will
		// detach and end it).
		s.closed = true
		s.closeFrame = sockjs.AppendClose(nil, sockjs.CodeInterrupted, sockjs.ReasonInterrupted)
		clear(s.queue)
		s.queue = nil
		return false, s.closeFrame, nil
	}
	s.attached = true
	s.recvCtx = ctx
	s.gen++
	if s.timer != nil {
		s.timer.Stop()
	}
	return true, nil, nil
}

// abortGrace is how long a request that finds another receiver attached
// waits for that receiver's client to turn out gone (a client that aborts
// a request and at once opens a new one races the server noticing the
// abort): it then gets c[1002] rather than c[2010].
const abortGrace = 100 * time.Millisecond

var anotherConnection = sockjs.AppendClose(nil, sockjs.CodeAnotherConnection, sockjs.ReasonAnotherConnection)

// detach lets go of the receiver and starts the disconnect timer.
func (s *session) detach() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.attached {
		return
	}
	s.attached = false
	s.recvCtx = nil
	s.gen++
	g := s.gen
	s.timer = time.AfterFunc(s.h.cfg.DisconnectDelay, func() { s.expire(g) })
}

// expire ends a session that had no receiver for DisconnectDelay.
func (s *session) expire(gen uint64) {
	h := s.h
	h.mu.Lock()
	s.mu.Lock()
	if s.gen != gen || s.attached {
		s.mu.Unlock()
		h.mu.Unlock()
		return
	}
	if h.polled[s.id] == s {
		delete(h.polled, s.id)
	}
	s.closed = true
	if s.closeFrame == nil {
		s.closeFrame = sockjs.AppendClose(nil, sockjs.CodeGoAway, "Session timed out")
	}
	clear(s.queue)
	s.queue = nil
	s.mu.Unlock()
	h.mu.Unlock()
	s.end()
}

// interrupt closes the session after its receiving request broke (the
// client went away mid-request): later requests get c[1002].
func (s *session) interrupt() {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		s.closeFrame = sockjs.AppendClose(nil, sockjs.CodeInterrupted, sockjs.ReasonInterrupted)
		clear(s.queue)
		s.queue = nil
	}
	s.mu.Unlock()
	s.detach()
	s.end()
}

// end tells the connection actor, once, that the session is over.
func (s *session) end() {
	s.endOnce.Do(func() {
		<-s.ready
		s.actor.Closed()
		s.h.cfg.Log.Debug().Str("session", s.id).Str("transport", s.transport).Msg("sockjs session closed")
	})
}

func (s *session) ended() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// appendUnits appends units as one a[...] frame: per unit the escaped head
// and the shared tail, escaped once per snapshot for every session
// (framingsOf).
func appendUnits(dst []byte, units []actors.Outgoing, f actors.Framing) []byte {
	dst = append(dst, sockjs.ArrayStart...)
	for i := range units {
		if i > 0 {
			dst = append(dst, sockjs.MessageSep...)
		}
		dst = append(dst, sockjs.MessageStart...)
		dst = sockjs.AppendEscaped(dst, units[i].Head)
		if sh := units[i].Shared; sh != nil {
			if f == actors.FramingJSON {
				dst = sockjs.AppendEscaped(dst, sh.JSON)
			} else {
				dst = append(dst, framingsOf(sh).sockJSTail(sh)...)
			}
		}
		dst = append(dst, sockjs.MessageEnd...)
	}
	return append(dst, sockjs.ArrayEnd...)
}
