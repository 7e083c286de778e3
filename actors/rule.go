package actors

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"

	"github.com/eventara/eventara/rules"
)

// ruleCell is what the rules actor and one rule actor share: the rule and
// its machine state as journaled, and a generation.
//
// Invariant (only journaled state is built on): the rule actor steps its
// own copy of the machine and sends the records to the rules actor, which
// journals them only when the records' generation is the cell's. Every
// change the rules actor makes to the rule's state outside those records
// (an acknowledgement, a manual resolution, an update, a failed append)
// increments the generation under mu and resyncs the rule actor; a rule
// actor (re)starting takes a new generation and the state under mu. So
// records computed from a state the journal does not have are dropped, and
// the next tick steps from the journaled state again. Guarded by
// TestRulePanicRestartsItAlone and TestAlertLifecycleOnTickTime.
type ruleCell struct {
	mu    sync.Mutex
	gen   uint64
	rule  *rules.Rule
	state rules.MachineState
	// busy keeps at most one ruleRecords of this rule in the rules actor's
	// mailbox: a rule actor whose last records are not taken yet drops
	// its new ones and goes back to the journaled state.
	busy oneQueued
	// evaluated is the time (UnixNano) of the newest tick whose outcome is
	// settled: evaluated with no transition, or its transitions handled by
	// the rules actor (journaled, or dropped). Tests wait on it.
	evaluated atomic.Int64
}

// ruleSlot hands ticks to one rule actor: the newest tick, and at most one
// ruleSlot message in its mailbox (the same value each time, like
// deliver). A rule actor that is behind evaluates the newest tick when it
// gets to it.
type ruleSlot struct {
	queued oneQueued
	tick   atomic.Pointer[rules.Tick]
}

func (s *ruleSlot) push(sys *System, pid *actor.PID, t *rules.Tick) {
	s.tick.Store(t)
	if s.queued.reserve() {
		sys.root.Send(pid, s)
	}
}

func (s *ruleSlot) take() *rules.Tick {
	s.queued.release()
	return s.tick.Load()
}

func (s *ruleSlot) abandon(*System, *actor.PID) { s.queued.release() }

// ruleRecords carries a rule actor's alert transitions of one tick to the
// rules actor. recs is the rule actor's; it never touches it again.
type ruleRecords struct {
	ruleID string
	cell   *ruleCell
	gen    uint64
	recs   []rules.Record
	at     time.Time // the tick's
	// before is the state the records were stepped from (cluster mode:
	// alertsNote.Before).
	before alertBase
}

func (m *ruleRecords) abandon(*System, *actor.PID) { m.cell.busy.release() }

// ruleResync tells a rule actor to take its rule and machine state from
// its cell again.
type ruleResync struct{}

// ruleActor evaluates one ACTIVE rule: on each tick it calls Evaluate with
// the tick (whose time is the snapshot's build time: never a clock), steps
// its Machine and sends the transitions to the rules actor. A panic
// restarts it alone (KindRule): it starts again from the journaled state
// in its cell, with an empty evaluation history, and never holds up the
// tick, the push or the other rules.
type ruleActor struct {
	sys  *System
	cell *ruleCell
	slot *ruleSlot
	log  zerolog.Logger

	gen     uint64
	rule    *rules.Rule
	eval    *rules.Evaluator
	machine *rules.Machine
	last    *rules.Tick
}

func (a *ruleActor) Receive(ctx actor.Context) {
	switch ctx.Message().(type) {
	case *actor.Started:
		a.log = actorLog(a.sys.log, ctx).With().Str("rule", a.cell.rule.ID).Logger()
		a.load()
	case *ruleResync:
		a.load()
	case *ruleSlot:
		a.evaluate(ctx, a.slot.take())
	}
}

// load takes the journaled state from the cell, with a new generation.
// The evaluator is kept unless the rule's config changed.
func (a *ruleActor) load() {
	c := a.cell
	c.mu.Lock()
	c.gen++
	a.gen, a.rule = c.gen, c.rule
	a.machine = rules.RestoreMachine(c.rule, c.state)
	c.mu.Unlock()
	if a.eval == nil || a.eval.Config() != a.rule.Config {
		a.eval = rules.NewEvaluator(a.rule.Config)
	}
}

func (a *ruleActor) evaluate(ctx actor.Context, t *rules.Tick) {
	if t == nil || t == a.last || (a.last != nil && !t.At.After(a.last.At)) {
		return
	}
	a.last = t
	res := a.eval.Evaluate(t)
	var before alertBase
	if a.sys.cluster != nil {
		before = baseOf(a.rule, a.machine.State())
	}
	recs := a.machine.Step(res)
	if len(recs) == 0 {
		a.cell.evaluated.Store(t.At.UnixNano())
		return
	}
	if !a.cell.busy.reserve() {
		// The rules actor has not taken our last records: drop this step
		// and go back to the journaled state (a new generation, so the
		// records waiting are dropped too); a later tick steps again.
		a.log.Warn().Msg("rules actor behind: alert transitions of this tick skipped")
		a.load()
		a.cell.evaluated.Store(t.At.UnixNano())
		return
	}
	if a.sys.debugLog {
		a.log.Debug().Str("outcome", res.Outcome.String()).Float64("value", res.Value).Int("records", len(recs)).Msg("rule stepped")
	}
	ctx.Send(ctx.Parent(), &ruleRecords{ruleID: a.rule.ID, cell: a.cell, gen: a.gen, recs: recs, at: t.At, before: before})
}
