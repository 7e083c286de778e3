package actors

import (
	"encoding/json"
	"strconv"
	"sync"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"

	"github.com/eventara/eventara/protocol/stomp"
	"github.com/eventara/eventara/rules"
)

// alertsTopic is the destination of live alert transitions.
const alertsTopic = "/topic/alerts"

// hdrTransition names the transition in an alert MESSAGE (ALERT_PENDING,
// ALERT_FIRING, ALERT_ACKNOWLEDGED, ALERT_RESOLVED, ALERT_CANCELED): the
// alert's status alone does not tell a canceled pending alert from a new one.
const hdrTransition = "transition"

// maxAlertBacklog bounds the alert messages one subscription has not
// taken yet (see alertSlot).
const maxAlertBacklog = 256

// alertsTopicActor is /topic/alerts (a child of the root, "topic-alerts",
// supervised as a topic). Unlike /topic/metrics, whose subscribers only
// need the newest snapshot, every transition is a message of its own, so
// each subscription gets a bounded queue (alertSlot) rather than a
// one-value slot. The bytes of each transition are built once by the
// rules actor (buildAlertShared) and shared by every subscriber.
//
// Bounded: its mailbox holds at most maxAlertsQueued alertPublished
// (System.publishAlert) plus a registration and an end per subscription;
// each subscription holds at most maxAlertBacklog messages not yet taken,
// and one alertSlot message in its mailbox. A subscription past its
// backlog is closed as a slow consumer, like a client whose outbound
// queue is full. Guarded by TestAlertSubscriberBacklogBounded.
type alertsTopicActor struct {
	sys  *System
	log  zerolog.Logger
	subs map[string]alertSub
}

type alertSub struct {
	pid  *actor.PID
	slot *alertSlot
}

// alertPublished is one alert transition for the alerts topic.
type alertPublished struct {
	shared *Shared
}

func (*alertPublished) abandon(sys *System, _ *actor.PID) { sys.alerting.published.Add(-1) }

// alertsSubscribe registers a subscription of /topic/alerts.
type alertsSubscribe struct {
	sub  *actor.PID
	slot *alertSlot
}

// alertSlot is the alerts topic's queue to one subscription: messages
// appended by the topic, taken all at once by the subscription, and at
// most one alertSlot message in the subscription's mailbox. Like deliver
// it is shared, guarded by mu.
type alertSlot struct {
	mu       sync.Mutex
	queue    []*Shared
	overflow bool
	queued   oneQueued
}

// push appends sh (or marks the overflow past maxAlertBacklog) and sends
// the slot unless it is queued already.
func (s *alertSlot) push(ctx actor.Context, pid *actor.PID, sh *Shared) {
	s.mu.Lock()
	if len(s.queue) >= maxAlertBacklog {
		s.overflow = true
	} else {
		s.queue = append(s.queue, sh)
	}
	s.mu.Unlock()
	if s.queued.reserve() {
		ctx.Send(pid, s)
	}
}

// take releases the slot and returns what was queued.
func (s *alertSlot) take() ([]*Shared, bool) {
	s.queued.release()
	s.mu.Lock()
	defer s.mu.Unlock()
	q, over := s.queue, s.overflow
	s.queue = nil
	return q, over
}

func (s *alertSlot) abandon(*System, *actor.PID) { s.queued.release() }

func spawnAlertsTopic(s *System) (*actor.PID, error) {
	p := props(KindTopic, func() actor.Actor {
		return &alertsTopicActor{sys: s, subs: map[string]alertSub{}}
	})
	return s.root.SpawnNamed(p, "topic-alerts")
}

func (t *alertsTopicActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		t.log = actorLog(t.sys.log, ctx)
		// A restarted topic starts with no subscriber: the live ones
		// register again.
		for _, pid := range t.sys.reg.pids(KindSubscription) {
			ctx.Send(pid, &resubscribe{})
		}
	case *alertPublished:
		t.sys.alerting.published.Add(-1)
		for _, sub := range t.subs {
			sub.slot.push(ctx, sub.pid, m.shared)
		}
		t.sys.metrics.MessagesSent(len(t.subs))
	case *alertsSubscribe:
		if _, ok := t.subs[m.sub.Id]; !ok {
			ctx.Watch(m.sub)
		}
		t.subs[m.sub.Id] = alertSub{pid: m.sub, slot: m.slot}
	case *actor.Terminated:
		delete(t.subs, m.Who.Id)
	}
}

// buildAlertShared encodes one alert transition's MESSAGE bytes after the
// per-subscriber headers: the body is the alert as GET /api/v1/alerts/{id}
// returns it.
func buildAlertShared(rec rules.Record) (*Shared, error) {
	body, err := json.Marshal(&rec.Alert)
	if err != nil {
		return nil, err
	}
	tail := make([]byte, 0, len(body)+160)
	tail = append(tail, stomp.HdrDestination+":"+alertsTopic+"\n"+
		stomp.HdrContentType+":application/json\n"+
		hdrTransition+":"+string(rec.Kind)+"\n"+
		"timestamp:"...)
	tail = strconv.AppendInt(tail, rec.At.UnixMilli(), 10)
	tail = append(tail, "\n"+stomp.HdrContentLength+":"...)
	tail = strconv.AppendInt(tail, int64(len(body)), 10)
	tail = append(tail, "\n\n"...)
	tail = append(tail, body...)
	tail = append(tail, 0)
	return &Shared{JSON: body, STOMPTail: tail}, nil
}
