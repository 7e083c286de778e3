package actors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/eventara/eventara/cluster"
	"github.com/eventara/eventara/notify"
	"github.com/eventara/eventara/rules"
)

// Rules, alerts and notification channels in cluster mode.
//
// On one node the rules actor and the notifier journal every change in
// their state logs and act on it. In a cluster every node keeps the same
// state logs, because every change reaches every node through the stream,
// in stream order, as a note (stateNote), applied by each node's applier
// into its own logs exactly as one node journals it:
//
//   - an API change (a rule created, updated, deleted, enabled, disabled,
//     archived; an alert acknowledged or resolved by hand; a channel
//     created, updated or deleted) is checked against this node's state by
//     the actor that owns it, which also decides what must be decided once
//     (the new ID, the time), then published as a note (noteRuleCommand,
//     noteChannel) and answered once this node has applied it: the answer
//     is what applying it gave, on every node alike (a name taken meanwhile
//     through another node refuses it everywhere);
//   - alert transitions: every node evaluates every rule on the stream's
//     ticks (so each keeps its evaluation history warm), but only the
//     cluster's deliverer, the stream's leader (clusterState.owner),
//     publishes the transitions it steps (noteAlerts), each with the state
//     of the rule's alert machine it stepped from (alertBase). Every node
//     applies a transition note only if its machine is in that state, so
//     a note stepped from a state the stream has moved past (an
//     acknowledgement in between, two deliverers during a change of
//     leader) is dropped alike everywhere, and the deliverer steps again.
//     Alert IDs (<ruleId>-<n>) and times (the tick's stream time) are thus
//     decided once; the transitions are notified by every node's notifier
//     into the same outbox;
//   - deliveries: only the deliverer sends. It publishes each attempt's
//     start before sending (noteOutbox: a deliverer that dies mid-send is
//     known to have tried) and each outcome after; every node, the
//     deliverer included, applies them to its outbox and delivery log
//     only as the stream hands them back, so a deliverer killed before
//     the stream stored one of its notes has no more of it than the
//     others (the deliverer holds what it decided meanwhile:
//     notifier_cluster.go). A node that becomes the deliverer ends the
//     attempts that another node started and never finished as
//     interrupted and sends them again (at least once; the receiver
//     de-duplicates by Idempotency-Key); an outcome of the old deliverer
//     that reaches the stream after that take-over is ignored alike
//     everywhere (notify.Outbox.Apply applies a record only to the state
//     it was decided from).
//
// Every entry applied from a note carries its stream sequence, and each
// store remembers the highest (rulestore.Store.StreamSeq, the notifier's
// streamSeq): a node that reads the stream again after a restart skips the
// notes it applied. The applier waits for each state note to be applied
// before it reads on, so a node that has handed the stream up to a
// sequence has applied every state note before it.
//
// Guarded by TestClusterRulesSameOnEveryNode, TestClusterAlertsSameOnEveryNode,
// TestClusterDeliveryMovesWithTheDeliverer,
// TestClusterTakesOverAnAttemptLeftInFlight,
// TestClusterDelivererKilledBeforeItsOutcomeIsStored,
// TestClusterLateOutcomeOfAnOldDeliverer,
// TestClusterDelivererSendsOnceWhileItsStartIsOnItsWay,
// TestClusterDelivererNotifierRestartsBeforeItsOutcomeComesBack and, on
// real processes, TestClusterAlerting and TestClusterDelivererKilled.

// Kinds of state notes (after noteKey and noteClaim, stream.go).
const (
	noteRuleCommand = 'R' // an API change of rules or alerts: ruleNote
	noteAlerts      = 'A' // alert transitions stepped by the deliverer: alertsNote
	noteChannel     = 'N' // a channel change: channelNote
	noteOutbox      = 'O' // outbox transitions of the deliverer: outboxNote
)

// isStateNote says data is a note for the rules or the notifier.
func isStateNote(data []byte) bool {
	if len(data) == 0 {
		return false
	}
	switch data[0] {
	case noteRuleCommand, noteAlerts, noteChannel, noteOutbox:
		return true
	}
	return false
}

// ruleNote is an API change of rules or alerts as published: the command
// and what the receiving node decided (Token names the request and is the
// message ID, NewID the new rule's ID, At the change's time).
type ruleNote struct {
	Token string `json:"token"`
	Op    string `json:"op"` // ruleOpNames

	ID     string                   `json:"id,omitempty"`
	NewID  string                   `json:"newId,omitempty"`
	At     time.Time                `json:"at"`
	Create *rules.CreateRuleRequest `json:"create,omitempty"`
	Update *rules.UpdateRuleRequest `json:"update,omitempty"`
	Status rules.Status             `json:"status,omitempty"`
	By     string                   `json:"by,omitempty"`
	Notes  string                   `json:"notes,omitempty"`
}

// The operations' names in notes (stable: they are stored in the stream).
var (
	ruleOpNames = map[ruleOp]string{opCreate: "create", opUpdate: "update", opDelete: "delete", opStatus: "status",
		opAcknowledge: "acknowledge", opResolve: "resolve"}
	channelOpNames = map[channelOp]string{opChannelCreate: "create", opChannelUpdate: "update", opChannelDelete: "delete"}
)

// opNamed is the operation named name in names.
func opNamed[T comparable](names map[T]string, name string) (T, bool) {
	for op, n := range names {
		if n == name {
			return op, true
		}
	}
	var zero T
	return zero, false
}

// alertBase is the part of a rule's state an alert transition depends on:
// the rule as last changed, and its alert machine's open alert and hold.
// A transition note applies only to a machine in the state it was stepped
// from (see above).
type alertBase struct {
	RuleUpdated int64             `json:"ruleUpdated"`
	Seq         uint64            `json:"seq"`
	Open        string            `json:"open,omitempty"`
	Status      rules.AlertStatus `json:"status,omitempty"`
	Acked       bool              `json:"acked,omitempty"`
	Hold        bool              `json:"hold,omitempty"`
}

func baseOf(r *rules.Rule, s rules.MachineState) alertBase {
	b := alertBase{RuleUpdated: r.UpdatedAt.UnixNano(), Seq: s.Seq, Hold: s.Hold}
	if s.Open != nil {
		b.Open, b.Status, b.Acked = s.Open.ID, s.Open.Status, s.Open.AcknowledgedAt != nil
	}
	return b
}

// alertsNote is one rule's alert transitions of one tick, stepped by the
// deliverer Origin's rule actor (of generation Gen) from Before.
type alertsNote struct {
	RuleID  string         `json:"ruleId"`
	At      time.Time      `json:"at"`
	Before  alertBase      `json:"before"`
	Records []rules.Record `json:"records"`
	Origin  string         `json:"origin"`
	Gen     uint64         `json:"gen"`
}

// channelNote is a channel change as published: the channel as the
// receiving node validated it (its secrets included: the stream is as
// private as the state logs), and for an update the updatedAt it was
// changed from, so that of two updates racing through two nodes the
// second is refused (ErrChannelChanged) rather than silently undone.
type channelNote struct {
	Token string `json:"token"`
	Op    string `json:"op"` // channelOpNames

	ID      string          `json:"id,omitempty"`
	At      time.Time       `json:"at"`
	Channel *notify.Channel `json:"channel,omitempty"`
	Base    time.Time       `json:"base,omitzero"`
}

// outboxNote is outbox transitions decided by the deliverer Origin,
// applied by every node (Origin included) in stream order.
type outboxNote struct {
	Origin  string          `json:"origin"`
	Records []notify.Record `json:"records"`
}

// ErrChannelChanged refuses a channel update or delete whose channel was
// changed through another node since this node read it (HTTP 409; read
// it again and retry).
var ErrChannelChanged = errors.New("notification channel changed meanwhile through another node")

func encodeNote(kind byte, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode %c note: %w", kind, err)
	}
	return append([]byte{kind}, b...), nil
}

// publishNote publishes a state note under id (a retried publish is
// stored once) and returns its stream sequence.
func (c *clusterState) publishNote(id string, kind byte, v any) (uint64, error) {
	data, err := encodeNote(kind, v)
	if err != nil {
		return 0, err
	}
	seq, err := c.cfg.Publisher.Note(context.Background(), id, data)
	if err != nil {
		if errors.Is(err, cluster.ErrUnavailable) {
			return 0, fmt.Errorf("%w: %w", ErrNoQuorum, err)
		}
		return 0, fmt.Errorf("publish %c note: %w", kind, err)
	}
	return seq, nil
}

// owner says this node is the cluster's deliverer: the one that publishes
// alert transitions and sends notifications. It is the stream's leader as
// last asked (InfoInterval); it never waits for the network (actors ask
// it). During a change of leader there may briefly
// be none (transitions wait a tick) or two (the notes are told apart:
// see above).
func (c *clusterState) owner() bool {
	if c.cfg.owner != nil {
		return c.cfg.owner()
	}
	if c.info.Load() == nil {
		// Never asked yet: ask in the background (the first question
		// blocks), and do not deliver until it is answered.
		go c.view()
		return false
	}
	v := c.view() // never blocks now
	return v.err == nil && v.info.Leader != "" && v.info.Leader == c.cfg.Node.Name()
}

// nodeName is this node's name in the cluster.
func (c *clusterState) nodeName() string {
	if c.cfg.name != "" {
		return c.cfg.name
	}
	return c.cfg.Node.Name()
}

// staleTick bounds the age (by this node's clock) of a tick whose alert
// transitions the deliverer publishes: a node reading the stream again
// after a restart evaluates old ticks, whose outcome was published when
// they were new.
const staleTick = 10 * time.Second

// alertNoteID is the message ID of a rule's transitions of one tick: two
// deliverers stepping the same tick store one note.
func alertNoteID(ruleID string, at time.Time) string {
	return "alert-" + ruleID + "-" + strconv.FormatInt(at.UnixNano(), 10)
}

// stateApply is a state note handed by the applier to the rules actor or
// the notifier; done gets nil once it is applied (or refused alike on
// every node), or the error that kept it from being journaled, after
// which the applier hands it again.
type stateApply struct {
	seq  uint64
	at   time.Time // the note's stream time
	kind byte
	body []byte // the note's JSON
	done chan error
}

func (m *stateApply) answer(err error) {
	select {
	case m.done <- err:
	default:
	}
}

func (m *stateApply) abandon(*System, *actor.PID) { m.answer(ErrRestarting) }

// stateNote hands a state note to the actor that owns its state and waits
// until it is applied: every node applies them in stream order. A note
// that cannot be decoded is skipped alike on every node.
func (r *applierRun) stateNote(m cluster.Msg) bool {
	target := r.sys.rules
	if m.Data[0] == noteChannel || m.Data[0] == noteOutbox {
		target = r.sys.notifier
	}
	failed := false
	for pause := 10 * time.Millisecond; ; pause = min(2*pause, time.Second) {
		a := &stateApply{seq: m.Seq, at: m.Time, kind: m.Data[0], body: m.Data[1:], done: make(chan error, 1)}
		r.sys.root.Send(target, a)
		var err error
		select {
		case err = <-a.done:
		case <-r.stop:
			return false
		}
		if err == nil {
			if failed {
				r.c.applyErr.Store("")
			}
			r.keySeq = m.Seq
			return true
		}
		if !errors.Is(err, ErrRestarting) {
			failed = true
			r.c.applyErr.Store(err.Error())
			r.log.Error().Err(err).Uint64("seq", m.Seq).Str("note", string(m.Data[:1])).Msg("cluster: state note not applied; retrying")
		}
		if !r.sleep(pause) {
			return false
		}
	}
}

// waiters are the API changes this node published and waits to apply,
// by token (the note's message ID), each answered by the actor that
// applies its note.
type waiters[T any] struct {
	mu sync.Mutex
	m  map[string]T
}

func (w *waiters[T]) add(token string, v T) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.m == nil {
		w.m = map[string]T{}
	}
	w.m[token] = v
}

func (w *waiters[T]) take(token string) (T, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	v, ok := w.m[token]
	delete(w.m, token)
	return v, ok
}
