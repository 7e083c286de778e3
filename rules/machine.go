package rules

import (
	"fmt"
	"time"
)

// Policy is the alerting policy of one rule, from its Rule and Config.
//
//   - For: the condition must hold on every tick for For before the alert
//     fires; until then the alert is PENDING. 0 fires on the first tick.
//   - Cooldown (ruleConfig.cooldownMinutes, default 5): a new alert of the
//     rule cannot fire until Cooldown after the previous one fired; it
//     stays PENDING meanwhile. This damps a flapping condition. 0 disables.
//   - Suppression (suppressionWindowMinutes, default 30): an alert firing
//     within Suppression after the rule's last notified alert fired is
//     recorded (FIRING, listed, counted in triggerCount) but not notified
//     (NotifySkipped SUPPRESSED); nor is its resolution. 0 disables.
//   - MaxPerHour (maxAlertsPerHour, default 10): at most this many alerts
//     of the rule are notified in any sliding hour; more are recorded, not
//     notified (NotifySkipped RATE_LIMITED). Suppression is checked first.
type Policy struct {
	For, Cooldown, Suppression time.Duration
	MaxPerHour                 int
}

// PolicyOf returns r's policy (r.Config must be set).
func PolicyOf(r *Rule) Policy {
	p := Policy{Suppression: time.Duration(r.SuppressionWindowMinutes) * time.Minute, MaxPerHour: r.MaxAlertsPerHour}
	if r.Config != nil {
		p.For, p.Cooldown = r.Config.For, r.Config.Cooldown
	}
	return p
}

// Machine is one rule's alert lifecycle:
//
//	(none) --holds--> PENDING --held for For, cooldown over--> FIRING
//	PENDING --clear or no data--> (canceled: never fired, dropped)
//	FIRING --clear--> RESOLVED (AUTO)       FIRING --Resolve--> RESOLVED (MANUAL)
//	FIRING --Acknowledge--> FIRING (acknowledged)
//
// A rule has at most one open (PENDING or FIRING) alert. No data keeps a
// FIRING alert firing (it is not known to have cleared) and cancels a
// PENDING one (the condition was not seen to hold for For). After a MANUAL
// resolution no new alert opens until the condition has been clear once
// (RecordRearmed), so resolving by hand is not undone on the next tick.
//
// Every method that changes state returns the Records of its transitions
// and changes the state only by applying them (Apply), so a Machine fed the
// journaled records in order rebuilds exactly (TestReplayReproducesState).
// It reads no clock: times come from results and callers. It is not safe
// for concurrent use: one rule actor owns it.
type Machine struct {
	rule   Rule // the fields new alerts copy (ID, name, version, severity, priority)
	policy Policy

	open         *Alert
	seq          uint64 // alerts opened so far; alert IDs are "<ruleID>-<seq>"
	hold         bool   // manually resolved: wait for a clear tick
	lastFired    time.Time
	lastNotified time.Time
	notified     []time.Time // notified firings in the last hour, oldest first
}

// RecordRearmed: after a MANUAL resolution, the condition was clear once,
// so the rule may alert again. Stores ignore it; Machine.Apply needs it.
const RecordRearmed RecordKind = "RULE_REARMED"

// NewMachine returns the machine of r with no alert.
func NewMachine(r *Rule) *Machine {
	m := &Machine{}
	m.SetRule(r)
	return m
}

// SetRule takes r's new name, version, severity, priority and policy for
// alerts opened from now on; an open alert keeps what it had. When the
// ruleConfig changed, the owner should Stop the machine first: the open
// alert's condition is no longer the rule's.
func (m *Machine) SetRule(r *Rule) {
	m.rule = Rule{ID: r.ID, Name: r.Name, Version: r.Version, Severity: r.Severity, Priority: r.Priority}
	m.policy = PolicyOf(r)
}

// Open returns the open alert, if any.
func (m *Machine) Open() (Alert, bool) {
	if m.open == nil {
		return Alert{}, false
	}
	return *m.open, true
}

// Step advances the lifecycle with one evaluation and returns the
// transitions, in order (none most ticks).
func (m *Machine) Step(r Result) []Record {
	var out []Record
	emit := func(rec Record) {
		m.Apply(rec)
		out = append(out, rec)
	}
	switch r.Outcome {
	case NoData:
		if m.open != nil && m.open.Status == AlertPending {
			emit(Record{Kind: RecordCanceled, At: r.At, Alert: *m.open})
		}
	case Clear:
		if m.hold {
			emit(Record{Kind: RecordRearmed, At: r.At, Alert: Alert{RuleID: m.rule.ID}})
		}
		if m.open == nil {
			break
		}
		a := *m.open
		if a.Status == AlertPending {
			emit(Record{Kind: RecordCanceled, At: r.At, Alert: a})
			break
		}
		at := r.At
		a.Status, a.ResolvedAt, a.ResolutionType = AlertResolved, &at, ResolvedAuto
		a.ResolutionNotes = "condition cleared: " + r.Message
		emit(Record{Kind: RecordResolved, At: r.At, Alert: a, Notify: a.Notified})
	case Holds:
		if m.hold {
			break
		}
		var a Alert
		if m.open == nil {
			a = m.newAlert(r)
			if !m.canFire(a, r.At) {
				emit(Record{Kind: RecordPending, At: r.At, Alert: a})
				break
			}
		} else {
			a = *m.open
			if a.Status != AlertPending || !m.canFire(a, r.At) {
				break
			}
		}
		emit(m.fire(a, r))
	}
	return out
}

func (m *Machine) newAlert(r Result) Alert {
	seq := m.seq + 1
	a := Alert{
		ID: fmt.Sprintf("%s-%d", m.rule.ID, seq), Seq: seq,
		RuleID: m.rule.ID, RuleName: m.rule.Name, RuleVersion: m.rule.Version,
		Severity: m.rule.Severity, Priority: m.rule.Priority, Status: AlertPending,
		Message: r.Message, ThresholdValue: r.Threshold, ActualValue: r.Value, StartsAt: r.At,
	}
	if r.Threshold2 != nil {
		hi := *r.Threshold2
		a.ThresholdValue2 = &hi
	}
	return a
}

// canFire reports whether a pending alert may fire at at: it has held for
// For and the cooldown since the last firing is over.
func (m *Machine) canFire(a Alert, at time.Time) bool {
	if at.Sub(a.StartsAt) < m.policy.For {
		return false
	}
	return m.lastFired.IsZero() || m.policy.Cooldown <= 0 || at.Sub(m.lastFired) >= m.policy.Cooldown
}

// fire returns the firing record of a, deciding whether to notify it.
func (m *Machine) fire(a Alert, r Result) Record {
	at := r.At
	a.Status, a.TriggeredAt = AlertFiring, &at
	a.ActualValue, a.Message = r.Value, r.Message
	switch {
	case m.policy.Suppression > 0 && !m.lastNotified.IsZero() && at.Sub(m.lastNotified) < m.policy.Suppression:
		a.NotifySkipped = SkipSuppressed
	case m.policy.MaxPerHour > 0 && m.notifiedWithin(at) >= m.policy.MaxPerHour:
		a.NotifySkipped = SkipRateLimited
	default:
		a.Notified = true
	}
	return Record{Kind: RecordFiring, At: at, Alert: a, Notify: a.Notified}
}

// notifiedWithin counts notified firings in the hour ending at at.
func (m *Machine) notifiedWithin(at time.Time) int {
	n := 0
	for _, t := range m.notified {
		if at.Sub(t) < time.Hour {
			n++
		}
	}
	return n
}

// Acknowledge records that by acknowledged the firing alert alertID.
func (m *Machine) Acknowledge(alertID, by, notes string, at time.Time) (Record, error) {
	a, err := m.firing(alertID)
	if err != nil {
		return Record{}, err
	}
	if a.AcknowledgedAt != nil {
		return Record{}, ErrAlreadyAcknowledged
	}
	a.AcknowledgedBy, a.AcknowledgmentNotes, a.AcknowledgedAt = by, notes, &at
	rec := Record{Kind: RecordAcknowledged, At: at, Alert: a}
	m.Apply(rec)
	return rec, nil
}

// Resolve records that by resolved the firing alert alertID by hand. The
// resolution is notified when the firing was.
func (m *Machine) Resolve(alertID, by, notes string, at time.Time) (Record, error) {
	a, err := m.firing(alertID)
	if err != nil {
		return Record{}, err
	}
	a.Status, a.ResolvedAt, a.ResolutionType = AlertResolved, &at, ResolvedManual
	a.ResolvedBy, a.ResolutionNotes = by, notes
	rec := Record{Kind: RecordResolved, At: at, Alert: a, Notify: a.Notified}
	m.Apply(rec)
	return rec, nil
}

func (m *Machine) firing(alertID string) (Alert, error) {
	if m.open == nil || m.open.ID != alertID {
		return Alert{}, ErrNoSuchAlert
	}
	if m.open.Status != AlertFiring {
		return Alert{}, ErrNotFiring
	}
	return *m.open, nil
}

// Stop ends the open alert because the rule stops being evaluated
// (disabled, archived, deleted, or its ruleConfig changed): a pending alert
// is canceled, a firing one resolved (AUTO) with reason as its notes.
func (m *Machine) Stop(at time.Time, reason string) []Record {
	var out []Record
	if m.open != nil {
		a := *m.open
		rec := Record{Kind: RecordCanceled, At: at, Alert: a}
		if a.Status == AlertFiring {
			a.Status, a.ResolvedAt, a.ResolutionType, a.ResolutionNotes = AlertResolved, &at, ResolvedAuto, reason
			rec = Record{Kind: RecordResolved, At: at, Alert: a, Notify: a.Notified}
		}
		m.Apply(rec)
		out = append(out, rec)
	}
	if m.hold {
		rec := Record{Kind: RecordRearmed, At: at, Alert: Alert{RuleID: m.rule.ID}}
		m.Apply(rec)
		out = append(out, rec)
	}
	return out
}

// Apply applies one record of this rule: the only way state changes, live
// (Step, Acknowledge, Resolve, Stop) or on replay. Records of other rules
// are ignored.
func (m *Machine) Apply(rec Record) {
	if rec.Alert.RuleID != m.rule.ID {
		return
	}
	a := rec.Alert
	switch rec.Kind {
	case RecordPending:
		m.open, m.seq, m.hold = &a, max(m.seq, a.Seq), false
	case RecordFiring:
		m.open, m.seq, m.hold = &a, max(m.seq, a.Seq), false
		m.lastFired = rec.At
		if rec.Notify {
			m.lastNotified = rec.At
			kept := m.notified[:0]
			for _, t := range m.notified {
				if rec.At.Sub(t) < time.Hour {
					kept = append(kept, t)
				}
			}
			m.notified = append(kept, rec.At)
		}
	case RecordAcknowledged:
		if m.open != nil && m.open.ID == a.ID {
			m.open = &a
		}
	case RecordCanceled, RecordResolved:
		if m.open != nil && m.open.ID == a.ID {
			m.open = nil
		}
		m.seq = max(m.seq, a.Seq)
		if rec.Kind == RecordResolved && a.ResolutionType == ResolvedManual {
			m.hold = true
		}
	case RecordRearmed:
		m.hold = false
	}
}

// MachineState is a Machine's state as a comparable value, for
// introspection and for tests that replay records.
type MachineState struct {
	Open         *Alert
	Seq          uint64
	Hold         bool
	LastFired    time.Time
	LastNotified time.Time
	Notified     []time.Time
}

// State returns a copy of the machine's state.
func (m *Machine) State() MachineState {
	s := MachineState{Seq: m.seq, Hold: m.hold, LastFired: m.lastFired, LastNotified: m.lastNotified,
		Notified: append([]time.Time(nil), m.notified...)}
	if m.open != nil {
		a := *m.open
		s.Open = &a
	}
	return s
}

// RestoreMachine returns the machine of r in state s (from State, kept in
// a compacted snapshot of the journaled records): the same machine that
// applying every record up to s would give, so a long record log need not
// be kept to rebuild it.
func RestoreMachine(r *Rule, s MachineState) *Machine {
	m := NewMachine(r)
	if s.Open != nil && s.Open.RuleID == r.ID {
		a := *s.Open
		m.open = &a
	}
	m.seq, m.hold = s.Seq, s.Hold
	m.lastFired, m.lastNotified = s.LastFired, s.LastNotified
	m.notified = append([]time.Time(nil), s.Notified...)
	return m
}
