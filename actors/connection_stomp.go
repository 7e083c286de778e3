package actors

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/eventara/eventara/protocol/stomp"
)

// The STOMP side of a connection actor: inbound frames, CONNECT and
// heart-beats, SUBSCRIBE, UNSUBSCRIBE and SEND.

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
	if dest != metricsTopic && dest != alertsTopic {
		return &failure{code: closeProtocolError, message: "unknown destination",
			detail: "no destination " + strconv.Quote(dest) + "; subscribe to " + metricsTopic + " or " + alertsTopic}
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
		id: id, idPrefix: c.sessionID + "-" + n + "-", alerts: dest == alertsTopic}
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
