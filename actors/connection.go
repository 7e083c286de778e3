package actors

import (
	"encoding/json"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"

	"github.com/eventara/eventara/protocol/stomp"
)

// Close codes a connection actor passes to ClientConn.Close. They are
// WebSocket status codes (RFC 6455 §7.4.1), used as is for a raw WebSocket
// and as the code of SockJS's c[code,"reason"]. Every close that follows a
// client's mistake is preceded by an ERROR frame (or a {"error":...} object
// in the JSON form) whose message says what went wrong.
const (
	// closeNormal: the client sent DISCONNECT (after its RECEIPT).
	closeNormal = 1000
	// closeGoingAway: the server is shutting down.
	closeGoingAway = 1001
	// closeProtocolError: a STOMP protocol error: a malformed frame, a
	// frame before CONNECT, an unknown command or destination, a SEND to a
	// topic, an unsupported version.
	closeProtocolError = 1002
	// closePolicy: a slow consumer (its outbound queue was full), a client
	// silent for twice its heart-beat interval, no CONNECT within
	// ConnectTimeout, too many subscriptions, a token Authorize refused.
	closePolicy = 1008
	// closeTooBig: an inbound frame broke the decoder's limits.
	closeTooBig = 1009
	// closeInternal: the connection actor crashed and was stopped.
	closeInternal = 1011
	// closeTryAgainLater: the server holds SessionConfig.MaxSessions
	// sessions already; the client may retry later.
	closeTryAgainLater = 1013
)

// Close reasons that are fixed strings.
const (
	reasonSlowConsumer = "Slow consumer: outbound queue full"
	reasonHeartBeat    = "Heart-beat timeout"
)

// heartBeatHead is the EOL a connection sends as a heart-beat. Shared and
// read-only.
var heartBeatHead = []byte("\n")

type connState uint8

const (
	connNew    connState = iota // no CONNECT (nor JSON command) yet
	connSTOMP                   // CONNECTED sent
	connJSON                    // the seed's JSON command form
	connClosed                  // Close called; ignore the rest
)

// connectionActor speaks STOMP (or the JSON command form) with one client
// session, whatever its transport. It owns one subscription actor per
// SUBSCRIBE as a child and watches heart-beats both ways. It writes its own
// frames (CONNECTED, RECEIPT, ERROR, heart-beats) into the client's queue;
// its subscriptions write MESSAGE frames into the same queue directly.
type connectionActor struct {
	sys       *System
	cfg       *SessionConfig
	draining  *atomic.Bool
	conn      ClientConn
	sessionID string
	// pending counts the bytes of inbound messages in the mailbox (see
	// session.Receive); taken from as each is read.
	pending *atomic.Int64
	// release gives back this session's place among MaxSessions.
	release func()

	log     zerolog.Logger
	self    *actor.PID
	state   connState
	dec     *stomp.Decoder
	version stomp.Version
	subs    map[string]*actor.PID // by the client's subscription id
	subSeq  uint64

	credential string // the transport's token (Credentialed), if any
	authorized bool   // Authorize accepted a token (or there is no Authorize)

	sendEvery, recvEvery  time.Duration // negotiated; 0 = none
	lastIn                time.Time
	connectTimer          *time.Timer
	sendTimer, checkTimer *time.Timer
}

// failure is why a connection is closed after a client's mistake.
type failure struct {
	code    int
	message string // the ERROR frame's message header, and the close reason
	detail  string // the ERROR frame's body
}

func (c *connectionActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		c.started(ctx)
	case *inbound:
		c.pending.Add(-inboundCost(msg.data)) // first: a panic below must not keep it counted
		c.inbound(ctx, msg.data)
	case *inboundOverflow:
		if c.state != connClosed {
			c.fail(ctx, &failure{code: closePolicy, message: "Too many frames in flight",
				detail: "the client sent more than " + strconv.Itoa(c.cfg.MaxInboundPending) + " bytes faster than they could be read"}, nil)
		}
	case *currentReply:
		if msg.shared != nil && c.state != connClosed {
			d := &deliverNow{shared: msg.shared}
			for _, pid := range c.subs {
				ctx.Send(pid, d)
			}
			c.sys.metrics.MessagesSent(len(c.subs))
		}
	case *slowConsumer:
		if c.state == connClosed {
			return // its siblings' writes fail too once the session is closed
		}
		c.log.Warn().Str("subscription", msg.subscription).Msg("slow consumer")
		c.sys.metrics.SlowClientDropped()
		c.closeWith(ctx, closePolicy, reasonSlowConsumer)
	case *heartBeatSend:
		c.sendHeartBeat(ctx)
	case *heartBeatCheck:
		c.checkHeartBeat(ctx)
	case *connectTimeout:
		if c.state == connNew {
			c.fail(ctx, &failure{code: closePolicy, message: "no CONNECT frame",
				detail: "no CONNECT within " + c.cfg.ConnectTimeout.String()}, nil)
		}
	case *clientGone:
		if c.state != connClosed {
			c.state = connClosed
			c.log.Info().Msg("client went away")
			ctx.Stop(ctx.Self())
		}
	case *actor.Terminated:
		// A subscription stopped on its own (it failed past its restart
		// budget); forget it.
		for id, pid := range c.subs {
			if pid.Id == msg.Who.Id {
				delete(c.subs, id)
			}
		}
	case *actor.Stopping:
		c.stopping()
	case *actor.Stopped:
		c.release() // its place among SessionConfig.MaxSessions
	}
}

func (c *connectionActor) started(ctx actor.Context) {
	c.self = ctx.Self()
	c.log = actorLog(c.sys.log, ctx).With().Str("session", c.sessionID).
		Str("remote", c.conn.RemoteAddr()).Str("transport", c.conn.Transport()).Logger()
	c.dec = stomp.NewDecoder(c.cfg.Limits)
	c.subs = make(map[string]*actor.PID)
	c.lastIn = time.Now()
	c.connectTimer = c.after(c.cfg.ConnectTimeout, &connectTimeout{})
	if cc, ok := c.conn.(Credentialed); ok {
		c.credential = cc.Credential()
	}
	c.authorized = c.cfg.Authorize == nil
	c.sys.reg.update(c.self.Id, func(e *actorEntry) { e.transport = c.conn.Transport() })
	c.log.Debug().Msg("session opened")
}

// after sends msg to this actor after d. Timers never block and are
// stopped when the actor stops.
func (c *connectionActor) after(d time.Duration, msg any) *time.Timer {
	root, self := c.sys.root, c.self
	return time.AfterFunc(d, func() { root.Send(self, msg) })
}

func (c *connectionActor) stopping() {
	for _, t := range []*time.Timer{c.connectTimer, c.sendTimer, c.checkTimer} {
		if t != nil {
			t.Stop()
		}
	}
	if c.state == connClosed {
		return
	}
	c.state = connClosed
	if c.draining.Load() {
		c.conn.Close(closeGoingAway, "Server shutting down")
		c.log.Debug().Int("code", closeGoingAway).Msg("session closed: server shutting down")
		return
	}
	// Stopped without closing: the actor failed and its supervisor stopped it.
	c.conn.Close(closeInternal, "Internal server error")
	c.log.Warn().Int("code", closeInternal).Str("reason", "connection actor failed").Msg("session closed")
}

// closeWith closes the client session and stops this actor (and so its
// subscriptions).
func (c *connectionActor) closeWith(ctx actor.Context, code int, reason string) {
	if c.state == connClosed {
		return
	}
	c.state = connClosed
	c.conn.Close(code, reason)
	c.log.Info().Int("code", code).Str("reason", reason).Msg("session closed")
	ctx.Stop(ctx.Self())
}

// send queues o; a full queue closes the session as a slow consumer.
func (c *connectionActor) send(ctx actor.Context, o Outgoing) bool {
	if c.conn.Send(o) {
		return true
	}
	c.log.Warn().Msg("slow consumer")
	c.closeWith(ctx, closePolicy, reasonSlowConsumer)
	return false
}

// fail answers a client's mistake (an ERROR frame, or {"error":...} in the
// JSON form) and closes the session. f is the offending frame, if any: its
// receipt header becomes the ERROR's receipt-id.
func (c *connectionActor) fail(ctx actor.Context, why *failure, f *stomp.Frame, extra ...stomp.Header) {
	if c.state == connClosed {
		return
	}
	c.log.Info().Int("code", why.code).Str("reason", why.message).Str("detail", why.detail).Msg("client error")
	if c.state == connJSON {
		text := why.message
		if why.detail != "" {
			text += ": " + why.detail
		}
		head, _ := json.Marshal(struct {
			Error string `json:"error"`
		}{text})
		c.conn.Send(Outgoing{Head: head})
	} else {
		ef := &stomp.Frame{Command: stomp.CmdError, Headers: []stomp.Header{{Key: stomp.HdrMessage, Value: why.message}}}
		if f != nil {
			if r, ok := f.Get(stomp.HdrReceipt); ok {
				ef.Headers = append(ef.Headers, stomp.Header{Key: stomp.HdrReceiptID, Value: r})
			}
		}
		ef.Headers = append(ef.Headers, extra...)
		if why.detail != "" {
			ef.Headers = append(ef.Headers, stomp.Header{Key: stomp.HdrContentType, Value: "text/plain"})
			ef.Body = []byte(why.detail)
		}
		c.conn.Send(Outgoing{Head: stomp.AppendFrame(nil, ef, c.version)})
	}
	c.closeWith(ctx, why.code, why.message)
}
