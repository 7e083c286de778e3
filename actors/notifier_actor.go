package actors

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"

	"github.com/eventara/eventara/notify"
	"github.com/eventara/eventara/protocol/event"
	"github.com/eventara/eventara/rules"
	"github.com/eventara/eventara/rulestore"
)

// Storage of channels and the outbox: the notifier's own state log.
//
// Channel changes and outbox transitions are notifyEntry records in the
// journal's notifier log (journal.NotifyLog), apart from the rules' log so
// that neither owner's compaction deletes the other's records. Each is
// appended in one synced batch before it is acted on: no request is sent
// before its NOTIFICATION_SENDING record is durable, no attempt's outcome
// is shown before its NOTIFICATION_ATTEMPTED record is. (In a cluster
// the deliverer's outbox records are durable in the stream first, before
// it acts on them, and reach every node's log, its own included, from
// the stream: notifier_cluster.go.) Compaction:
// after every compactEvery records and when the notifier stops, its whole
// state (the channels and the outbox's MarshalSnapshot: pending and
// finished notifications within the DoneMax horizon, the delivery log
// within its LogMax bounds) becomes the log's snapshot, so start-up reads
// one bounded snapshot plus a short tail.

// notifyEntryKind names a record of the notifier's log.
type notifyEntryKind string

const (
	entryChannel        notifyEntryKind = "CHANNEL"         // a channel created or updated: the whole channel
	entryChannelDeleted notifyEntryKind = "CHANNEL_DELETED" // ChannelID deleted
	entryOutbox         notifyEntryKind = "OUTBOX"          // one notify.Record
)

// notifyEntry is one record of the notifier's log. Channel holds its
// secrets: the log is as private as the configuration.
type notifyEntry struct {
	Kind      notifyEntryKind `json:"kind"`
	At        time.Time       `json:"at"`
	Channel   *notify.Channel `json:"channel,omitempty"`
	ChannelID string          `json:"channelId,omitempty"`
	Record    *notify.Record  `json:"record,omitempty"`
	// StreamSeq is, in cluster mode, the stream sequence of the note the
	// record was applied from (notifier_cluster.go).
	StreamSeq uint64 `json:"streamSeq,omitempty"`
}

// notifySnapshot is the notifier log's compacted state.
type notifySnapshot struct {
	Channels []*notify.Channel `json:"channels"`
	Outbox   json.RawMessage   `json:"outbox"`
	// StreamSeq is the last cluster note applied (absent on one node).
	StreamSeq uint64 `json:"streamSeq,omitempty"`
}

func outboxEntries(recs []notify.Record) []*notifyEntry {
	out := make([]*notifyEntry, len(recs))
	for i := range recs {
		out[i] = &notifyEntry{Kind: entryOutbox, At: recs[i].At, Record: &recs[i]}
	}
	return out
}

// notifierLoaded is the notifier's state rebuilt from its log.
type notifierLoaded struct {
	channels map[string]*notify.Channel
	outbox   *notify.Outbox
	seq      uint64
	// streamSeq is the last cluster note applied (cluster mode).
	streamSeq uint64
}

// loadNotifier rebuilds the channels and the outbox from the snapshot
// and the log after it.
func loadNotifier(j Journal, cfg notify.OutboxConfig, log zerolog.Logger) (*notifierLoaded, error) {
	nl := j.NotifyLog()
	upTo, data, ok, err := nl.LoadSnapshot()
	if err != nil {
		return nil, fmt.Errorf("load notifier: %w", err)
	}
	l := &notifierLoaded{channels: map[string]*notify.Channel{}, outbox: notify.NewOutbox(cfg), seq: upTo}
	if ok {
		var snap notifySnapshot
		if err := json.Unmarshal(data, &snap); err != nil {
			return nil, fmt.Errorf("load notifier snapshot: %w", err)
		}
		for _, ch := range snap.Channels {
			l.channels[ch.ID] = ch
		}
		l.streamSeq = snap.StreamSeq
		if l.outbox, err = notify.RestoreOutbox(cfg, snap.Outbox); err != nil {
			return nil, fmt.Errorf("load notifier snapshot: %w", err)
		}
	}
	n := 0
	err = nl.Replay(upTo, func(seq uint64, b []byte) error {
		var e notifyEntry
		if err := json.Unmarshal(b, &e); err != nil {
			return fmt.Errorf("notifier record %d: %w", seq, err)
		}
		l.streamSeq = max(l.streamSeq, e.StreamSeq)
		switch e.Kind {
		case entryChannel:
			if e.Channel != nil {
				l.channels[e.Channel.ID] = e.Channel
			}
		case entryChannelDeleted:
			delete(l.channels, e.ChannelID)
		case entryOutbox:
			if e.Record != nil {
				l.outbox.Apply(*e.Record)
			}
		default:
			return fmt.Errorf("notifier record %d: unknown kind %q", seq, e.Kind)
		}
		l.seq, n = seq, n+1
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load notifier: %w", err)
	}
	log.Info().Int("channels", len(l.channels)).Int("pending", len(l.outbox.Pending())).Uint64("seq", l.seq).Int("replayed", n).
		Msg("notification channels and outbox recovered")
	return l, nil
}

// maxInFlightPerChannel bounds the deliveries handed to one channel's
// child and not yet finished.
//
// Queue: a channel actor's mailbox and its sends in progress.
// Bound: maxInFlightPerChannel deliveries (the notifier starts no more).
// At the bound: the rest stay pending in the outbox, not started, and are
// started as attempts finish; nothing is dropped. Guarded by
// TestNotifierDeliversOnceThroughRetries.
const maxInFlightPerChannel = 4

// notifierActor owns the notification channels and the outbox
// (notifying): it journals every change in its log before acting on it,
// turns alert transitions into notifications, starts due deliveries and
// hands them to one child actor per channel, which sends them off the
// notifier's goroutine and reports each attempt back. A timer at the
// outbox's NextWake drives retries.
//
// Restarts: each incarnation rebuilds channels and outbox from the log,
// ends the attempts that were in flight as interrupted (Resume: retried,
// same Idempotency-Key; in a cluster, the deliverer's takeOver), spawns its children again and re-offers the
// alerts notified lately (reoffer). Messages from an earlier incarnation
// (timer, attempt outcomes) carry its generation and are dropped.
type notifierActor struct {
	sys      *System
	nt       *notifying
	log      zerolog.Logger
	first    *notifierLoaded
	gen      uint64
	children map[string]*actor.PID // by channel id
	inflight map[string]int        // by channel id: deliveries handed over, not finished
	timer    *time.Timer
	ids      *event.Generator
	// logSeq is the last record of the log applied; sinceCompact counts
	// those appended since the last compaction.
	logSeq       uint64
	sinceCompact int
	retired      bool
	// Cluster mode (notifier_cluster.go): steps are this incarnation's
	// decisions on their way through the stream (by notification id);
	// owner whether it was the deliverer at the last pump.
	steps map[string]*step
	owner bool
}

// alertNotify hands one alert transition from the rules (the Notifier
// seam) to the notifier; done gets nil once its notifications are
// journaled in the outbox.
type alertNotify struct {
	n    Notification
	done chan error // room for one
}

func (m *alertNotify) answer(err error) {
	select {
	case m.done <- err:
	default:
	}
}

func (m *alertNotify) abandon(*System, *actor.PID) { m.answer(ErrRestarting) }

// notifierWake is the retry timer's beat.
type notifierWake struct{ gen uint64 }

// channelDeliver asks a channel actor for one attempt: ch is a copy of
// the channel as it is now, n the notification, N the attempt's number;
// in cluster mode start is the note of its start, published before it is
// sent (notifier_cluster.go).
type channelDeliver struct {
	gen   uint64
	ch    *notify.Channel
	n     notify.Notification
	N     int
	start *outboxNote
}

// deliveryDone is one attempt's outcome, from a channel actor. In
// cluster mode, startErr says the attempt was not made: the stream did
// not store its start (attempt is then empty but for N).
type deliveryDone struct {
	gen       uint64
	channelID string
	id        string
	attempt   notify.Attempt
	startErr  error
}

func (a *notifierActor) Receive(ctx actor.Context) {
	if a.retired {
		if m, ok := ctx.Message().(abandoner); ok {
			m.abandon(a.sys, ctx.Self())
		}
		return
	}
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.started(ctx)
	case *actor.Restarting:
		a.retired = true
		a.stopTimer()
	case *actor.Stopping:
		a.stopTimer()
		a.compact()
	case *channelCommand:
		a.command(ctx, m)
	case *stateApply:
		a.applyNote(ctx, m)
	case *alertNotify:
		a.alert(ctx, m)
	case *notifierWake:
		if m.gen == a.gen {
			a.pump(ctx)
		}
	case *deliveryDone:
		a.finished(ctx, m)
	case *noteFailed:
		if m.gen == a.gen {
			a.noteFailed(ctx, m)
		}
	case *actor.Terminated:
		for id, pid := range a.children {
			if pid == m.Who {
				delete(a.children, id)
			}
		}
	}
}

func (a *notifierActor) started(ctx actor.Context) {
	a.log = actorLog(a.sys.log, ctx)
	a.gen = a.sys.notifierGen.Add(1)
	a.children, a.inflight, a.ids = map[string]*actor.PID{}, map[string]int{}, event.NewGenerator()
	loaded := a.first
	a.first = nil
	if loaded == nil {
		var err error
		if loaded, err = loadNotifier(a.sys.cfg.Journal, a.sys.cfg.Notifications.Outbox, a.log); err != nil {
			panic(fmt.Errorf("notifier restart: %w", err))
		}
	}
	now := a.sys.now()
	for _, ch := range loaded.channels {
		loaded.outbox.SetLimits(ch.ID, notify.LimitsOf(ch))
	}
	var resumed []notify.Record
	if a.sys.cluster == nil {
		resumed = loaded.outbox.Resume(now)
	} // a cluster's deliverer takes over what nobody ended (takeOver)
	a.steps = map[string]*step{}
	a.nt.mu.Lock()
	a.nt.streamSeq = loaded.streamSeq
	a.nt.channels, a.nt.outbox = loaded.channels, loaded.outbox
	a.nt.mu.Unlock()
	a.logSeq = loaded.seq
	a.journalOutbox(resumed)
	for id := range loaded.channels {
		a.spawn(ctx, id)
	}
	a.reoffer(now)
	a.pump(ctx)
}

func (a *notifierActor) spawn(ctx actor.Context, channelID string) {
	sys, parent := a.sys, ctx.Self()
	p := props(KindChannel, func() actor.Actor { return &channelActor{sys: sys, parent: parent} })
	name := "channel-" + channelID
	pid, err := ctx.SpawnNamed(p, name)
	for n := 1; errors.Is(err, actor.ErrNameExists); n++ {
		pid, err = ctx.SpawnNamed(p, fmt.Sprintf("%s.%d", name, n)) // the previous one is still stopping
	}
	if err != nil {
		panic(fmt.Errorf("spawn channel actor %s: %w", channelID, err))
	}
	ctx.Watch(pid)
	a.children[channelID] = pid
}

func (a *notifierActor) stopTimer() {
	if a.timer != nil {
		a.timer.Stop()
		a.timer = nil
	}
}

// append journals entries in one synced batch.
func (a *notifierActor) append(entries []*notifyEntry) error {
	bs := make([][]byte, len(entries))
	for i, e := range entries {
		b, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("encode notifier record: %w", err)
		}
		bs[i] = b
	}
	last, err := a.sys.cfg.Journal.NotifyLog().Append(bs)
	if err != nil {
		return err
	}
	a.logSeq = last
	a.sinceCompact += len(entries)
	return nil
}

// journalOutbox journals outbox records the outbox applied already. The
// outbox is then ahead of the log if the append fails: the notifier
// fails, and its next incarnation rebuilds from the log (nothing that was
// not journaled was acted on).
func (a *notifierActor) journalOutbox(recs []notify.Record) {
	if len(recs) == 0 {
		return
	}
	if err := a.append(outboxEntries(recs)); err != nil {
		panic(fmt.Errorf("journal %d outbox records: %w", len(recs), err))
	}
	a.maybeCompact()
}

func (a *notifierActor) maybeCompact() {
	if a.sinceCompact >= compactEvery {
		a.compact()
	}
}

// compact writes channels and outbox as the log's snapshot, dropping the
// records it covers. A failure keeps the log (logged; tried again later).
func (a *notifierActor) compact() {
	if a.sinceCompact == 0 || a.nt.outbox == nil {
		return
	}
	snap := notifySnapshot{Channels: slices.SortedFunc(maps.Values(a.nt.channels), func(x, y *notify.Channel) int {
		return cmp.Compare(x.ID, y.ID)
	}), StreamSeq: a.nt.streamSeq}
	ob, err := a.nt.outbox.MarshalSnapshot()
	var data []byte
	if err == nil {
		snap.Outbox = ob
		data, err = json.Marshal(&snap)
	}
	if err == nil {
		err = a.sys.cfg.Journal.NotifyLog().Compact(a.logSeq, data)
	}
	if err != nil {
		a.log.Warn().Err(err).Msg("notifier compaction failed; the log is kept")
		return
	}
	a.sinceCompact = 0
}

// channelsNamed resolves a rule's notificationChannels (names, compared
// as notify.SameName) to channels; before, when set, skips channels
// created after it (a re-offered old alert never reaches a newer channel).
func (a *notifierActor) channelsNamed(names []string, before time.Time) []*notify.Channel {
	var out []*notify.Channel
	for _, name := range names {
		found := false
		for _, ch := range a.nt.channels {
			if notify.SameName(ch.Name, name) {
				found = true
				if before.IsZero() || !ch.CreatedAt.After(before) {
					out = append(out, ch)
				}
			}
		}
		if !found {
			a.log.Warn().Str("channel_name", name).Msg("a rule names a notification channel that does not exist")
		}
	}
	slices.SortFunc(out, func(x, y *notify.Channel) int { return cmp.Compare(x.ID, y.ID) })
	return out
}

// enqueue puts the notifications of rec to its rule's channels in the
// outbox and returns the records (journal them before anything else).
func (a *notifierActor) enqueue(rec rules.Record, rule *rules.Rule, now, before time.Time) []notify.Record {
	if rule == nil || !rec.Notify {
		return nil
	}
	ns := notify.ForRecord(rec, rule, a.channelsNamed(rule.NotificationChannels, before))
	var out []notify.Record
	a.nt.mu.Lock()
	for _, n := range ns {
		if r, ok := a.nt.outbox.Enqueue(n, now); ok {
			out = append(out, r)
		}
	}
	a.nt.mu.Unlock()
	return out
}

func (a *notifierActor) alert(ctx actor.Context, m *alertNotify) {
	at := a.sys.now()
	if a.sys.cluster != nil {
		at = m.n.Record.At // the same outbox on every node
	}
	recs := a.enqueue(m.n.Record, m.n.Rule, at, time.Time{})
	if len(recs) > 0 {
		if err := a.append(outboxEntries(recs)); err != nil {
			m.answer(err)
			panic(fmt.Errorf("journal the notifications of alert %s: %w", m.n.Record.Alert.ID, err))
		}
		a.maybeCompact()
	}
	m.answer(nil)
	a.pump(ctx)
}

// reoffer enqueues again the alert transitions notified within the
// outbox's DoneMaxAge: one that the rules journaled and whose
// notifications were not journaled yet (a crash in between, or the
// hand-over queue full) is enqueued now; the others are known and
// ignored. Only to channels that existed at the transition, and only for
// rules not changed since. Rules given their own Notifier (tests) skip
// this. Guarded by TestNotifierReoffersWhatWasNotEnqueued.
func (a *notifierActor) reoffer(now time.Time) {
	if a.sys.cfg.Notifier != nil || a.sys.alerting == nil {
		return
	}
	horizon := a.sys.cfg.Notifications.Outbox.DoneMaxAge
	if horizon <= 0 {
		horizon = 7 * 24 * time.Hour
	}
	since := now.Add(-horizon)
	type offer struct {
		rec  rules.Record
		rule *rules.Rule
	}
	var offers []offer
	a.sys.read(func(st *rulestore.Store) {
		page := st.Alerts(rulestore.AlertFilter{Size: max(st.AlertCount(), 1)})
		for _, al := range page.Alerts {
			if !al.Notified || al.TriggeredAt == nil {
				continue
			}
			rule, _ := st.Rule(al.RuleID)
			if rule == nil {
				continue
			}
			if al.TriggeredAt.After(since) {
				fired := al
				fired.Status, fired.ResolvedAt, fired.ResolvedBy, fired.ResolutionNotes, fired.ResolutionType = rules.AlertFiring, nil, "", "", ""
				fired.AcknowledgedAt, fired.AcknowledgedBy, fired.AcknowledgmentNotes = nil, "", ""
				offers = append(offers, offer{rules.Record{Kind: rules.RecordFiring, At: *al.TriggeredAt, Alert: fired, Notify: true}, rule})
			}
			if al.ResolvedAt != nil && al.ResolvedAt.After(since) {
				offers = append(offers, offer{rules.Record{Kind: rules.RecordResolved, At: *al.ResolvedAt, Alert: al, Notify: true}, rule})
			}
		}
	})
	var recs []notify.Record
	for _, o := range offers {
		if o.rule.UpdatedAt.After(o.rec.At) {
			continue // the rule changed since (its channels, maybe): never a surprise notification
		}
		at := now
		if a.sys.cluster != nil {
			at = o.rec.At
		}
		recs = append(recs, a.enqueue(o.rec, o.rule, at, o.rec.At)...)
	}
	if len(recs) > 0 {
		a.log.Warn().Int("notifications", len(recs)).Msg("alert notifications that were not in the outbox enqueued at start")
	}
	a.journalOutbox(recs)
}

// pump gives up what is past its deadline, starts the due deliveries
// (journaled before they are handed over) and sets the timer to the next
// wake-up. In cluster mode: clusterPump.
func (a *notifierActor) pump(ctx actor.Context) {
	if a.sys.cluster != nil {
		a.clusterPump(ctx)
		return
	}
	now := a.sys.now()
	o := a.nt.outbox
	var starts []handOver
	held := false
	a.nt.mu.Lock()
	recs := o.Expire(now)
	for _, d := range o.Due(now) {
		chID := d.Notification.ChannelID
		ch, ok := a.nt.channels[chID]
		pid := a.children[chID]
		if !ok || pid == nil || a.inflight[chID] >= maxInFlightPerChannel {
			held = true
			continue
		}
		rec, err := o.Start(d.Notification.ID, now)
		if err != nil {
			continue
		}
		recs = append(recs, rec)
		a.inflight[chID]++
		starts = append(starts, handOver{pid, &channelDeliver{gen: a.gen, ch: ch.Clone(), n: d.Notification, N: d.N}})
	}
	next, ok := o.NextWake(now)
	a.nt.mu.Unlock()
	a.journalOutbox(recs)
	for _, s := range starts {
		ctx.Send(s.pid, s.msg)
	}
	a.wakeAt(ctx, now, next, ok, held)
}

// handOver is an attempt for a channel's actor.
type handOver struct {
	pid *actor.PID
	msg *channelDeliver
}

// wakeAt sets the timer to next (none when !ok); held says a due
// delivery was held back by a busy channel.
func (a *notifierActor) wakeAt(ctx actor.Context, now, next time.Time, ok, held bool) {
	a.stopTimer()
	if !ok {
		return
	}
	wait := next.Sub(now)
	if held && wait <= 0 {
		// Due but held back by a busy channel: an attempt's outcome pumps
		// again; this only bounds the wait.
		wait = time.Second
	}
	gen, self := a.gen, ctx.Self()
	a.timer = time.AfterFunc(max(wait, 0), func() { a.sys.root.Send(self, &notifierWake{gen: gen}) })
}

// finished records an attempt's outcome.
func (a *notifierActor) finished(ctx actor.Context, m *deliveryDone) {
	if m.gen != a.gen {
		return // an attempt of an earlier incarnation: Resume settled it
	}
	if a.inflight[m.channelID] > 0 {
		a.inflight[m.channelID]--
	}
	if a.sys.cluster != nil {
		a.clusterFinished(ctx, m)
		return
	}
	now := a.sys.now()
	a.nt.mu.Lock()
	recs, err := a.nt.outbox.Finish(m.id, m.attempt, now)
	a.nt.mu.Unlock()
	if err != nil {
		// ErrUnknownNotification: the channel was deleted or disabled
		// meanwhile, which gave the notification up.
		a.log.Debug().Err(err).Str("notification", m.id).Msg("attempt outcome ignored")
	}
	a.journalOutbox(recs)
	a.logOutcome(m, recs)
	a.pump(ctx)
}

// logOutcome logs what an attempt's outcome decided.
func (a *notifierActor) logOutcome(m *deliveryDone, recs []notify.Record) {
	for _, r := range recs {
		switch r.Kind {
		case notify.RecordDelivered:
			a.log.Info().Str("notification", m.id).Str("channel", m.channelID).Int("attempt", m.attempt.N).Msg("notification delivered")
		case notify.RecordFailed:
			a.log.Warn().Str("notification", m.id).Str("channel", m.channelID).Str("reason", r.Reason).Msg("notification given up")
		case notify.RecordAttempted:
			if r.NextAt != nil {
				a.log.Info().Str("notification", m.id).Str("channel", m.channelID).Int("attempt", m.attempt.N).
					Str("outcome", string(m.attempt.Outcome)).Int("status", m.attempt.StatusCode).Str("error", m.attempt.Error).
					Time("next_at", *r.NextAt).Msg("notification attempt failed; retrying")
			}
		}
	}
}

// command handles one channel change: validate, journal, apply, then
// start or stop the channel's actor. In a cluster it is validated here
// and published to the stream (proposeChannel), to be applied by every
// node.
func (a *notifierActor) command(ctx actor.Context, m *channelCommand) {
	now := a.sys.now()
	next, base, err := a.build(m, now)
	if err == nil {
		err = a.check(m.op, m.id, next, time.Time{})
	}
	if err != nil {
		m.answer(channelAnswer{err: err})
		return
	}
	if a.sys.cluster != nil {
		a.proposeChannel(m, next, base, now)
		return
	}
	ans, err := a.change(ctx, m.op, m.id, next, now, 0)
	if err != nil {
		ans = channelAnswer{err: err}
	}
	m.answer(ans)
}

// build validates m and returns the channel it makes (nil for a delete)
// and, for an update, the updatedAt of the channel it changes.
func (a *notifierActor) build(m *channelCommand, now time.Time) (*notify.Channel, time.Time, error) {
	cfg := a.sys.cfg.Notifications
	if m.op == opChannelCreate {
		ch, err := notify.NewChannel(m.create, a.ids.New(now).String(), now, cfg.Self)
		return ch, time.Time{}, err
	}
	old, ok := a.nt.channels[m.id]
	if !ok {
		return nil, time.Time{}, notify.ErrChannelNotFound
	}
	if m.op == opChannelDelete {
		return nil, old.UpdatedAt, nil
	}
	ch, err := old.Update(m.update, now, cfg.Self)
	return ch, old.UpdatedAt, err
}

// check refuses a change that does not fit the channels as they are: a
// name taken, too many channels, the channel gone, or (base set: applied
// from the stream) changed since the receiving node read it.
func (a *notifierActor) check(op channelOp, id string, next *notify.Channel, base time.Time) error {
	if op != opChannelCreate {
		old, ok := a.nt.channels[id]
		if !ok {
			return notify.ErrChannelNotFound
		}
		if !base.IsZero() && !old.UpdatedAt.Equal(base) {
			return ErrChannelChanged
		}
	}
	if next == nil {
		return nil
	}
	for chID, ch := range a.nt.channels {
		if chID != next.ID && notify.SameName(ch.Name, next.Name) {
			return &NameTakenChannelError{Name: next.Name, ID: chID}
		}
	}
	if op == opChannelCreate && len(a.nt.channels) >= a.sys.cfg.Notifications.MaxChannels {
		return fmt.Errorf("%w: at most %d", ErrTooManyChannels, a.sys.cfg.Notifications.MaxChannels)
	}
	return nil
}

// change journals and applies a checked change at now (its records
// marked with the stream sequence seq of its note; 0 on one node), then
// starts or stops the channel's actor. The error is the journal's.
func (a *notifierActor) change(ctx actor.Context, op channelOp, id string, next *notify.Channel, now time.Time, seq uint64) (channelAnswer, error) {
	var gaveUp []notify.Record
	var entries []*notifyEntry
	switch op {
	case opChannelCreate:
		entries = []*notifyEntry{{Kind: entryChannel, At: now, Channel: next}}
	case opChannelDelete:
		entries = []*notifyEntry{{Kind: entryChannelDeleted, At: now, ChannelID: id}}
		a.nt.mu.Lock()
		gaveUp = a.nt.outbox.FailChannel(id, now, "channel deleted")
		a.nt.mu.Unlock()
	case opChannelUpdate:
		entries = []*notifyEntry{{Kind: entryChannel, At: now, Channel: next}}
		if a.nt.channels[id].Enabled && !next.Enabled {
			a.nt.mu.Lock()
			gaveUp = a.nt.outbox.FailChannel(id, now, "channel disabled")
			a.nt.mu.Unlock()
		}
	}
	entries = append(entries, outboxEntries(gaveUp)...)
	for _, e := range entries {
		e.StreamSeq = seq
	}
	if err := a.append(entries); err != nil {
		if len(gaveUp) > 0 {
			panic(fmt.Errorf("journal a change of channel %s: %w", id, err))
		}
		return channelAnswer{}, err
	}
	a.nt.mu.Lock()
	a.nt.streamSeq = max(a.nt.streamSeq, seq)
	if next != nil {
		a.nt.channels[next.ID] = next
		a.nt.outbox.SetLimits(next.ID, notify.LimitsOf(next))
	} else {
		delete(a.nt.channels, id)
	}
	a.nt.mu.Unlock()
	var ans channelAnswer
	switch {
	case next == nil:
		if pid, ok := a.children[id]; ok {
			delete(a.children, id)
			delete(a.inflight, id)
			ctx.Unwatch(pid)
			ctx.Stop(pid) // cancels its sends in progress
		}
		a.log.Info().Str("channel", id).Int("given_up", len(gaveUp)).Msg("notification channel deleted")
	default:
		if a.children[next.ID] == nil {
			a.spawn(ctx, next.ID)
		}
		a.log.Info().Str("channel", next.ID).Str("type", string(next.ChannelType)).Bool("enabled", next.Enabled).
			Msg("notification channel saved")
		a.nt.mu.RLock()
		ans.ch = answerChannel(next, a.nt.outbox)
		a.nt.mu.RUnlock()
	}
	a.maybeCompact()
	a.pump(ctx)
	return ans, nil
}
