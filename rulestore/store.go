package rulestore

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/eventara/eventara/rules"
)

// Config bounds a Store. Zero values are the documented defaults.
type Config struct {
	// MaxRules bounds the rules (of any status). Zero means 1,000.
	MaxRules int
	// MaxResolvedAlerts bounds the resolved alerts kept; past it the
	// oldest resolved are dropped. Zero means 10,000.
	MaxResolvedAlerts int
	// ResolvedRetention is how long a resolved alert is kept after its
	// resolution. Zero means 30 days.
	ResolvedRetention time.Duration
}

// Defaults of Config.
const (
	DefaultMaxRules          = 1000
	DefaultMaxResolvedAlerts = 10_000
	DefaultResolvedRetention = 30 * 24 * time.Hour
)

func (c Config) withDefaults() Config {
	if c.MaxRules <= 0 {
		c.MaxRules = DefaultMaxRules
	}
	if c.MaxResolvedAlerts <= 0 {
		c.MaxResolvedAlerts = DefaultMaxResolvedAlerts
	}
	if c.ResolvedRetention <= 0 {
		c.ResolvedRetention = DefaultResolvedRetention
	}
	return c
}

// Store is the alerting state: the rules, one alert machine per rule (the
// state of the journaled records, the mirror the rule actors restart from),
// and the alerts. It changes only through Apply, so a Store fed the same
// entries in order, or loaded from a snapshot and fed the rest, is the
// same (TestReplayReproducesStore). Not safe for concurrent use: its owner
// serialises writes and guards reads.
//
// Bounded: at most MaxRules rules (Check refuses more), one open alert per
// rule, and the resolved alerts of the last ResolvedRetention, at most
// MaxResolvedAlerts of them. Eviction is decided by the applied records'
// times, never a clock, so a replay evicts exactly what the live store did.
type Store struct {
	cfg      Config
	rules    map[string]*rules.Rule
	names    map[string]string // folded name → rule id
	machines map[string]*rules.Machine
	alerts   map[string]*rules.Alert
	// resolved lists resolved alerts' ids in the order they resolved,
	// oldest first: eviction takes from the front.
	resolved []string
	// streamSeq is the highest Entry.StreamSeq applied (cluster mode).
	streamSeq uint64
}

// New returns an empty store.
func New(cfg Config) *Store {
	return &Store{cfg: cfg.withDefaults(), rules: map[string]*rules.Rule{}, names: map[string]string{},
		machines: map[string]*rules.Machine{}, alerts: map[string]*rules.Alert{}}
}

// Config returns the store's bounds, defaults applied.
func (s *Store) Config() Config { return s.cfg }

// FoldName is how rule names are compared for uniqueness: trimmed and
// case-folded ("CPU high" and " cpu HIGH" clash).
func FoldName(name string) string { return strings.ToLower(strings.TrimSpace(name)) }

// Apply applies one entry. Entries that do not fit the state (an alert of
// a deleted rule, a delete of an unknown rule) change only what they can:
// replay never fails on a log its own live run wrote.
func (s *Store) Apply(e *Entry) {
	s.streamSeq = max(s.streamSeq, e.StreamSeq)
	switch e.Kind {
	case EntryRulePut:
		s.putRule(e.Rule)
	case EntryRuleDeleted:
		if r, ok := s.rules[e.RuleID]; ok {
			delete(s.names, FoldName(r.Name))
			delete(s.rules, e.RuleID)
			delete(s.machines, e.RuleID)
		}
	case EntryAlert:
		s.applyAlert(e.Record)
	}
}

func (s *Store) putRule(r *rules.Rule) {
	if r == nil {
		return
	}
	r = r.Clone()
	if old, ok := s.rules[r.ID]; ok {
		delete(s.names, FoldName(old.Name))
		s.machines[r.ID].SetRule(r)
	} else {
		s.machines[r.ID] = rules.NewMachine(r)
	}
	s.rules[r.ID] = r
	s.names[FoldName(r.Name)] = r.ID
}

func (s *Store) applyAlert(rec *rules.Record) {
	if rec == nil {
		return
	}
	id := rec.Alert.RuleID
	if m, ok := s.machines[id]; ok {
		m.Apply(*rec)
	}
	if r, ok := s.rules[id]; ok {
		r.ObserveAlert(rec)
	}
	switch rec.Kind {
	case rules.RecordRearmed:
		return
	case rules.RecordCanceled:
		delete(s.alerts, rec.Alert.ID)
		return
	}
	a := rec.Alert
	s.alerts[a.ID] = &a
	if rec.Kind == rules.RecordResolved {
		s.resolved = append(s.resolved, a.ID)
		s.evict(rec.At)
	}
}

// evict drops resolved alerts older than the retention at now, then the
// oldest while there are more than MaxResolvedAlerts.
func (s *Store) evict(now time.Time) {
	cut := 0
	for cut < len(s.resolved) {
		a, ok := s.alerts[s.resolved[cut]]
		old := ok && a.ResolvedAt != nil && now.Sub(*a.ResolvedAt) > s.cfg.ResolvedRetention
		if ok && !old && len(s.resolved)-cut <= s.cfg.MaxResolvedAlerts {
			break
		}
		delete(s.alerts, s.resolved[cut])
		cut++
	}
	if cut > 0 {
		s.resolved = append(s.resolved[:0], s.resolved[cut:]...)
	}
}

// StreamSeq is the stream sequence of the last cluster note applied (0 on
// one node): notes at or before it are in the store already.
func (s *Store) StreamSeq() uint64 { return s.streamSeq }

// Rule returns a copy of the rule with that id.
func (s *Store) Rule(id string) (*rules.Rule, bool) {
	r, ok := s.rules[id]
	if !ok {
		return nil, false
	}
	return r.Clone(), true
}

// RuleCount is the number of rules.
func (s *Store) RuleCount() int { return len(s.rules) }

// NameOwner returns the id of the rule named name (compared with
// FoldName), if any.
func (s *Store) NameOwner(name string) (string, bool) {
	id, ok := s.names[FoldName(name)]
	return id, ok
}

// Rules returns copies of the rules that keep is true for (all when keep is
// nil), oldest first.
func (s *Store) Rules(keep func(*rules.Rule) bool) []*rules.Rule {
	out := make([]*rules.Rule, 0, len(s.rules))
	for _, r := range s.rules {
		if keep == nil || keep(r) {
			out = append(out, r.Clone())
		}
	}
	slices.SortFunc(out, func(a, b *rules.Rule) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// Machine returns a copy of the rule's machine in its journaled state:
// what a rule actor starts from, and where the owner computes a change
// (Stop, Acknowledge, Resolve) before journaling it, leaving the store
// unchanged until the records are applied.
func (s *Store) Machine(ruleID string) (*rules.Machine, bool) {
	m, ok := s.machines[ruleID]
	if !ok {
		return nil, false
	}
	return rules.RestoreMachine(s.rules[ruleID], m.State()), true
}

// Alert returns a copy of the alert with that id.
func (s *Store) Alert(id string) (rules.Alert, bool) {
	a, ok := s.alerts[id]
	if !ok {
		return rules.Alert{}, false
	}
	return *a, true
}

// AlertCount is the number of alerts kept (open and resolved).
func (s *Store) AlertCount() int { return len(s.alerts) }

// snapshot is the JSON of a compacted store.
type snapshot struct {
	Version  int                           `json:"version"`
	Rules    []json.RawMessage             `json:"rules"`
	Machines map[string]rules.MachineState `json:"machines"`
	Alerts   []rules.Alert                 `json:"alerts"`
	Resolved []string                      `json:"resolved"`
	// StreamSeq is Store.StreamSeq (cluster mode; absent on one node).
	StreamSeq uint64 `json:"streamSeq,omitempty"`
}

const snapshotVersion = 1

// MarshalSnapshot encodes the whole store (the state log's compacted
// snapshot). Equal stores encode to equal bytes.
func (s *Store) MarshalSnapshot() ([]byte, error) {
	snap := snapshot{Version: snapshotVersion, Machines: make(map[string]rules.MachineState, len(s.machines)),
		Resolved: append([]string{}, s.resolved...), StreamSeq: s.streamSeq}
	for _, r := range s.Rules(nil) {
		b, err := json.Marshal(r)
		if err != nil {
			return nil, fmt.Errorf("encode rule %s: %w", r.ID, err)
		}
		snap.Rules = append(snap.Rules, b)
	}
	for id, m := range s.machines {
		snap.Machines[id] = m.State()
	}
	snap.Alerts = make([]rules.Alert, 0, len(s.alerts))
	for _, a := range s.alerts {
		snap.Alerts = append(snap.Alerts, *a)
	}
	slices.SortFunc(snap.Alerts, func(a, b rules.Alert) int { return strings.Compare(a.ID, b.ID) })
	return json.Marshal(&snap)
}

// Load returns the store a snapshot encodes. A rule whose ruleConfig this
// version no longer accepts is kept with a nil Config (it cannot be
// evaluated; the owner logs it); bad lists which.
func Load(cfg Config, data []byte) (st *Store, bad []string, err error) {
	var snap snapshot
	if err := json.Unmarshal(data, &snap); err != nil {
		return nil, nil, fmt.Errorf("decode rules snapshot: %w", err)
	}
	if snap.Version != snapshotVersion {
		return nil, nil, fmt.Errorf("decode rules snapshot: version %d, want %d", snap.Version, snapshotVersion)
	}
	s := New(cfg)
	for _, raw := range snap.Rules {
		r, err := rules.DecodeRule(raw)
		if r == nil {
			return nil, nil, fmt.Errorf("decode rules snapshot: %w", err)
		}
		if err != nil {
			bad = append(bad, r.ID)
		}
		s.rules[r.ID] = r
		s.names[FoldName(r.Name)] = r.ID
		s.machines[r.ID] = rules.RestoreMachine(r, snap.Machines[r.ID])
	}
	for i := range snap.Alerts {
		a := snap.Alerts[i]
		s.alerts[a.ID] = &a
	}
	s.resolved = snap.Resolved
	s.streamSeq = snap.StreamSeq
	return s, bad, nil
}
