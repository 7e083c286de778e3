package actors

import (
	"strconv"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"

	"github.com/eventara/eventara/protocol/stomp"
	"github.com/eventara/eventara/snapshots"
)

// metricsTopic is the one destination clients subscribe to.
const metricsTopic = "/topic/metrics"

// topicActor is /topic/metrics: it keeps the current snapshot's Shared bytes
// and the subscription actors registered with it, and hands each tick's
// Shared to all of them.
//
// The fan-out is the same in cluster mode: every node builds, from the
// stream, the same snapshot for the same tick and pushes it to its own
// subscribers, so pushes never cross nodes and need no second
// implementation (source.go).
//
// Invariant (one encode per tick): the STOMP bytes common to every
// subscriber are built here, once per snapshot, by buildShared; a
// subscription only adds its ~60-byte head. Guarded by
// TestStompFanOutSharesOneEncoding. How those bytes go on the wire
// (SockJS escaping, permessage-deflate) is transport's: it frames each
// Shared once, whatever the number of subscribers
// (transport/sockjs TestFramingsBuiltOncePerSnapshot).
//
// Invariant (nothing blocks the tick): the topic only does ctx.Send; a
// subscription that cannot write to its client reports to its
// connection, never back here. Guarded by
// TestStompSlowConsumerClosedOthersServed.
//
// Bounded: the topic's mailbox holds at most one SnapshotReady
// (System.publish) besides one topicSubscribe or Terminated per
// subscription's start and end; each subscription's mailbox holds at most
// one push from it (deliver): a subscription that has not taken the last
// one skips the tick and gets the newest snapshot when it does. Guarded by
// TestStalledSubscriptionHoldsOnePush.
type topicActor struct {
	sys *System
	log zerolog.Logger
	// snap is the newest snapshot; current, its Shared bytes, is built on
	// first need: a tick with no subscriber prepares nothing.
	snap    *snapshots.Snapshot
	current *Shared
	subs    map[string]topicSub // by PID id
}

// topicSub is one registered subscription and its push slot.
type topicSub struct {
	pid  *actor.PID
	slot *deliver
}

// spawnTopic starts the /topic/metrics actor under the root. The aggregator
// sends it *SnapshotReady{Snapshot} once per tick.
func spawnTopic(s *System) (*actor.PID, error) {
	p := props(KindTopic, func() actor.Actor {
		return &topicActor{sys: s, subs: make(map[string]topicSub)}
	})
	return s.root.SpawnNamed(p, "topic")
}

func (t *topicActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		t.log = actorLog(t.sys.log, ctx)
		// A restarted topic serves the newest snapshot at once, and every
		// live subscription registers with it again (none on a first start).
		t.snap = t.sys.latest.Load()
		for _, pid := range t.sys.reg.pids(KindSubscription) {
			ctx.Send(pid, &resubscribe{})
		}
		t.log.Debug().Msg("topic started")
	case *SnapshotReady:
		t.sys.snapshotQueued.release()
		if msg.Snapshot == nil {
			return
		}
		t.snap, t.current = msg.Snapshot, nil
		if len(t.subs) == 0 {
			return
		}
		sh := t.shared()
		sent := 0
		for _, sub := range t.subs {
			if sub.slot.push(ctx, sub.pid, sh) {
				sent++
			}
		}
		t.sys.metrics.MessagesSent(sent)
		t.log.Debug().Int("subscribers", len(t.subs)).Int("pushed", sent).Int("bytes", len(sh.JSON)).Msg("snapshot fanned out")
	case *topicSubscribe:
		if _, ok := t.subs[msg.sub.Id]; !ok {
			ctx.Watch(msg.sub)
		}
		t.subs[msg.sub.Id] = topicSub{pid: msg.sub, slot: msg.slot}
		if sh := t.shared(); sh != nil && msg.slot.push(ctx, msg.sub, sh) {
			t.sys.metrics.MessagesSent(1)
		}
		t.log.Debug().Str("subscriber", msg.sub.Id).Int("subscribers", len(t.subs)).Msg("subscribed")
	case *actor.Terminated:
		delete(t.subs, msg.Who.Id)
		t.log.Debug().Str("subscriber", msg.Who.Id).Int("subscribers", len(t.subs)).Msg("unsubscribed")
	case *currentRequest:
		ctx.Respond(&currentReply{shared: t.shared(), subscribers: len(t.subs)})
	}
}

// shared returns the newest snapshot's Shared bytes, building them once.
func (t *topicActor) shared() *Shared {
	if t.current == nil && t.snap != nil {
		t.current = buildShared(t.snap)
	}
	return t.current
}

// buildShared prepares the bytes of a snapshot's MESSAGE that every
// subscriber shares: the headers after the per-subscriber subscription and
// message-id (so content-length is among them), the blank line, the body
// and the NUL. The header values need no STOMP escaping in any version.
func buildShared(snap *snapshots.Snapshot) *Shared {
	body := snap.JSON
	tail := make([]byte, 0, len(body)+128)
	tail = append(tail, stomp.HdrDestination+":"+metricsTopic+"\n"+
		stomp.HdrContentType+":application/json\n"+
		"timestamp:"...)
	tail = strconv.AppendInt(tail, snap.BuiltAt.UnixMilli(), 10)
	tail = append(tail, "\n"+stomp.HdrContentLength+":"...)
	tail = strconv.AppendInt(tail, int64(len(body)), 10)
	tail = append(tail, "\n\n"...)
	tail = append(tail, body...)
	tail = append(tail, 0)
	return &Shared{JSON: body, STOMPTail: tail}
}
