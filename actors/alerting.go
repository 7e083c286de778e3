package actors

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/eventara/eventara/rules"
	"github.com/eventara/eventara/rulestore"
	"github.com/eventara/eventara/snapshots"
)

// Errors of the rules and alerts API.
var (
	// ErrRuleNotFound: no rule with that id (HTTP 404).
	ErrRuleNotFound = errors.New("rule not found")
	// ErrAlertNotFound: no alert with that id, or it was evicted after
	// its retention (HTTP 404).
	ErrAlertNotFound = errors.New("alert not found")
	// ErrAlertResolved: the alert is resolved; it cannot be acknowledged
	// or resolved again (HTTP 409).
	ErrAlertResolved = errors.New("alert is resolved")
	// ErrTooManyRules: the store holds Config.Rules.MaxRules rules
	// already (HTTP 409).
	ErrTooManyRules = errors.New("too many rules")
	// ErrRulesBusy: MaxRuleCommands rule and alert changes are already
	// waiting for the rules actor (HTTP 503); nothing was changed.
	ErrRulesBusy = errors.New("rules busy: too many changes waiting")
)

// NameTakenError refuses a rule whose name another rule has (HTTP 409).
type NameTakenError struct {
	Name string
	ID   string // the rule that has it
}

func (e *NameTakenError) Error() string {
	return fmt.Sprintf("a rule named %q exists already (id %s)", e.Name, e.ID)
}

// maxRuleCommands bounds the rule and alert changes (API calls) waiting
// for the rules actor.
//
// Queue: the rules actor's mailbox, for ruleCommand.
// Bound: maxRuleCommands commands admitted and not yet answered.
// At the bound: the caller gets ErrRulesBusy at once (HTTP 503), before
// the mailbox. Guarded by TestRuleCommandsBounded.
const maxRuleCommands = 64

// alerting is the state shared by the rules actor and the API's readers.
//
// Reads (GET /api/v1/rules…, /alerts…) take mu for reading and never
// queue behind evaluation; only the rules actor writes, under mu, after
// it journaled what it applies. A restarted rules actor replaces store
// with the one it rebuilt from the journal.
type alerting struct {
	mu    sync.RWMutex
	store *rulestore.Store
	// cells are the evaluated rules' cells (introspection and tests).
	cells map[string]*ruleCell

	commands atomic.Int64 // admitted ruleCommands not yet answered
	tick     tickSlot
	notify   *notifyQueue
	// published counts alertPublished messages in the alerts topic's
	// mailbox (maxAlertsQueued).
	published atomic.Int64
	// Cluster mode (rules_cluster.go): the changes this node published and
	// waits to apply, and the alert transition notes being published.
	waiting    waiters[*ruleCommand]
	publishing atomic.Int64
}

// ruleTickInput is one tick's snapshot and the window views it was built
// from, as the aggregator handed them over (both immutable).
type ruleTickInput struct {
	snap  *snapshots.Snapshot
	views []snapshots.WindowView
}

// tickSlot is the hand-off of ticks from the aggregator to the rules
// actor: the newest input, and at most one rulesTick in the rules actor's
// mailbox. A rules actor that is behind skips to the newest tick when it
// gets to it; the aggregator never waits (TestRulesSkipToTheNewestTick).
type tickSlot struct {
	queued oneQueued
	newest atomic.Pointer[ruleTickInput]
}

// rulesTick tells the rules actor a new tick waits in the slot.
type rulesTick struct{}

func (*rulesTick) abandon(sys *System, _ *actor.PID) { sys.alerting.tick.queued.release() }

// offerRules hands a snapshot to the rules actor (see tickSlot). views are
// copied: the aggregator goes on updating its own.
func (s *System) offerRules(snap *snapshots.Snapshot, views []snapshots.WindowView) {
	if s.rules == nil || s.alerting == nil {
		return
	}
	slot := &s.alerting.tick
	slot.newest.Store(&ruleTickInput{snap: snap, views: slices.Clone(views)})
	if slot.queued.reserve() {
		s.root.Send(s.rules, &rulesTick{})
	}
}

// ruleOp is what a ruleCommand asks.
type ruleOp int

const (
	opCreate ruleOp = iota
	opUpdate
	opDelete
	opStatus
	opAcknowledge
	opResolve
)

// ruleCommand is one API change for the rules actor, answered once
// through reply (room for one) after the change is journaled and applied.
type ruleCommand struct {
	op       ruleOp
	id       string // rule or alert id
	create   *rules.CreateRuleRequest
	update   *rules.UpdateRuleRequest
	status   rules.Status
	by       string
	notes    string
	reply    chan ruleAnswer
	adm      *alerting
	answered atomic.Bool
}

type ruleAnswer struct {
	rule  *rules.Rule
	alert rules.Alert
	err   error
}

func (m *ruleCommand) answer(a ruleAnswer) {
	if !m.answered.CompareAndSwap(false, true) || m.reply == nil {
		return // answered, or a change another node asked for
	}
	m.adm.commands.Add(-1)
	m.reply <- a
}

func (m *ruleCommand) abandon(*System, *actor.PID) { m.answer(ruleAnswer{err: ErrRestarting}) }

// command admits m and waits for its answer.
func (s *System) command(ctx context.Context, m *ruleCommand) (ruleAnswer, error) {
	if s.stopped.Load() {
		return ruleAnswer{}, ErrStopped
	}
	al := s.alerting
	if al.commands.Add(1) > maxRuleCommands {
		al.commands.Add(-1)
		return ruleAnswer{}, ErrRulesBusy
	}
	m.adm, m.reply = al, make(chan ruleAnswer, 1)
	s.root.Send(s.rules, m)
	select {
	case a := <-m.reply:
		return a, a.err
	case <-ctx.Done():
		if s.cluster != nil {
			// Its note may never come back to this node (no quorum): give
			// its place back now; a later apply answers nobody.
			m.answer(ruleAnswer{err: ctx.Err()})
		}
		return ruleAnswer{}, ctx.Err()
	}
}

// CreateRule validates req and journals the new rule (status DRAFT). Its
// errors: *rules.ValidationError, *NameTakenError, ErrTooManyRules, the
// journal's (DiskFullError, FailedError), ErrRulesBusy, ErrStopped.
func (s *System) CreateRule(ctx context.Context, req *rules.CreateRuleRequest) (*rules.Rule, error) {
	a, err := s.command(ctx, &ruleCommand{op: opCreate, create: req})
	return a.rule, err
}

// UpdateRule applies req to rule id (ErrRuleNotFound). A change of its
// ruleConfig ends its open alert (resolved AUTO, "rule updated").
func (s *System) UpdateRule(ctx context.Context, id string, req *rules.UpdateRuleRequest) (*rules.Rule, error) {
	a, err := s.command(ctx, &ruleCommand{op: opUpdate, id: id, update: req})
	return a.rule, err
}

// DeleteRule deletes rule id, ending its open alert; its alerts stay.
func (s *System) DeleteRule(ctx context.Context, id string) error {
	_, err := s.command(ctx, &ruleCommand{op: opDelete, id: id})
	return err
}

// SetRuleStatus enables (ACTIVE), disables (INACTIVE) or archives rule id.
// Only ACTIVE rules are evaluated; leaving ACTIVE ends the open alert.
func (s *System) SetRuleStatus(ctx context.Context, id string, st rules.Status) (*rules.Rule, error) {
	a, err := s.command(ctx, &ruleCommand{op: opStatus, id: id, status: st})
	return a.rule, err
}

// AcknowledgeAlert marks the firing alert id acknowledged by by. Errors:
// ErrAlertNotFound, ErrAlertResolved, rules.ErrNotFiring (pending),
// rules.ErrAlreadyAcknowledged, and the journal's.
func (s *System) AcknowledgeAlert(ctx context.Context, id, by, notes string) (rules.Alert, error) {
	a, err := s.command(ctx, &ruleCommand{op: opAcknowledge, id: id, by: by, notes: notes})
	return a.alert, err
}

// ResolveAlert resolves the firing alert id by hand (MANUAL); the rule
// does not alert again until its condition has been clear once.
func (s *System) ResolveAlert(ctx context.Context, id, by, notes string) (rules.Alert, error) {
	a, err := s.command(ctx, &ruleCommand{op: opResolve, id: id, by: by, notes: notes})
	return a.alert, err
}

// read runs fn with the store read-locked.
func (s *System) read(fn func(*rulestore.Store)) {
	al := s.alerting
	al.mu.RLock()
	defer al.mu.RUnlock()
	fn(al.store)
}

// Rules returns the rules keep selects (all when nil), oldest first.
func (s *System) Rules(keep func(*rules.Rule) bool) []*rules.Rule {
	var out []*rules.Rule
	s.read(func(st *rulestore.Store) { out = st.Rules(keep) })
	return out
}

// Rule returns rule id, or ErrRuleNotFound.
func (s *System) Rule(id string) (*rules.Rule, error) {
	var r *rules.Rule
	var ok bool
	s.read(func(st *rulestore.Store) { r, ok = st.Rule(id) })
	if !ok {
		return nil, ErrRuleNotFound
	}
	return r, nil
}

// RuleStatistics counts the rules by status.
func (s *System) RuleStatistics() rulestore.RuleStatistics {
	var out rulestore.RuleStatistics
	s.read(func(st *rulestore.Store) { out = st.RuleStatistics() })
	return out
}

// Alerts returns the page of alerts f selects.
func (s *System) Alerts(f rulestore.AlertFilter) rulestore.AlertPage {
	var out rulestore.AlertPage
	s.read(func(st *rulestore.Store) { out = st.Alerts(f) })
	return out
}

// Alert returns alert id, or ErrAlertNotFound.
func (s *System) Alert(id string) (rules.Alert, error) {
	var a rules.Alert
	var ok bool
	s.read(func(st *rulestore.Store) { a, ok = st.Alert(id) })
	if !ok {
		return a, ErrAlertNotFound
	}
	return a, nil
}

// AlertStatistics counts the alerts kept.
func (s *System) AlertStatistics() rulestore.AlertStatistics {
	var out rulestore.AlertStatistics
	s.read(func(st *rulestore.Store) { out = st.AlertStatistics() })
	return out
}
