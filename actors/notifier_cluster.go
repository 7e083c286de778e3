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
// at the transition's time; only the deliverer decides the steps of
// deliveries (an attempt's start, its outcome, a give-up, a take-over),
// publishes them as outbox notes, and sends.
//
// Invariant: every node's outbox and delivery log are derived alike,
// from the same records in stream order. The deliverer is no exception:
// its own records reach its outbox and its log only when the stream hands
// them back (applyOutboxNote), never when it decides them, so a
// deliverer killed between a decision and the stream storing it has in
// its log exactly what the others have (nothing of it), and applies what
// the next deliverer decided instead. Meanwhile it remembers its
// decisions (steps) and the outbox holds their notifications
// (notify.Outbox.Hold), so it never decides one twice, never sends one
// twice. A record that reaches the stream after the state it was decided
// from has passed (a late outcome of an old deliverer, its attempt taken
// over) changes nothing anywhere (notify.Outbox.Apply, outbox_cluster.go
// in notify). Guarded by TestClusterDelivererKilledBeforeItsOutcomeIsStored,
// TestClusterLateOutcomeOfAnOldDeliverer,
// TestClusterDelivererSendsOnceWhileItsStartIsOnItsWay,
// TestClusterDelivererNotifierRestartsBeforeItsOutcomeComesBack
// (cluster_outbox_test.go), the tests named in cluster_state.go and, on
// real processes, TestClusterDelivererKilled.

// outboxNoteQueueLength bounds the outbox notes waiting to be published.
//
// Queue: notePublisher.jobs. Bound: outboxNoteQueueLength notes. At the
// bound: the note is not published, like a note whose publishing failed:
// an attempt whose start it was is not made; a give-up or take-over is
// decided again after notePause; an outcome is lost, and its attempt is
// taken over as interrupted (takeOverAfter after its start) and sent
// again (the receiver de-duplicates by Idempotency-Key). A note whose
// publishing fails is handled alike (TestClusterDelivererLosesItsOutcomeNote).
const outboxNoteQueueLength = 1024

// notePause is how long the deliverer waits before deciding again about
// a notification whose note was not published.
const notePause = 2 * time.Second

// takeOverAfter is how long after its start an attempt begun by another
// node (or an earlier run of this one) and never ended is given up as
// interrupted and made again by the deliverer: longer than any send
// (SendTimeout) plus the publishing of its outcome.
func (c *NotificationsConfig) takeOverAfter() time.Duration { return 2*c.SendTimeout + 5*time.Second }

// notePublisher publishes the deliverer's outbox notes one at a time, in
// the order they were handed over, so every node applies an attempt's
// start before its outcome.
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
	// failed, when nobody waits, is called if the note was not published.
	failed func()
	// before is NotificationsConfig.beforeNote.
	before func(id string, n *outboxNote) error
}

func newNotePublisher(c *clusterState, log zerolog.Logger) *notePublisher {
	p := &notePublisher{c: c, log: log, jobs: make(chan noteJob, outboxNoteQueueLength), done: make(chan struct{})}
	go p.run()
	return p
}

func (p *notePublisher) run() {
	defer close(p.done)
	for j := range p.jobs {
		var err error
		if j.before != nil {
			err = j.before(j.id, j.note)
		}
		if err == nil {
			_, err = p.c.publishNote(j.id, noteOutbox, j.note)
		}
		switch {
		case j.sent != nil:
			j.sent <- err
		case err != nil:
			p.log.Error().Err(err).Str("note", j.id).Msg("cluster: outbox note not published; the deliverer decides again")
			if j.failed != nil {
				j.failed()
			}
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

// msgID is the note's message ID, from its origin and its first record
// after the Enqueued ones: a publish retried after a lost ack is stored
// once, and the deliverer knows its note when the stream hands it back.
func (n *outboxNote) msgID() string {
	r := n.Records[0]
	for _, x := range n.Records {
		if x.Kind != notify.RecordEnqueued {
			r = x
			break
		}
	}
	num := 0
	if r.Attempt != nil {
		num = r.Attempt.N
	}
	return "outbox-" + n.Origin + "-" + r.ID + "-" + string(r.Kind) + "-" + strconv.Itoa(num) + "-" + strconv.FormatInt(r.At.UnixNano(), 10)
}

// step is a decision of this node, as the deliverer, about one
// notification: from the moment it is decided until its note comes back
// from the stream (or is known lost), the outbox holds the notification
// (the invariant above). An attempt's step lives until its outcome is
// decided: its start note comes back first (note then ""), its outcome
// may come before that (done).
type step struct {
	note    string          // the message ID of the note awaited ("": none)
	attempt *notify.Attempt // the attempt this node makes (its Sending)
	done    *deliveryDone   // the attempt's outcome, come before its start note
	doneAt  time.Time
	until   time.Time // not zero: paused, its note not published; decided again from then
}

// noteFailed says an outbox note of incarnation gen was not published
// (the publisher logged why).
type noteFailed struct {
	gen  uint64
	note string
}

// publish publishes outbox records this node decided, as one note,
// without waiting; their notifications stay held until it comes back.
func (a *notifierActor) publish(ctx actor.Context, recs []notify.Record, now time.Time) {
	if len(recs) == 0 {
		return
	}
	n := &outboxNote{Origin: a.sys.cluster.nodeName(), Records: recs}
	id := n.msgID()
	for _, r := range recs {
		a.steps[r.ID] = &step{note: id}
	}
	gen, self := a.gen, ctx.Self()
	job := noteJob{id: id, note: n, before: a.sys.cfg.Notifications.beforeNote, failed: func() {
		a.sys.root.Send(self, &noteFailed{gen: gen, note: id})
	}}
	if !a.nt.notes.offer(job) {
		a.log.Error().Str("note", id).Msg("cluster: outbox note queue full; the deliverer decides again")
		a.pauseNote(id, now)
	}
}

// pauseNote pauses the steps that awaited note, which was not published.
func (a *notifierActor) pauseNote(note string, now time.Time) {
	a.nt.mu.Lock()
	defer a.nt.mu.Unlock()
	for id, s := range a.steps {
		if s.note == note {
			a.steps[id] = &step{until: now.Add(notePause)}
			a.nt.outbox.Hold(id, time.Time{})
		}
	}
}

func (a *notifierActor) noteFailed(ctx actor.Context, m *noteFailed) {
	a.pauseNote(m.note, a.sys.now())
	a.pump(ctx)
}

// unpause ends the pauses that are over at now and returns when the next
// one ends (zero: none).
func (a *notifierActor) unpause(now time.Time) time.Time {
	var next time.Time
	a.nt.mu.Lock()
	defer a.nt.mu.Unlock()
	for id, s := range a.steps {
		switch {
		case s.until.IsZero():
		case !now.Before(s.until):
			delete(a.steps, id)
			a.nt.outbox.Release(id)
		case next.IsZero() || s.until.Before(next):
			next = s.until
		}
	}
	return next
}

// returned ends the steps that awaited this node's note, just applied:
// their notifications are released; an attempt whose start it was goes
// on, and its outcome, if it came first, is decided now.
func (a *notifierActor) returned(ctx actor.Context, note string) {
	var early []*step
	a.nt.mu.Lock()
	for id, s := range a.steps {
		if s.note != note {
			continue
		}
		a.nt.outbox.Release(id)
		if s.attempt == nil {
			delete(a.steps, id)
			continue
		}
		s.note = ""
		if s.done != nil {
			early = append(early, s)
		}
	}
	a.nt.mu.Unlock()
	for _, s := range early {
		a.outcome(ctx, s.done, s.doneAt)
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
	if !s.notifying.notes.offer(noteJob{id: m.start.msgID(), note: m.start, sent: sent, before: s.cfg.Notifications.beforeNote}) {
		return ErrNotifierBusy
	}
	return <-sent
}

// clusterPump ends the pauses that are over; then, on the deliverer, it
// takes over the attempts another node began and never ended, publishes
// the give-ups past their deadline, starts the due deliveries (held
// until their start notes come back; each channel actor publishes its
// start before sending) and sets the timer. Any other node only looks
// again in a second while something is pending.
func (a *notifierActor) clusterPump(ctx actor.Context) {
	now := a.sys.now()
	pauseEnd := a.unpause(now)
	if !a.sys.cluster.owner() {
		if a.owner {
			a.log.Info().Msg("cluster: another node delivers the notifications now")
		}
		a.owner = false
		a.stopTimer()
		if len(a.nt.outbox.Pending()) > 0 {
			gen, self := a.gen, ctx.Self()
			a.timer = time.AfterFunc(time.Second, func() { a.sys.root.Send(self, &notifierWake{gen: gen}) })
		}
		return
	}
	if !a.owner {
		a.log.Info().Msg("cluster: this node delivers the notifications now")
	}
	a.owner = true
	takeOverAt := a.takeOver(ctx, now)

	o, me := a.nt.outbox, a.sys.cluster.nodeName()
	var starts []handOver
	held := false
	a.nt.mu.Lock()
	expired := o.PlanExpire(now)
	for _, r := range expired {
		o.Hold(r.ID, time.Time{})
	}
	for _, d := range o.Due(now) {
		chID := d.Notification.ChannelID
		ch, ok := a.nt.channels[chID]
		pid := a.children[chID]
		if !ok || pid == nil || a.inflight[chID] >= maxInFlightPerChannel {
			held = true
			continue
		}
		rec, err := o.PlanStart(d.Notification.ID, me, now)
		if err != nil {
			continue
		}
		o.Hold(rec.ID, now)
		a.inflight[chID]++
		cd := &channelDeliver{gen: a.gen, ch: ch.Clone(), n: d.Notification, N: d.N, start: a.startNote(rec.ID, rec)}
		a.steps[rec.ID] = &step{note: cd.start.msgID(), attempt: rec.Attempt}
		starts = append(starts, handOver{pid, cd})
	}
	next, ok := o.NextWake(now)
	a.nt.mu.Unlock()
	a.publish(ctx, expired, now)
	for _, s := range starts {
		ctx.Send(s.pid, s.msg)
	}
	for _, t := range []time.Time{takeOverAt, pauseEnd} {
		if !t.IsZero() && (!ok || t.Before(next)) {
			next, ok = t, true
		}
	}
	a.wakeAt(ctx, now, next, ok, held)
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
func (a *notifierActor) takeOver(ctx actor.Context, now time.Time) time.Time {
	after := a.sys.cfg.Notifications.takeOverAfter()
	var recs []notify.Record
	var next time.Time
	for _, f := range a.nt.outbox.InFlight() {
		if a.steps[f.ID] != nil {
			continue // this incarnation's, or its take-over is on its way
		}
		if at := f.Attempt.Start.Add(after); now.Before(at) {
			if next.IsZero() || at.Before(next) {
				next = at
			}
			continue
		}
		out, err := a.nt.outbox.PlanFinish(f.ID, notify.Attempt{N: f.Attempt.N, By: f.Attempt.By, Outcome: notify.Retryable,
			Error: "interrupted: the node delivering it stopped before its outcome was known"}, now)
		if err == nil {
			recs = append(recs, out...)
		}
	}
	if len(recs) > 0 {
		a.log.Warn().Int("records", len(recs)).Msg("cluster: attempts begun elsewhere and never ended are retried here")
		a.publish(ctx, recs, now)
	}
	return next
}

// clusterFinished takes an attempt's outcome from a channel actor: it
// decides its records once the attempt's start note has come back.
func (a *notifierActor) clusterFinished(ctx actor.Context, m *deliveryDone) {
	now := a.sys.now()
	s := a.steps[m.id]
	switch {
	case s == nil || s.attempt == nil || s.attempt.N != m.attempt.N:
		a.log.Debug().Str("notification", m.id).Int("attempt", m.attempt.N).Msg("attempt outcome of no step ignored")
	case m.startErr != nil:
		// Not sent. If the stream stored its start after all (an ack
		// lost), the attempt is taken over like any other left in flight.
		a.log.Warn().Err(m.startErr).Str("notification", m.id).Int("attempt", m.attempt.N).
			Msg("cluster: attempt not made: the stream did not store its start; decided again later")
		a.nt.mu.Lock()
		a.steps[m.id] = &step{until: now.Add(notePause)}
		a.nt.outbox.Hold(m.id, time.Time{})
		a.nt.mu.Unlock()
	case s.note != "":
		s.done, s.doneAt = m, now // its start note has not come back yet
		return
	default:
		a.outcome(ctx, m, now)
	}
	a.pump(ctx)
}

// outcome decides and publishes the records of this node's attempt's
// outcome, at at. An attempt the stream did not record as in flight (its
// start came after another deliverer's, or the channel went meanwhile)
// has none.
func (a *notifierActor) outcome(ctx actor.Context, m *deliveryDone, at time.Time) {
	att := m.attempt
	att.By = a.sys.cluster.nodeName()
	recs, err := a.nt.outbox.PlanFinish(m.id, att, at)
	if err != nil {
		delete(a.steps, m.id)
		a.log.Info().Err(err).Str("notification", m.id).Int("attempt", att.N).Msg("cluster: attempt outcome not recorded: the stream has no such attempt in flight")
		return
	}
	a.logOutcome(m, recs)
	a.publish(ctx, recs, at)
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

// applyOutboxNote applies the deliverer's outbox transitions, as every
// node does, the deliverer that decided them included (the invariant
// above); for that one, the steps that awaited the note go on.
func (a *notifierActor) applyOutboxNote(ctx actor.Context, m *stateApply) error {
	var n outboxNote
	if err := json.Unmarshal(m.body, &n); err != nil {
		a.log.Error().Err(err).Uint64("seq", m.seq).Msg("cluster: undecodable outbox note skipped")
		return nil
	}
	if len(n.Records) == 0 {
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
	if n.Origin == a.sys.cluster.nodeName() {
		a.returned(ctx, n.msgID())
	}
	a.pump(ctx)
	return nil
}
