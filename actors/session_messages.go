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
// /topic/metrics. Only Snapshot.BuiltAt and Snapshot.JSON are read.
type SnapshotReady struct {
	Snapshot *snapshots.Snapshot
}

// topicSubscribe registers a subscription actor with the topic, which
// answers at once with the current snapshot (if any) as a *deliver.
type topicSubscribe struct {
	sub *actor.PID
}

// currentRequest asks the topic for its current snapshot; it answers
// *currentReply to the sender (the /app/subscribe path).
type currentRequest struct{}

// currentReply answers currentRequest; shared is nil before the first tick.
type currentReply struct {
	// subscribers is how many subscription actors the topic serves now.
	subscribers int
	shared      *Shared
}

// deliver hands one snapshot to a subscription actor. One value is sent to
// every subscriber of a tick.
type deliver struct {
	shared *Shared
}

// openSession asks the session manager to spawn a connection actor for
// conn; it answers *sessionOpened.
type openSession struct {
	conn ClientConn
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
