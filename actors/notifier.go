package actors

import (
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/eventara/eventara/rules"
)

// Notifier receives the alert transitions to notify (rules.Record.Notify
// set: a notified firing and its resolution), each once, after it is
// journaled. It is the seam of notification channels and their delivery:
// LogNotifier only logs. Notify is called from one goroutine, in journal
// order, never from an actor (see notifyQueue); a slow Notify delays
// other notifications, never evaluation.
type Notifier interface {
	Notify(n Notification)
}

// Notification is one alert transition to notify.
type Notification struct {
	// Seq is the record's number in the state log: unique and increasing,
	// so a durable outbox can use it as its idempotency key and resume
	// after the last one it holds.
	Seq    uint64
	Record rules.Record
	// Rule is the rule as journaled with the record (its channels and
	// message template); nil when the rule was deleted in the same change.
	Rule *rules.Rule
}

// LogNotifier logs each notification at Info (a Config.Notifier for
// systems that deliver nothing).
type LogNotifier struct {
	Log zerolog.Logger
}

// Notify implements Notifier.
func (l LogNotifier) Notify(n Notification) {
	tmpl := ""
	ev := l.Log.Info().Uint64("seq", n.Seq).Str("kind", string(n.Record.Kind)).
		Str("alert", n.Record.Alert.ID).Str("rule", n.Record.Alert.RuleID)
	if n.Rule != nil {
		ev = ev.Strs("channels", n.Rule.NotificationChannels)
		if n.Rule.NotificationConfig != nil {
			tmpl = n.Rule.NotificationConfig.MessageTemplate
		}
	}
	ev.Str("message", rules.RenderMessage(tmpl, &n.Record.Alert)).Msg("alert notification (no delivery configured)")
}

// notifyQueueLength bounds the notifications waiting for the Notifier.
const notifyQueueLength = 1024

// notifyQueue hands notifications from the rules actor to the Notifier on
// a goroutine of its own, so that a slow or blocking Notifier never holds
// the rules actor (and with it the journaling of alert transitions).
//
// Queue: notifications handed over and not yet given to Notify.
// Bound: notifyQueueLength. At the bound: the notification is dropped
// with an Error log naming its seq (the record itself is journaled and
// listed; a durable outbox resumes from the state log by seq). Guarded by
// TestNotifyQueueDropsPastItsBound.
type notifyQueue struct {
	ch   chan Notification
	done chan struct{}
	log  zerolog.Logger
	once sync.Once
}

func newNotifyQueue(n Notifier, log zerolog.Logger, length int) *notifyQueue {
	q := &notifyQueue{ch: make(chan Notification, length), done: make(chan struct{}), log: log}
	go q.run(n)
	return q
}

func (q *notifyQueue) run(n Notifier) {
	defer close(q.done)
	for note := range q.ch {
		q.call(n, note)
	}
}

// call gives one notification to the Notifier; a panic in it is logged,
// not fatal.
func (q *notifyQueue) call(n Notifier, note Notification) {
	defer func() {
		if v := recover(); v != nil {
			q.log.Error().Str("reason", fmt.Sprint(v)).Uint64("seq", note.Seq).Msg("notifier panicked")
		}
	}()
	n.Notify(note)
}

// offer queues note unless the queue is full; it never blocks.
func (q *notifyQueue) offer(note Notification) bool {
	select {
	case q.ch <- note:
		return true
	default:
		q.log.Error().Uint64("seq", note.Seq).Str("alert", note.Record.Alert.ID).Str("kind", string(note.Record.Kind)).
			Msg("notification dropped: notifier queue full")
		return false
	}
}

// close stops taking notifications and waits for the queued ones.
func (q *notifyQueue) close() {
	q.once.Do(func() { close(q.ch) })
	<-q.done
}

// notifyWait bounds how long the rules' hand-over goroutine waits for the
// notifier to journal one alert's notifications.
const notifyWait = 30 * time.Second

// actorNotifier is the Notifier of a System whose Config.Notifier is nil:
// it hands each alert transition to the notifier actor and waits until its
// notifications are journaled in the outbox, so at most one alertNotify
// is in the notifier's mailbox. One that fails or times out is logged; the
// notifier's next start enqueues it (reoffer).
type actorNotifier struct{ sys *System }

// Notify implements Notifier.
func (n actorNotifier) Notify(note Notification) {
	m := &alertNotify{n: note, done: make(chan error, 1)}
	n.sys.root.Send(n.sys.notifier, m)
	t := time.NewTimer(notifyWait)
	defer t.Stop()
	select {
	case err := <-m.done:
		if err != nil {
			n.sys.log.Error().Err(err).Uint64("seq", note.Seq).Str("alert", note.Record.Alert.ID).
				Msg("alert notifications not enqueued; the notifier enqueues them at its next start")
		}
	case <-t.C:
		n.sys.log.Error().Uint64("seq", note.Seq).Str("alert", note.Record.Alert.ID).
			Msg("notifier did not take an alert in time; it enqueues it at its next start")
	}
}
