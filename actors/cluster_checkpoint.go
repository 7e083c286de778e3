package actors

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/eventara/eventara/notify"
	"github.com/eventara/eventara/rulestore"
)

// AlertingState is a cluster node's rules, alerts, notification channels
// and outbox as bytes: the part of a shared checkpoint that a node
// joining after the stream's retention needs besides the metrics. Each
// part records the stream sequence of the last note applied to it, so a
// node that installs it (InstallAlertingState) and then reads the stream
// from any position at or before Covers + 1 skips the notes it holds and
// applies the rest.
type AlertingState struct {
	// Covers is a stream sequence every state note at or before which is
	// in the state: the applier had handed the stream up to it when the
	// state was read (the applier waits for each state note's application).
	Covers uint64
	// Rules is the rules store's snapshot (rulestore.Store.MarshalSnapshot).
	Rules []byte
	// Notifier is the notifier log's snapshot: channels, with their
	// secrets, and the outbox with its delivery log.
	Notifier []byte
}

// AlertingState returns this node's alerting state (cluster mode only).
func (s *System) AlertingState() (AlertingState, error) {
	if s.cluster == nil {
		return AlertingState{}, errors.New("alerting state: not in cluster mode")
	}
	st := AlertingState{Covers: s.cluster.handed.Load()}
	var err error
	s.read(func(rs *rulestore.Store) { st.Rules, err = rs.MarshalSnapshot() })
	if err != nil {
		return st, fmt.Errorf("alerting state: rules: %w", err)
	}
	s.readNotifyLocked(func(nt *notifying) {
		snap := notifySnapshot{Channels: slices.SortedFunc(maps.Values(nt.channels), func(x, y *notify.Channel) int {
			return cmp.Compare(x.ID, y.ID)
		}), StreamSeq: nt.streamSeq}
		if snap.Outbox, err = nt.outbox.MarshalSnapshot(); err == nil {
			st.Notifier, err = json.Marshal(&snap)
		}
	})
	if err != nil {
		return st, fmt.Errorf("alerting state: notifier: %w", err)
	}
	return st, nil
}

// InstallAlertingState writes st into j, the journal of a node that has
// no rules or notifier state yet, before Start.
func InstallAlertingState(j Journal, st AlertingState) error {
	if _, _, ok, err := j.LoadStateSnapshot(); err != nil || ok {
		return fmt.Errorf("install alerting state: the journal has rules state already (%v)", err)
	}
	return replaceAlertingState(j, st)
}

// replaceAlertingState writes st into j before Start in place of the
// rules and notifier state j holds: each state log is compacted into st's
// snapshot up to its last record, so nothing of the old state is replayed
// on top of it.
func replaceAlertingState(j Journal, st AlertingState) error {
	upTo, _, _, err := j.LoadStateSnapshot()
	if err == nil {
		upTo, err = lastStateRecord(upTo, j.ReplayState)
	}
	if err == nil {
		err = j.CompactState(upTo, st.Rules)
	}
	if err != nil {
		return fmt.Errorf("install alerting state: rules: %w", err)
	}
	nl := j.NotifyLog()
	upTo, _, _, err = nl.LoadSnapshot()
	if err == nil {
		upTo, err = lastStateRecord(upTo, nl.Replay)
	}
	if err == nil {
		err = nl.Compact(upTo, st.Notifier)
	}
	if err != nil {
		return fmt.Errorf("install alerting state: notifier: %w", err)
	}
	return nil
}

// lastStateRecord is the number of a state log's last record: after, its
// snapshot's, or the last that replay passes after it.
func lastStateRecord(after uint64, replay func(uint64, func(uint64, []byte) error) error) (uint64, error) {
	last := after
	err := replay(after, func(seq uint64, _ []byte) error {
		last = seq
		return nil
	})
	return last, err
}

// readNotifyLocked runs fn with the notifier's state read-locked.
func (s *System) readNotifyLocked(fn func(*notifying)) {
	nt := s.notifying
	nt.mu.RLock()
	defer nt.mu.RUnlock()
	fn(nt)
}
