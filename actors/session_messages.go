package actors

import (
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/eventara/eventara/snapshots"
)

// Messages of the topic, the session manager, and the connection and
// subscription actors. Each is an immutable pointer type: the sender never
// touches it again, and *Shared inside them is read-only.

// SnapshotReady is the aggregator's once-per-tick message to the topic of
// /topic/metrics. Only Snapshot.BuiltAt and Snapshot.JSON are read. At
// most one waits in the topic's mailbox (System.publish).
type SnapshotReady struct {
	Snapshot *snapshots.Snapshot
}

// abandon frees the place of a snapshot the topic never handled.
func (m *SnapshotReady) abandon(sys *System, _ *actor.PID) { sys.snapshotQueued.release() }

// topicSubscribe registers a subscription actor and its push slot with the
// topic, which pushes the current snapshot (if any) at once. Registering
// again replaces the slot.
type topicSubscribe struct {
	sub  *actor.PID
	slot *deliver
}

// resubscribe asks a subscription actor to register with the topic again
// (a restarted topic starts with none).
type resubscribe struct{}

// deliver is the topic's message to one subscription actor, the same
// value every tick: it carries the newest Shared bytes, and queued keeps
// at most one of it in the subscription's mailbox. Unlike other messages
// it is not immutable: the topic stores shared and reserves queued, the
// subscription releases queued and then reads shared; a tick that finds
// it still queued only stores shared, so the subscription sends the
// newest snapshot when it gets to it (never one twice: it remembers the
// last it sent).
type deliver struct {
	queued oneQueued
	shared atomic.Pointer[Shared]
}

// push stores sh and sends the slot to pid unless it is still queued; it
// reports whether it sent.
func (p *deliver) push(ctx actor.Context, pid *actor.PID, sh *Shared) bool {
	p.shared.Store(sh)
	if !p.queued.reserve() {
		return false
	}
	ctx.Send(pid, p)
	return true
}

// take releases the slot and returns the newest Shared bytes.
func (p *deliver) take() *Shared {
	p.queued.release()
	return p.shared.Load()
}

// abandon releases a slot its subscription never handled (failed on, or
// lost to a drop fault), so the topic pushes to it again.
func (p *deliver) abandon(*System, *actor.PID) { p.queued.release() }

// currentRequest asks the topic for its current snapshot; it answers
// *currentReply to the sender (the /app/subscribe path).
type currentRequest struct{}

// currentReply answers currentRequest; shared is nil before the first tick.
type currentReply struct {
	// subscribers is how many subscription actors the topic serves now.
	subscribers int
	shared      *Shared
}

// deliverNow hands one snapshot to a subscription actor at once, outside the
// ticks: the connection sends it to each of its subscriptions when its
// client asks for the current snapshot (/app/subscribe), one per request,
// so the client's inbound bound bounds them.
type deliverNow struct {
	shared *Shared
}

// openSession asks the session manager to spawn a connection actor for
// conn; it answers *sessionOpened.
type openSession struct {
	conn ClientConn
	// release gives the session's place among MaxSessions back; the
	// connection actor calls it when it stops. Safe to call more than once.
	release func()
}

// sessionOpened is the new connection actor and the count of inbound
// bytes waiting in its mailbox, which session.Receive adds to and the
// actor takes from.
type sessionOpened struct {
	pid     *actor.PID
	pending *atomic.Int64
}

// inbound is one transport message (a SockJS message or a WebSocket text
// frame) for a connection actor.
type inbound struct {
	data []byte
}

// inboundCost is what one inbound message counts against
// SessionConfig.MaxInboundPending.
func inboundCost(data []byte) int64 { return int64(len(data)) + 64 }

// inboundOverflow tells a connection actor that its client's inbound
// messages went past SessionConfig.MaxInboundPending; the rest were
// dropped.
type inboundOverflow struct{}

// clientGone tells a connection actor that transport saw the client leave.
type clientGone struct{}

// slowConsumer tells a connection actor that its client's outbound queue
// was full when a subscription wrote to it.
type slowConsumer struct {
	subscription string
}

// connectTimeout fires ConnectTimeout after a session opened.
type connectTimeout struct{}

// heartBeatSend fires when the connection owes its client a heart-beat.
type heartBeatSend struct{}

// heartBeatCheck fires when a client may have been silent too long.
type heartBeatCheck struct{}
