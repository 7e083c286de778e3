package actors

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"

	"github.com/eventara/eventara/notify"
)

// The notifier in cluster mode (see cluster_state.go): channel changes go
// to the stream (proposeChannel) and come back from it (applyNote); every
// node enqueues the same notifications from the same alert transitions,
// at the transition's time; only the deliverer starts attempts, and it
// publishes each attempt's start (before sending) and its outcome, which
// the other nodes apply (applyOutboxNote).

// outboxNoteQueueLength bounds the outbox notes waiting to be published.
//
// Queue: notePublisher.jobs. Bound: outboxNoteQueueLength notes. At the
// bound: an attempt's start is not published and the attempt is not made
// (retried later, as after a failed send); an outcome is not published
// (Error log): the other nodes keep that notification pending, and one of
// them that becomes the deliverer sends it again (the receiver
// de-duplicates by Idempotency-Key).
const outboxNoteQueueLength = 1024

// takeOverAfter is how long after its start an attempt begun by another
// node (or an earlier run of this one) and never ended is given up as
// interrupted and made again by the deliverer: longer than any send
// (SendTimeout) plus the publishing of its outcome.
func (c *NotificationsConfig) takeOverAfter() time.Duration { return 2*c.SendTimeout + 5*time.Second }

// notePublisher publishes the deliverer's outbox notes one at a time, in
// the order they were handed over, so every node applies an attempt's
// start before its outcome and the outcome of one attempt before the
// start of the next.
type notePublisher struct {
	c    *clusterState
	log  zerolog.Logger
	jobs chan noteJob
	done chan struct{}
}

type noteJob struct {
	id   string
	note *outboxNote
	sent chan error // nil: nobody waits
}

func newNotePublisher(c *clusterState, log zerolog.Logger) *notePublisher {
	p := &notePublisher{c: c, log: log, jobs: make(chan noteJob, outboxNoteQueueLength), done: make(chan struct{})}
	go p.run()
	return p
}

func (p *notePublisher) run() {
	defer close(p.done)
	for j := range p.jobs {
		_, err := p.c.publishNote(j.id, noteOutbox, j.note)
		if j.sent != nil {
			j.sent <- err
		} else if err != nil {
			p.log.Error().Err(err).Str("note", j.id).Msg("cluster: outbox transitions not published; the other nodes keep the notification pending")
		}
	}
}

// offer queues a note; false when the queue is full.
func (p *notePublisher) offer(j noteJob) bool {
	select {
	case p.jobs <- j:
		return true
	default:
		return false
	}
}

func (p *notePublisher) close() {
	close(p.jobs)
	<-p.done
}

// outboxNoteID is the message ID of the deliverer's note of recs: a
// publish retried after a lost ack is stored once.
func outboxNoteID(recs []notify.Record) string {
	r := recs[0]
	n := 0
	if r.Attempt != nil {
		n = r.Attempt.N
	}
	return "outbox-" + r.ID + "-" + string(r.Kind) + "-" + strconv.Itoa(n) + "-" + strconv.FormatInt(r.At.UnixNano(), 10)
}

// announce publishes, without waiting, outbox transitions the deliverer
// journaled.
func (a *notifierActor) announce(recs []notify.Record) {
	if a.sys.cluster == nil || len(recs) == 0 {
		return
	}
	n := &outboxNote{Origin: a.sys.cluster.nodeName(), Records: recs}
	if !a.nt.notes.offer(noteJob{id: outboxNoteID(recs), note: n}) {
		a.log.Error().Str("notification", recs[0].ID).Msg("cluster: outbox note queue full; the other nodes keep the notification pending")
	}
}

// startNote is what a channel actor publishes, and waits for, before it
// sends attempt N of notification id: the Enqueued record first, so a
// node that has not enqueued it yet knows it.
func (a *notifierActor) startNote(id string, start notify.Record) *outboxNote {
	recs := []notify.Record{start}
	if enq, ok := a.nt.outbox.EnqueuedRecord(id); ok {
		recs = []notify.Record{enq, start}
	}
	return &outboxNote{Origin: a.sys.cluster.nodeName(), Records: recs}
}

// publishStart publishes the start of attempt m.N and waits for the
// stream's ack; an error means the attempt must not be made.
func (s *System) publishStart(m *channelDeliver) error {
	if m.start == nil {
		return nil
	}
	sent := make(chan error, 1)
	if !s.notifying.notes.offer(noteJob{id: outboxNoteID(m.start.Records[len(m.start.Records)-1:]), note: m.start, sent: sent}) {
		return ErrNotifierBusy
	}
	return <-sent
}

// clusterPump decides whether this node delivers: the deliverer does,
// after taking over the attempts another node began and never ended; any
// other node only looks again in a second while something is pending.
// For the deliverer it also returns when the next attempt begun elsewhere
// is due for take-over (zero: none), for pump's timer.
func (a *notifierActor) clusterPump(ctx actor.Context) (deliver bool, takeOverAt time.Time) {
	if a.sys.cluster.owner() {
		if !a.owner {
			a.log.Info().Msg("cluster: this node delivers the notifications now")
		}
		a.owner = true
		return true, a.takeOver()
	}
	if a.owner {
		a.log.Info().Msg("cluster: another node delivers the notifications now")
	}
	a.owner = false
	a.stopTimer()
	if len(a.nt.outbox.Pending()) > 0 {
		gen, self := a.gen, ctx.Self()
		a.timer = time.AfterFunc(time.Second, func() { a.sys.root.Send(self, &notifierWake{gen: gen}) })
	}
	return false, time.Time{}
}

// takeOver ends, as interrupted with an unknown outcome, the attempts
// begun elsewhere (another node, an earlier run of this one) longer ago
// than takeOverAfter: they are retried, with the same Idempotency-Key.
// It returns when the youngest of the others will be that old (zero:
// none is left).
//
// Invariant: while an attempt begun elsewhere is in flight, the
// deliverer's timer fires by its take-over time. Nothing else wakes the
// deliverer for it: the outbox's NextWake leaves attempts in flight out
// (their outcome wakes the node that makes them), and a node killed
// during its attempt sends no outcome, so without this wake the
// notification stayed pending until an unrelated change pumped the
// notifier (TestClusterDelivererKilled, TestClusterTakesOverAnAttemptLeftInFlight).
func (a *notifierActor) takeOver() time.Time {
	now, after := a.sys.now(), a.sys.cfg.Notifications.takeOverAfter()
	var recs []notify.Record
	var next time.Time
	a.nt.mu.Lock()
	for _, f := range a.nt.outbox.InFlight() {
		if a.mine[f.ID] {
			continue
		}
		if at := f.Attempt.Start.Add(after); now.Before(at) {
			if next.IsZero() || at.Before(next) {
				next = at
			}
			continue
		}
		out, err := a.nt.outbox.Finish(f.ID, notify.Attempt{Outcome: notify.Retryable,
			Error: "interrupted: the node delivering it stopped before its outcome was known"}, now)
		if err == nil {
			recs = append(recs, out...)
		}
	}
	a.nt.mu.Unlock()
	if len(recs) > 0 {
		a.log.Warn().Int("records", len(recs)).Msg("cluster: attempts begun elsewhere and never ended are retried here")
		a.journalOutbox(recs)
		a.announce(recs)
	}
	return next
}

// proposeChannel publishes a validated channel change; every node (this
// one included) applies it in stream order (applyChannelNote), and m is
// answered then.
func (a *notifierActor) proposeChannel(m *channelCommand, next *notify.Channel, base, now time.Time) {
	n := &channelNote{Token: "channel-" + a.ids.New(now).String(), Op: channelOpNames[m.op], ID: m.id, At: now, Channel: next, Base: base}
	nt, cs := a.nt, a.sys.cluster
	nt.waiting.add(n.Token, m)
	go func() {
		if _, err := cs.publishNote(n.Token, noteChannel, n); err != nil {
			if w, ok := nt.waiting.take(n.Token); ok {
				w.answer(channelAnswer{err: err})
			}
		}
	}()
}

// applyNote applies a notifier note read from the stream, unless it was
// applied before (read again after a restart).
func (a *notifierActor) applyNote(ctx actor.Context, m *stateApply) {
	if m.seq <= a.nt.streamSeq {
		m.answer(nil)
		return
	}
	var err error
	switch m.kind {
	case noteChannel:
		err = a.applyChannelNote(ctx, m)
	case noteOutbox:
		err = a.applyOutboxNote(ctx, m)
	}
	m.answer(err)
}

// applyChannelNote applies a channel change as the receiving node
// validated it, checked again against the channels as they are at this
// point of the stream (the same on every node).
func (a *notifierActor) applyChannelNote(ctx actor.Context, m *stateApply) error {
	var n channelNote
	if err := json.Unmarshal(m.body, &n); err != nil {
		a.log.Error().Err(err).Uint64("seq", m.seq).Msg("cluster: undecodable channel note skipped")
		return nil
	}
	op, ok := opNamed(channelOpNames, n.Op)
	if !ok || (op != opChannelDelete && n.Channel == nil) {
		a.log.Error().Str("op", n.Op).Uint64("seq", m.seq).Msg("cluster: bad channel note skipped")
		return nil
	}
	id := n.ID
	if op == opChannelCreate {
		id = n.Channel.ID
	}
	ans := channelAnswer{err: a.check(op, id, n.Channel, n.Base)}
	if ans.err == nil {
		var err error
		if ans, err = a.change(ctx, op, id, n.Channel, n.At, m.seq); err != nil {
			return err
		}
	} else {
		a.log.Debug().Err(ans.err).Uint64("seq", m.seq).Msg("cluster: channel change refused")
	}
	if w, ok := a.nt.waiting.take(n.Token); ok {
		w.answer(ans)
	}
	return nil
}

// applyOutboxNote applies the deliverer's outbox transitions, unless this
// node is the one that decided (and journaled) them.
func (a *notifierActor) applyOutboxNote(ctx actor.Context, m *stateApply) error {
	var n outboxNote
	if err := json.Unmarshal(m.body, &n); err != nil {
		a.log.Error().Err(err).Uint64("seq", m.seq).Msg("cluster: undecodable outbox note skipped")
		return nil
	}
	if n.Origin == a.sys.cluster.nodeName() || len(n.Records) == 0 {
		return nil
	}
	entries := outboxEntries(n.Records)
	for _, e := range entries {
		e.StreamSeq = m.seq
	}
	if err := a.append(entries); err != nil {
		return err
	}
	a.nt.mu.Lock()
	a.nt.streamSeq = m.seq
	for _, r := range n.Records {
		a.nt.outbox.Apply(r)
	}
	a.nt.mu.Unlock()
	a.maybeCompact()
	return nil
}
