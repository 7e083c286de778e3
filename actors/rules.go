package actors

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"

	"github.com/eventara/eventara/protocol/event"
	"github.com/eventara/eventara/rules"
	"github.com/eventara/eventara/rulestore"
)

// Storage of rules and alerts: why a state log beside the event journal.
//
// Every rule change and every alert transition is one rulestore.Entry,
// appended to the journal's state log (journal/statelog.go) in one synced
// batch before it is applied, answered or pushed: the same "persist before
// publish" as events. The state log lives in the same pebble store under
// its own key prefixes rather than among the events because (a) events
// are pruned after the retention (7 days) and rules must never be, (b)
// GET /api/v1/events and the metrics' replay must not see rule records,
// and (c) one store keeps one fsync path, one disk-full guard and one
// fault injector. Start-up rebuilds the store from the state snapshot plus
// the log after it (loadRules), so a restart, or a restart of the rules
// actor alone, reaches the same rules and alerts. The rules actor compacts
// the log after every compactEvery entries and when it stops: the whole
// store becomes the snapshot and the records it covers are deleted in the
// same batch, so replay stays short whatever the log's age. Alert
// machines are part of that snapshot (rules.RestoreMachine), so cooldown,
// suppression and the hourly notification limit survive restarts.

// compactEvery is how many state log entries the rules actor appends
// between compactions.
const compactEvery = 1000

// maxAlertsQueued bounds the alert transitions waiting in the alerts
// topic's mailbox (see publishAlert).
const maxAlertsQueued = 1024

// rulesActor owns the alerting state (rulestore.Store): it journals every
// change before applying it, supervises one ruleActor per ACTIVE rule, and
// turns their alert transitions into journaled records, pushes on
// /topic/alerts and notifications.
//
// On each tick it takes the newest snapshot from the tick slot (skipping
// any it had no time for), builds one rules.Tick, and hands the pointer to
// each rule actor through that rule's slot; it never waits for them.
//
// Each rule actor keeps its own Evaluator and Machine; the store keeps the
// machine as journaled, and a ruleCell shares it with the rule actor: the
// rule actor (re)starts from the cell, and the cell's generation tells
// which records still fit the journaled state (see ruleCell).
//
// Bounded: one rulesTick in the mailbox (tickSlot), maxRuleCommands
// commands (System.command), one ruleRecords per rule actor (ruleCell.busy).
// Restarts: each incarnation rebuilds the store from the journal and
// spawns its rule actors again.
type rulesActor struct {
	sys      *System
	al       *alerting
	log      zerolog.Logger
	children map[string]*ruleChild // by rule id
	ids      *event.Generator
	// logSeq is the last state log record applied; sinceCompact counts
	// those appended since the last compaction.
	logSeq       uint64
	sinceCompact int
	first        *rulesLoaded // the state Start loaded, for the first incarnation
	// retired is set by Restarting: this incarnation changes nothing more
	// (see retiredReceive).
	retired bool
}

// ruleChild is the rules actor's view of one rule actor.
type ruleChild struct {
	pid  *actor.PID
	cell *ruleCell
	slot *ruleSlot
}

// rulesLoaded is a store rebuilt from the journal and the last record it
// covers.
type rulesLoaded struct {
	store *rulestore.Store
	seq   uint64
}

// loadRules rebuilds the alerting state from the state snapshot and the
// log after it. Rules whose ruleConfig this version no longer accepts are
// kept but not evaluated (logged).
func loadRules(j Journal, cfg rulestore.Config, log zerolog.Logger) (*rulesLoaded, error) {
	upTo, data, ok, err := j.LoadStateSnapshot()
	if err != nil {
		return nil, fmt.Errorf("load rules: %w", err)
	}
	st := rulestore.New(cfg)
	if ok {
		var bad []string
		if st, bad, err = rulestore.Load(cfg, data); err != nil {
			return nil, fmt.Errorf("load rules snapshot: %w", err)
		}
		for _, id := range bad {
			log.Error().Str("rule", id).Msg("rule config no longer valid: the rule is kept but not evaluated")
		}
	}
	seq, n := upTo, 0
	err = j.ReplayState(upTo, func(s uint64, b []byte) error {
		e, err := rulestore.UnmarshalEntry(b)
		var bad *rules.ValidationError
		if errors.As(err, &bad) {
			log.Error().Str("rule", e.RuleID).Err(err).Msg("rule config no longer valid: the rule is kept but not evaluated")
		} else if err != nil {
			return fmt.Errorf("state record %d: %w", s, err)
		}
		st.Apply(e)
		seq, n = s, n+1
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load rules: %w", err)
	}
	log.Info().Int("rules", st.RuleCount()).Int("alerts", st.AlertCount()).Uint64("seq", seq).Int("replayed", n).
		Msg("rules and alerts recovered")
	return &rulesLoaded{store: st, seq: seq}, nil
}

func (a *rulesActor) Receive(ctx actor.Context) {
	if a.retired {
		a.retiredReceive(ctx)
		return
	}
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.started(ctx)
	case *actor.Restarting:
		a.retired = true
	case *actor.Stopping:
		a.compact()
	case *rulesTick:
		a.al.tick.queued.release()
		a.tick()
	case *ruleRecords:
		a.records(ctx, m)
	case *ruleCommand:
		a.command(ctx, m)
	case *stateApply:
		a.applyNote(ctx, m)
	case *ruleResyncAsk:
		a.resyncAsked(ctx, m)
	case *actor.Terminated:
		// By pointer, not Equal: after a restart of this actor its new rule
		// actors have the names (and so the ids) of the stopped ones,
		// whose Terminated may still come; the PID value is the one
		// SpawnNamed returned for each.
		for id, c := range a.children {
			if c.pid == m.Who {
				delete(a.children, id)
				a.al.mu.Lock()
				delete(a.al.cells, id)
				a.al.mu.Unlock()
				a.log.Error().Str("rule", id).Msg("rule actor stopped after repeated failures: the rule is not evaluated until it is changed or enabled again")
			}
		}
	}
}

// retiredReceive handles what reaches an incarnation after its Restarting:
// protoactor waits for the stopped rule actors before it starts the next
// incarnation, and messages still come here meanwhile. The next
// incarnation reloads the store from the journal, so nothing may be
// journaled here: commands are answered as abandoned (ErrRestarting,
// nothing changed), a tick frees its place, records are dropped (the
// rule actors that sent them are stopped). Guarded by
// TestRulesActorRestartRebuildsFromTheJournal.
func (a *rulesActor) retiredReceive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *rulesTick:
		a.al.tick.queued.release()
	case *ruleRecords:
		m.cell.busy.release()
	case abandoner:
		m.abandon(a.sys, ctx.Self())
	}
}

func (a *rulesActor) started(ctx actor.Context) {
	a.log = actorLog(a.sys.log, ctx)
	a.children = map[string]*ruleChild{}
	a.ids = event.NewGenerator()
	loaded := a.first
	a.first = nil
	if loaded == nil {
		var err error
		if loaded, err = loadRules(a.sys.cfg.Journal, a.sys.cfg.Rules, a.log); err != nil {
			panic(fmt.Errorf("rules restart: %w", err))
		}
	}
	a.al.mu.Lock()
	a.al.store = loaded.store
	a.al.cells = map[string]*ruleCell{}
	a.al.mu.Unlock()
	a.logSeq = loaded.seq
	for _, r := range loaded.store.Rules(func(r *rules.Rule) bool { return r.Status == rules.StatusActive }) {
		a.spawn(ctx, r)
	}
}

// store is the alerting state; only this actor writes it, so it reads it
// without the lock.
func (a *rulesActor) store() *rulestore.Store { return a.al.store }

// spawn starts the rule actor of the ACTIVE rule r.
func (a *rulesActor) spawn(ctx actor.Context, r *rules.Rule) {
	if r.Config == nil {
		return // not evaluable by this version: logged at load
	}
	m, _ := a.store().Machine(r.ID)
	cell := &ruleCell{rule: r, state: m.State()}
	slot := new(ruleSlot)
	sys := a.sys
	p := props(KindRule, func() actor.Actor { return &ruleActor{sys: sys, cell: cell, slot: slot} })
	name := "rule-" + r.ID
	pid, err := ctx.SpawnNamed(p, name)
	for n := 1; errors.Is(err, actor.ErrNameExists); n++ {
		// The previous actor of this rule is still stopping.
		pid, err = ctx.SpawnNamed(p, fmt.Sprintf("%s.%d", name, n))
	}
	if err != nil {
		a.log.Error().Err(err).Str("rule", r.ID).Msg("spawn rule actor")
		return
	}
	ctx.Watch(pid)
	a.children[r.ID] = &ruleChild{pid: pid, cell: cell, slot: slot}
	a.al.mu.Lock()
	a.al.cells[r.ID] = cell
	a.al.mu.Unlock()
}

func (a *rulesActor) stopChild(ctx actor.Context, id string) {
	if c, ok := a.children[id]; ok {
		delete(a.children, id)
		ctx.Unwatch(c.pid)
		ctx.Stop(c.pid)
		a.al.mu.Lock()
		delete(a.al.cells, id)
		a.al.mu.Unlock()
	}
}

// resync hands the rule actor of id the journaled state (its rule and
// machine) and invalidates the records it may have in flight.
func (a *rulesActor) resync(ctx actor.Context, id string) {
	c, ok := a.children[id]
	if !ok {
		return
	}
	r, _ := a.store().Rule(id)
	m, _ := a.store().Machine(id)
	c.cell.mu.Lock()
	c.cell.gen++
	c.cell.rule, c.cell.state = r, m.State()
	c.cell.mu.Unlock()
	ctx.Send(c.pid, &ruleResync{})
}

// tick builds the newest tick and hands it to every rule actor.
func (a *rulesActor) tick() {
	in := a.al.tick.newest.Swap(nil)
	if in == nil || len(a.children) == 0 {
		return
	}
	t := rules.FromSnapshot(in.snap, in.views)
	for _, c := range a.children {
		c.slot.push(a.sys, c.pid, t)
	}
}

// records journals a rule actor's alert transitions, if they still fit
// the journaled state (same generation), then applies and publishes them.
// When the journal refuses them the rule actor is resynced: it steps again
// from the journaled state on the next tick, so nothing that was not
// journaled is ever shown, pushed or notified.
func (a *rulesActor) records(ctx actor.Context, m *ruleRecords) {
	m.cell.busy.release()
	defer m.cell.evaluated.Store(m.at.UnixNano())
	c, ok := a.children[m.ruleID]
	if !ok || c.cell != m.cell {
		return // the rule stopped being evaluated meanwhile
	}
	if a.sys.cluster != nil {
		a.clusterRecords(ctx, c, m)
		return
	}
	entries := make([]*rulestore.Entry, len(m.recs))
	for i, rec := range m.recs {
		entries[i] = rulestore.AlertEntry(rec)
	}
	c.cell.mu.Lock()
	if m.gen != c.cell.gen {
		c.cell.mu.Unlock()
		a.log.Debug().Str("rule", m.ruleID).Msg("records of a superseded rule state dropped")
		return
	}
	first, err := a.commit(entries)
	if err != nil {
		c.cell.gen++ // the rule actor's state is ahead of the journal's
		c.cell.mu.Unlock()
		a.log.Error().Err(err).Str("rule", m.ruleID).Msg("alert transitions not journaled; the rule steps again from its journaled state")
		ctx.Send(c.pid, &ruleResync{})
		return
	}
	st, _ := a.store().Machine(m.ruleID)
	c.cell.state = st.State()
	c.cell.mu.Unlock()
	a.publish(first, entries)
}

// commit journals entries in one synced batch, then applies them. It
// returns the state log number of the first.
func (a *rulesActor) commit(entries []*rulestore.Entry) (uint64, error) {
	bs := make([][]byte, len(entries))
	for i, e := range entries {
		b, err := e.Marshal()
		if err != nil {
			return 0, err
		}
		bs[i] = b
	}
	last, err := a.sys.cfg.Journal.AppendState(bs)
	if err != nil {
		return 0, err
	}
	a.al.mu.Lock()
	for _, e := range entries {
		a.al.store.Apply(e)
	}
	a.al.mu.Unlock()
	a.logSeq = last
	if a.sinceCompact += len(entries); a.sinceCompact >= compactEvery {
		a.compact()
	}
	return last - uint64(len(entries)) + 1, nil
}

// compact writes the whole store as the state snapshot, dropping the
// records it covers. A failure keeps the log (logged; tried again later).
func (a *rulesActor) compact() {
	if a.sinceCompact == 0 || a.al.store == nil {
		return
	}
	data, err := a.store().MarshalSnapshot()
	if err == nil {
		err = a.sys.cfg.Journal.CompactState(a.logSeq, data)
	}
	if err != nil {
		a.log.Warn().Err(err).Msg("rules state compaction failed; the log is kept")
		return
	}
	a.sinceCompact = 0
}

// publish pushes each alert transition of entries (journaled from state
// log number first on) to /topic/alerts and hands those to notify to the
// notifier.
func (a *rulesActor) publish(first uint64, entries []*rulestore.Entry) {
	for i, e := range entries {
		if e.Kind != rulestore.EntryAlert || e.Record.Kind == rules.RecordRearmed {
			continue
		}
		rec := *e.Record
		a.sys.publishAlert(rec)
		if rec.Notify {
			r, _ := a.store().Rule(rec.Alert.RuleID)
			a.al.notify.offer(Notification{Seq: first + uint64(i), Record: rec, Rule: r})
		}
		a.log.Info().Str("alert", rec.Alert.ID).Str("rule", rec.Alert.RuleID).Str("kind", string(rec.Kind)).
			Time("at", rec.At).Msg("alert transition")
	}
}

// command handles one API change: on one node, validate against the
// store, journal, apply, then start, stop or resync rule actors and
// publish; in a cluster, validate here and publish it to the stream
// (propose), to be applied by every node.
func (a *rulesActor) command(ctx actor.Context, m *ruleCommand) {
	now := a.sys.now()
	newID := ""
	if m.op == opCreate {
		newID = a.ids.New(now).String()
	}
	if a.sys.cluster != nil {
		a.propose(ctx, m, now, newID)
		return
	}
	ans, err := a.execute(ctx, m, now, newID, 0)
	if err != nil {
		ans = ruleAnswer{err: err}
	}
	m.answer(ans)
}

// ruleChange is what a command changes: the entries to journal, the rule
// to answer with, and what to do with the rule actors once journaled.
type ruleChange struct {
	entries []*rulestore.Entry
	out     *rules.Rule
	after   func()
	// same is set when nothing changes (a status it has already): the
	// answer is this rule as it is.
	same *rules.Rule
}

// plan computes m's change at now against the store, without changing
// anything; newID is a created rule's ID. Its error refuses the command.
func (a *rulesActor) plan(ctx actor.Context, m *ruleCommand, now time.Time, newID string) (ruleChange, error) {
	st := a.store()
	var c ruleChange
	switch m.op {
	case opCreate:
		r, err := rules.NewRule(m.create, newID, now)
		if err != nil {
			return c, err
		}
		if id, taken := st.NameOwner(r.Name); taken {
			return c, &NameTakenError{Name: r.Name, ID: id}
		}
		if st.RuleCount() >= st.Config().MaxRules {
			return c, fmt.Errorf("%w: at most %d", ErrTooManyRules, st.Config().MaxRules)
		}
		c.entries, c.out = []*rulestore.Entry{rulestore.RuleEntry(r, now)}, r

	case opUpdate, opStatus, opDelete:
		old, ok := st.Rule(m.id)
		if !ok {
			return c, ErrRuleNotFound
		}
		next := old
		var err error
		switch m.op {
		case opUpdate:
			if next, err = old.Update(m.update, now); err != nil {
				return c, err
			}
			if id, taken := st.NameOwner(next.Name); taken && id != old.ID {
				return c, &NameTakenError{Name: next.Name, ID: id}
			}
		case opStatus:
			if old.Status == m.status {
				c.same = old
				return c, nil
			}
			next = old.WithStatus(m.status, now)
		}
		reason := ""
		switch {
		case m.op == opDelete:
			reason = "rule deleted"
		case old.Status == rules.StatusActive && next.Status != rules.StatusActive:
			reason = "rule " + map[rules.Status]string{rules.StatusInactive: "disabled", rules.StatusArchived: "archived", rules.StatusDraft: "set to draft"}[next.Status]
		case !bytes.Equal(old.RuleConfig, next.RuleConfig):
			reason = "rule updated"
		}
		if reason != "" {
			mach, _ := st.Machine(old.ID)
			for _, rec := range mach.Stop(now, reason) {
				c.entries = append(c.entries, rulestore.AlertEntry(rec))
			}
		}
		if m.op == opDelete {
			c.entries = append(c.entries, rulestore.DeleteEntry(old.ID, now))
			c.after = func() { a.stopChild(ctx, old.ID) }
			break
		}
		c.entries, c.out = append(c.entries, rulestore.RuleEntry(next, now)), next
		id, configChanged := next.ID, !bytes.Equal(old.RuleConfig, next.RuleConfig)
		c.after = func() {
			switch {
			case next.Status != rules.StatusActive:
				a.stopChild(ctx, id)
			case a.children[id] == nil || configChanged:
				a.stopChild(ctx, id) // a new config: a new evaluator, its history from scratch
				a.spawn(ctx, next)
			default:
				a.resync(ctx, id)
			}
		}

	case opAcknowledge, opResolve:
		al, ok := st.Alert(m.id)
		if !ok {
			return c, ErrAlertNotFound
		}
		if al.Status == rules.AlertResolved {
			return c, ErrAlertResolved
		}
		mach, ok := st.Machine(al.RuleID)
		if !ok {
			return c, ErrAlertResolved // its rule was deleted, which resolved it
		}
		var rec rules.Record
		var err error
		if m.op == opAcknowledge {
			rec, err = mach.Acknowledge(m.id, m.by, m.notes, now)
		} else {
			rec, err = mach.Resolve(m.id, m.by, m.notes, now)
		}
		if errors.Is(err, rules.ErrNoSuchAlert) {
			err = ErrAlertResolved
		}
		if err != nil {
			return c, err
		}
		c.entries = []*rulestore.Entry{rulestore.AlertEntry(rec)}
		ruleID := al.RuleID
		c.after = func() { a.resync(ctx, ruleID) }
	}
	return c, nil
}

// execute plans m at now and, unless refused, journals and applies it
// (entries marked with the stream sequence seq of the note it came from,
// 0 on one node). It returns the answer (its err refuses the command:
// nothing changed), or the error that kept the change out of the journal.
func (a *rulesActor) execute(ctx actor.Context, m *ruleCommand, now time.Time, newID string, seq uint64) (ruleAnswer, error) {
	c, err := a.plan(ctx, m, now, newID)
	if err != nil {
		return ruleAnswer{err: err}, nil
	}
	if c.same != nil {
		return ruleAnswer{rule: c.same}, nil
	}
	entries := c.entries
	for _, e := range entries {
		e.StreamSeq = seq
	}
	// The rule actor's records in flight were computed from the state
	// before this change: the cell's generation drops them (resync, or
	// the actor's stop, follows the commit).
	var cell *ruleCell
	if ch, ok := a.children[ruleOf(m, entries)]; ok {
		cell = ch.cell
		cell.mu.Lock()
		cell.gen++
	}
	first, err := a.commit(entries)
	if cell != nil {
		cell.mu.Unlock()
	}
	if err != nil {
		if cell != nil {
			a.resync(ctx, ruleOf(m, entries))
		}
		return ruleAnswer{}, err
	}
	if c.after != nil {
		c.after()
	}
	a.publish(first, entries)
	ans := ruleAnswer{}
	if c.out != nil {
		ans.rule, _ = a.store().Rule(c.out.ID)
	}
	if last := entries[len(entries)-1]; last.Kind == rulestore.EntryAlert {
		ans.alert, _ = a.store().Alert(last.Record.Alert.ID)
	}
	return ans, nil
}

// ruleOf is the rule a command changes.
func ruleOf(m *ruleCommand, entries []*rulestore.Entry) string {
	if len(entries) > 0 && entries[len(entries)-1].RuleID != "" {
		return entries[len(entries)-1].RuleID
	}
	return m.id
}

// publishAlert pushes one alert transition to /topic/alerts: its MESSAGE
// bytes are built here once for every subscriber.
//
// Queue: the alerts topic's mailbox. Bound: maxAlertsQueued transitions
// waiting. At the bound: the push is skipped with an Error log (the
// transition is journaled and listed by GET /api/v1/alerts; live
// subscribers miss it). Guarded by TestAlertPushBounded.
func (s *System) publishAlert(rec rules.Record) {
	if s.alertsTopic == nil {
		return
	}
	if s.alerting.published.Add(1) > maxAlertsQueued {
		s.alerting.published.Add(-1)
		s.log.Error().Str("alert", rec.Alert.ID).Str("kind", string(rec.Kind)).Msg("alert push skipped: alerts topic behind")
		return
	}
	sh, err := buildAlertShared(rec)
	if err != nil {
		s.alerting.published.Add(-1)
		s.log.Error().Err(err).Str("alert", rec.Alert.ID).Msg("encode alert")
		return
	}
	s.root.Send(s.alertsTopic, &alertPublished{shared: sh})
}
