package rulestore

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/eventara/eventara/rules"
)

// EntryKind names a state log entry.
type EntryKind string

// Entry kinds.
const (
	// EntryRulePut: a rule created or changed; Rule is the whole rule after
	// the change (status changes included).
	EntryRulePut EntryKind = "RULE_PUT"
	// EntryRuleDeleted: the rule RuleID was deleted (its alerts stay).
	EntryRuleDeleted EntryKind = "RULE_DELETED"
	// EntryAlert: one alert transition, Record.
	EntryAlert EntryKind = "ALERT"
)

// Entry is one record of the alerting state log: the unit journaled,
// replayed and applied (Store.Apply). It is immutable once built.
type Entry struct {
	Kind   EntryKind
	At     time.Time
	Rule   *rules.Rule
	RuleID string
	Record *rules.Record
	// StreamSeq is, in cluster mode, the stream sequence of the note the
	// entry was applied from (0 on one node): the store remembers the
	// highest (Store.StreamSeq), so a node reading the stream again after
	// a restart skips the notes it applied.
	StreamSeq uint64
}

// RuleEntry returns the entry that puts r.
func RuleEntry(r *rules.Rule, at time.Time) *Entry {
	return &Entry{Kind: EntryRulePut, At: at, Rule: r.Clone(), RuleID: r.ID}
}

// AlertEntry returns the entry of one alert transition.
func AlertEntry(rec rules.Record) *Entry {
	return &Entry{Kind: EntryAlert, At: rec.At, Record: &rec, RuleID: rec.Alert.RuleID}
}

// DeleteEntry returns the entry that deletes rule id.
func DeleteEntry(id string, at time.Time) *Entry {
	return &Entry{Kind: EntryRuleDeleted, At: at, RuleID: id}
}

// entryJSON is an Entry on disk. The rule goes as its JSON (its parsed
// Config is not part of it and is rebuilt by rules.DecodeRule).
type entryJSON struct {
	Kind   EntryKind       `json:"kind"`
	At     time.Time       `json:"at"`
	RuleID string          `json:"ruleId,omitempty"`
	Rule   json.RawMessage `json:"rule,omitempty"`
	Record *rules.Record   `json:"record,omitempty"`
	Seq    uint64          `json:"streamSeq,omitempty"`
}

// Marshal encodes e for the state log.
func (e *Entry) Marshal() ([]byte, error) {
	j := entryJSON{Kind: e.Kind, At: e.At, RuleID: e.RuleID, Record: e.Record, Seq: e.StreamSeq}
	if e.Rule != nil {
		b, err := json.Marshal(e.Rule)
		if err != nil {
			return nil, fmt.Errorf("encode %s entry: %w", e.Kind, err)
		}
		j.Rule = b
	}
	return json.Marshal(&j)
}

// ErrBadEntry is returned by UnmarshalEntry for bytes that are not an
// entry this version wrote.
var ErrBadEntry = errors.New("rulestore: bad state log entry")

// UnmarshalEntry decodes a state log entry. A rule whose ruleConfig this
// version no longer accepts is returned with a nil Config and the
// *rules.ValidationError (the entry is still applied; the rule cannot be
// evaluated).
func UnmarshalEntry(b []byte) (*Entry, error) {
	var j entryJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadEntry, err)
	}
	e := &Entry{Kind: j.Kind, At: j.At, RuleID: j.RuleID, Record: j.Record, StreamSeq: j.Seq}
	switch j.Kind {
	case EntryRulePut:
		r, err := rules.DecodeRule(j.Rule)
		if r == nil {
			return nil, fmt.Errorf("%w: %w", ErrBadEntry, err)
		}
		e.Rule = r
		return e, err
	case EntryRuleDeleted:
		if j.RuleID == "" {
			return nil, fmt.Errorf("%w: RULE_DELETED without ruleId", ErrBadEntry)
		}
	case EntryAlert:
		if j.Record == nil {
			return nil, fmt.Errorf("%w: ALERT without record", ErrBadEntry)
		}
	default:
		return nil, fmt.Errorf("%w: kind %q", ErrBadEntry, j.Kind)
	}
	return e, nil
}
