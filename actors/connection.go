package actors

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
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

func (c *connectionActor) inbound(ctx actor.Context, data []byte) {
	if c.state == connClosed {
		return
	}
	c.lastIn = time.Now()
	if c.state == connNew && c.dec.Buffered() == 0 && startsJSONObject(data) {
		c.state = connJSON
		c.conn.SetFraming(FramingJSON)
		c.connectTimer.Stop()
		c.log.Debug().Msg("JSON command form")
	}
	if c.state == connJSON {
		c.jsonCommand(ctx, data)
		return
	}
	c.dec.Feed(data)
	for c.state != connClosed {
		f, hb, err := c.dec.Next()
		switch {
		case err != nil:
			c.decodeError(ctx, err)
			return
		case hb:
			continue
		case f == nil:
			return
		}
		c.frame(ctx, f)
	}
}

func startsJSONObject(data []byte) bool {
	t := bytes.TrimLeft(data, " \t\r\n")
	return len(t) > 0 && t[0] == '{'
}

func (c *connectionActor) decodeError(ctx actor.Context, err error) {
	why := &failure{code: closeProtocolError, message: "malformed frame", detail: err.Error()}
	var pe *stomp.ProtocolError
	if errors.As(err, &pe) {
		why.message = pe.Message()
		switch {
		case errors.Is(err, stomp.ErrFrameTooLarge), errors.Is(err, stomp.ErrBodyTooLarge),
			errors.Is(err, stomp.ErrLineTooLong), errors.Is(err, stomp.ErrTooManyHeaders):
			why.code = closeTooBig
		}
	}
	c.fail(ctx, why, nil)
}

// frame handles one STOMP frame.
func (c *connectionActor) frame(ctx actor.Context, f *stomp.Frame) {
	c.log.Debug().Str("command", string(f.Command)).Msg("frame")
	if c.state == connNew {
		if f.Command == stomp.CmdConnect || f.Command == stomp.CmdStomp {
			c.connect(ctx, f)
			return
		}
		c.fail(ctx, &failure{code: closeProtocolError, message: "frame before CONNECT",
			detail: "the first frame must be CONNECT or STOMP, not " + string(f.Command)}, f)
		return
	}
	var why *failure
	switch f.Command {
	case stomp.CmdConnect, stomp.CmdStomp:
		why = &failure{code: closeProtocolError, message: "already connected"}
	case stomp.CmdSubscribe:
		why = c.stompSubscribe(ctx, f)
	case stomp.CmdUnsubscribe:
		id, ok := f.Get(stomp.HdrID)
		if !ok && c.version == stomp.V10 {
			id, ok = f.Get(stomp.HdrDestination)
		}
		if !ok {
			why = &failure{code: closeProtocolError, message: "UNSUBSCRIBE without id"}
		} else {
			c.unsubscribe(ctx, id)
		}
	case stomp.CmdSend:
		dest, ok := f.Get(stomp.HdrDestination)
		if !ok {
			why = &failure{code: closeProtocolError, message: "SEND without destination"}
		} else {
			why = c.sendTo(ctx, dest)
		}
	case stomp.CmdAck, stomp.CmdNack, stomp.CmdBegin, stomp.CmdCommit, stomp.CmdAbort:
		// Accepted: subscriptions are ack:auto in effect and nothing is
		// transactional, so there is nothing to do but answer a receipt.
	case stomp.CmdDisconnect:
		if c.receipt(ctx, f) {
			c.closeWith(ctx, closeNormal, "Normal closure")
		}
		return
	default:
		why = &failure{code: closeProtocolError, message: "unknown command",
			detail: "unknown command " + strconv.Quote(string(f.Command))}
	}
	if why != nil {
		c.fail(ctx, why, f)
		return
	}
	c.receipt(ctx, f)
}

// receipt answers a frame's receipt header, if it has one.
func (c *connectionActor) receipt(ctx actor.Context, f *stomp.Frame) bool {
	r, ok := f.Get(stomp.HdrReceipt)
	if !ok {
		return true
	}
	b := append([]byte(nil), "RECEIPT\n"...)
	b = stomp.AppendHeader(b, stomp.HdrReceiptID, r, c.version)
	b = append(b, '\n', 0)
	return c.send(ctx, Outgoing{Head: b})
}

func (c *connectionActor) connect(ctx actor.Context, f *stomp.Frame) {
	if why := c.authorize(authHeader(f), f.Header(hdrPasscode)); why != nil {
		c.fail(ctx, why, f)
		return
	}
	av, present := f.Get(stomp.HdrAcceptVersion)
	v, err := stomp.NegotiateVersion(av, present)
	if err != nil {
		c.fail(ctx, &failure{code: closeProtocolError, message: "unsupported protocol version", detail: err.Error()}, f,
			stomp.Header{Key: stomp.HdrVersion, Value: stomp.SupportedVersions})
		return
	}
	server := stomp.HeartBeat{Send: c.cfg.HeartBeatSend, Receive: c.cfg.HeartBeatReceive}
	headers := []stomp.Header{{Key: stomp.HdrVersion, Value: v.String()}}
	if v >= stomp.V11 {
		client, err := stomp.ParseHeartBeat(f.Header(stomp.HdrHeartBeat))
		if err != nil {
			c.fail(ctx, &failure{code: closeProtocolError, message: "invalid heart-beat header", detail: err.Error()}, f)
			return
		}
		c.sendEvery, c.recvEvery = stomp.NegotiateHeartBeat(client, server)
		headers = append(headers, stomp.Header{Key: stomp.HdrHeartBeat, Value: server.String()})
	}
	headers = append(headers,
		stomp.Header{Key: stomp.HdrSession, Value: c.sessionID},
		stomp.Header{Key: stomp.HdrServer, Value: c.cfg.ServerName})
	c.version = v
	c.dec.SetVersion(v)
	c.state = connSTOMP
	c.connectTimer.Stop()
	out := stomp.AppendFrame(nil, &stomp.Frame{Command: stomp.CmdConnected, Headers: headers}, v)
	if !c.send(ctx, Outgoing{Head: out}) {
		return
	}
	if c.sendEvery > 0 {
		c.sendTimer = c.after(c.sendEvery, &heartBeatSend{})
	}
	if c.recvEvery > 0 {
		c.checkTimer = c.after(2*c.recvEvery, &heartBeatCheck{})
	}
	c.log.Debug().Str("version", v.String()).Dur("heart_beat_send", c.sendEvery).
		Dur("heart_beat_receive", c.recvEvery).Msg("connected")
	c.receipt(ctx, f)
}

func (c *connectionActor) sendHeartBeat(ctx actor.Context) {
	if c.state != connSTOMP {
		return
	}
	if c.send(ctx, Outgoing{Head: heartBeatHead, HeartBeat: true}) {
		c.sendTimer.Reset(c.sendEvery)
	}
}

// checkHeartBeat closes a client silent for twice its negotiated interval;
// otherwise it looks again when that could next be true.
func (c *connectionActor) checkHeartBeat(ctx actor.Context) {
	if c.state != connSTOMP {
		return
	}
	limit := 2 * c.recvEvery
	silent := time.Since(c.lastIn)
	if silent >= limit {
		c.fail(ctx, &failure{code: closePolicy, message: reasonHeartBeat,
			detail: "nothing received for " + silent.Round(time.Millisecond).String()}, nil)
		return
	}
	c.checkTimer.Reset(limit - silent)
}

func (c *connectionActor) stompSubscribe(ctx actor.Context, f *stomp.Frame) *failure {
	if a := authHeader(f); a != "" && c.cfg.Authorize != nil {
		if err := c.cfg.Authorize(bearer(a)); err != nil {
			return &failure{code: closePolicy, message: err.Error()}
		}
	}
	dest, ok := f.Get(stomp.HdrDestination)
	if !ok {
		return &failure{code: closeProtocolError, message: "SUBSCRIBE without destination"}
	}
	id, ok := f.Get(stomp.HdrID)
	if !ok {
		if c.version != stomp.V10 {
			return &failure{code: closeProtocolError, message: "SUBSCRIBE without id"}
		}
		id = dest // STOMP 1.0: the destination names the subscription
	}
	return c.subscribe(ctx, id, dest)
}

// subscribe starts a subscription actor for destination dest under the
// client's subscription id.
func (c *connectionActor) subscribe(ctx actor.Context, id, dest string) *failure {
	if dest != metricsTopic {
		return &failure{code: closeProtocolError, message: "unknown destination",
			detail: "no destination " + strconv.Quote(dest) + "; subscribe to " + metricsTopic}
	}
	if _, dup := c.subs[id]; dup {
		return &failure{code: closeProtocolError, message: "duplicate subscription id",
			detail: "subscription id " + strconv.Quote(id) + " is already in use"}
	}
	if len(c.subs) >= c.cfg.MaxSubscriptions {
		return &failure{code: closePolicy, message: "too many subscriptions",
			detail: "at most " + strconv.Itoa(c.cfg.MaxSubscriptions) + " per connection"}
	}
	c.subSeq++
	n := strconv.FormatUint(c.subSeq, 10)
	proto := subscriptionActor{sys: c.sys, conn: c.conn, framing: FramingSTOMP, version: c.version,
		id: id, idPrefix: c.sessionID + "-" + n + "-"}
	if c.state == connJSON {
		proto.framing = FramingJSON
	}
	// A restarted subscription starts its sequence again, so each
	// incarnation gets its own message-id prefix: ids never repeat.
	var incarnation atomic.Int64
	p := props(KindSubscription, func() actor.Actor {
		s := proto
		if k := incarnation.Add(1) - 1; k > 0 {
			s.idPrefix = c.sessionID + "-" + n + "." + strconv.FormatInt(k, 10) + "-"
		}
		return &s
	}, c.sys.pushProps()...)
	pid, err := ctx.SpawnNamed(p, "sub-"+n)
	if err != nil {
		c.log.Error().Err(err).Msg("spawn subscription actor")
		return &failure{code: closeInternal, message: "internal error", detail: "cannot subscribe"}
	}
	c.subs[id] = pid
	c.log.Debug().Str("subscription", id).Str("destination", dest).Msg("subscribed")
	return nil
}

func (c *connectionActor) unsubscribe(ctx actor.Context, id string) {
	pid, ok := c.subs[id]
	if !ok {
		c.log.Debug().Str("subscription", id).Msg("unsubscribe of an unknown id")
		return
	}
	delete(c.subs, id)
	ctx.Stop(pid)
	c.log.Debug().Str("subscription", id).Msg("unsubscribed")
}

// sendTo handles a SEND: /app/subscribe asks the topic for the current
// snapshot, which then goes to this connection's subscriptions only.
func (c *connectionActor) sendTo(ctx actor.Context, dest string) *failure {
	switch {
	case dest == "/app/subscribe":
		ctx.Request(c.sys.topic, &currentRequest{})
		return nil
	case strings.HasPrefix(dest, "/topic/"):
		return &failure{code: closeProtocolError, message: "SEND to a topic is not allowed",
			detail: "clients cannot publish to " + strconv.Quote(dest) + "; SEND to /app/subscribe to get the current snapshot"}
	}
	return &failure{code: closeProtocolError, message: "unknown destination",
		detail: "no destination " + strconv.Quote(dest) + "; SEND to /app/subscribe"}
}

// jsonCommand is the seed's JSON form: one object per transport message,
// {"command":"SUBSCRIBE","destination":"/topic/metrics","id":"sub-0"}.
// Headers may also come in a "headers" object, as STOMP-minded clients
// write them.
type jsonCommand struct {
	Command     string            `json:"command"`
	Destination string            `json:"destination"`
	ID          string            `json:"id"`
	Receipt     string            `json:"receipt"`
	Headers     map[string]string `json:"headers"`
}

func (c *connectionActor) jsonCommand(ctx actor.Context, data []byte) {
	if len(bytes.TrimSpace(data)) == 0 {
		return // an empty message is a keep-alive
	}
	var cmd jsonCommand
	if err := json.Unmarshal(data, &cmd); err != nil {
		c.fail(ctx, &failure{code: closeProtocolError, message: "malformed command", detail: "want a JSON object with a command field"}, nil)
		return
	}
	fill := func(dst *string, key string) {
		if *dst == "" {
			*dst = cmd.Headers[key]
		}
	}
	fill(&cmd.Destination, stomp.HdrDestination)
	fill(&cmd.ID, stomp.HdrID)
	fill(&cmd.Receipt, stomp.HdrReceipt)
	c.log.Debug().Str("command", cmd.Command).Msg("JSON command")
	if why := c.authorize(jsonAuthHeader(cmd.Headers), cmd.Headers[hdrPasscode]); why != nil {
		c.fail(ctx, why, nil)
		return
	}

	var why *failure
	switch strings.ToUpper(cmd.Command) {
	case "SUBSCRIBE":
		id := cmd.ID
		if id == "" {
			id = cmd.Destination
		}
		why = c.subscribe(ctx, id, cmd.Destination)
	case "UNSUBSCRIBE":
		id := cmd.ID
		if id == "" {
			id = cmd.Destination
		}
		c.unsubscribe(ctx, id)
	case "SEND":
		why = c.sendTo(ctx, cmd.Destination)
	case "CONNECT", "STOMP", "ACK", "NACK":
		// Nothing to negotiate in this form.
	case "DISCONNECT":
		c.jsonReceipt(ctx, cmd.Receipt)
		c.closeWith(ctx, closeNormal, "Normal closure")
		return
	default:
		why = &failure{code: closeProtocolError, message: "unknown command",
			detail: "unknown command " + strconv.Quote(cmd.Command) + "; use SUBSCRIBE, UNSUBSCRIBE or SEND"}
	}
	if why != nil {
		c.fail(ctx, why, nil)
		return
	}
	c.jsonReceipt(ctx, cmd.Receipt)
}

func (c *connectionActor) jsonReceipt(ctx actor.Context, receipt string) {
	if receipt == "" {
		return
	}
	b, _ := json.Marshal(struct {
		ReceiptID string `json:"receipt-id"`
	}{receipt})
	c.send(ctx, Outgoing{Head: b})
}

// Headers that carry a client's token.
const (
	hdrAuthorization = "Authorization"
	hdrPasscode      = "passcode"
)

// authHeader returns a frame's Authorization header, in either case.
func authHeader(f *stomp.Frame) string {
	if v, ok := f.Get(hdrAuthorization); ok {
		return v
	}
	return f.Header("authorization")
}

// jsonAuthHeader is authHeader for the JSON command form's headers.
func jsonAuthHeader(h map[string]string) string {
	if v, ok := h[hdrAuthorization]; ok {
		return v
	}
	return h["authorization"]
}

// authorize checks a session's token once, at CONNECT or at the first
// JSON command: the Authorization header value, else the passcode, else
// the transport's credential. Nil means the session may go on. The token
// is never logged.
func (c *connectionActor) authorize(authorization, passcode string) *failure {
	if c.authorized {
		return nil
	}
	token := bearer(authorization)
	if token == "" {
		token = passcode
	}
	if token == "" {
		token = c.credential
	}
	if err := c.cfg.Authorize(token); err != nil {
		return &failure{code: closePolicy, message: err.Error()}
	}
	c.authorized = true
	return nil
}
