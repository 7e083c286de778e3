package actors

import (
	"strconv"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"

	"github.com/eventara/eventara/protocol/stomp"
)

// subscriptionActor is one SUBSCRIBE (or one JSON-form subscribe), a child
// of its connection actor. It registers with the topic when it starts and
// writes each delivered snapshot straight into the client's outbound
// queue: the per-subscriber head (subscription and message-id) in front of
// the topic's shared bytes.
type subscriptionActor struct {
	sys      *System
	conn     ClientConn
	framing  Framing
	version  stomp.Version
	id       string // the client's subscription id
	idPrefix string // message-id prefix, unique to this subscription
	log      zerolog.Logger

	head []byte   // the MESSAGE head up to the message-id's sequence number, escaped once
	seq  uint64   // message-ids sent
	dead bool     // the client's queue overflowed; the connection is closing
	slot *deliver // the topic's pushes, one incarnation's
	last *Shared  // the last snapshot the topic's pushes sent

	// alerts marks a subscription of /topic/alerts: it registers with the
	// alerts topic and takes every queued transition from aslot.
	alerts bool
	aslot  *alertSlot
}

// register registers with the subscription's topic.
func (s *subscriptionActor) register(ctx actor.Context) {
	if s.alerts {
		ctx.Send(s.sys.alertsTopic, &alertsSubscribe{sub: ctx.Self(), slot: s.aslot})
		return
	}
	ctx.Send(s.sys.topic, &topicSubscribe{sub: ctx.Self(), slot: s.slot})
}

func (s *subscriptionActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		// Its only logs are at debug level: without them a subscription
		// keeps no logger context of its own (zerolog's With holds 500 bytes).
		s.log = zerolog.Nop()
		if s.sys.debugLog {
			s.log = actorLog(s.sys.log, ctx).With().Str("subscription", s.id).Logger()
		}
		if s.alerts {
			s.aslot = new(alertSlot)
		} else {
			s.slot = new(deliver)
		}
		s.register(ctx)
	case *resubscribe:
		s.register(ctx)
	case *alertSlot:
		q, overflow := msg.take()
		if overflow && !s.dead {
			s.dead = true
			ctx.Send(ctx.Parent(), &slowConsumer{subscription: s.id})
			return
		}
		for _, sh := range q {
			s.deliver(ctx, sh)
		}
	case *deliver:
		if sh := msg.take(); sh != s.last {
			s.last = sh
			s.deliver(ctx, sh)
		}
	case *deliverNow:
		if !s.alerts { // /app/subscribe sends the current snapshot, not an alert
			s.deliver(ctx, msg.shared)
		}
	}
}

// appendHead appends this subscription's MESSAGE head for s.seq: the
// same bytes as stomp.AppendMessageHead, with the subscription and
// message-id prefix escaped only once, on first use.
func (s *subscriptionActor) appendHead(dst []byte) []byte {
	if s.head == nil {
		h := stomp.AppendMessageHead(nil, s.version, s.id, s.idPrefix, 0)
		s.head = h[:len(h)-len("0\n")]
	}
	dst = append(dst, s.head...)
	dst = strconv.AppendUint(dst, s.seq, 10)
	return append(dst, '\n')
}

func (s *subscriptionActor) deliver(ctx actor.Context, sh *Shared) {
	if s.dead || sh == nil {
		return
	}
	out := Outgoing{Shared: sh}
	if s.framing == FramingSTOMP {
		s.seq++
		out.Head = s.appendHead(make([]byte, 0, len(s.head)+24))
	}
	if !s.conn.Send(out) {
		s.dead = true
		ctx.Send(ctx.Parent(), &slowConsumer{subscription: s.id})
		return
	}
	s.log.Debug().Uint64("seq", s.seq).Msg("snapshot queued")
}
