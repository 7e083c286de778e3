package actors

import (
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

	seq  uint64 // message-ids sent
	dead bool   // the client's queue overflowed; the connection is closing
}

func (s *subscriptionActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		s.log = actorLog(s.sys.log, ctx).With().Str("subscription", s.id).Logger()
		ctx.Send(s.sys.topic, &topicSubscribe{sub: ctx.Self()})
	case *deliver:
		s.deliver(ctx, msg.shared)
	}
}

func (s *subscriptionActor) deliver(ctx actor.Context, sh *Shared) {
	if s.dead || sh == nil {
		return
	}
	out := Outgoing{Shared: sh}
	if s.framing == FramingSTOMP {
		s.seq++
		out.Head = stomp.AppendMessageHead(make([]byte, 0, 64+len(s.id)+len(s.idPrefix)), s.version, s.id, s.idPrefix, s.seq)
	}
	if !s.conn.Send(out) {
		s.dead = true
		ctx.Send(ctx.Parent(), &slowConsumer{subscription: s.id})
		return
	}
	s.log.Debug().Uint64("seq", s.seq).Msg("snapshot queued")
}
