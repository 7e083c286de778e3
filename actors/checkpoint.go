package actors

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/eventara/eventara/journal"
	"github.com/eventara/eventara/protocol/event"
	"github.com/eventara/eventara/snapshots"
)

// checkpointState is what a checkpoint holds: the totals and every window,
// each in its own binary form, as of the checkpoint's UpTo record.
type checkpointState struct {
	Totals  []byte
	Windows map[string][]byte
}

func (c *checkpointState) encode() ([]byte, error) {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(c); err != nil {
		return nil, fmt.Errorf("encode checkpoint: %w", err)
	}
	return buf.Bytes(), nil
}

// recovered is the metrics state rebuilt at start-up.
type recovered struct {
	totals   *snapshots.Totals
	windows  []*snapshots.Window
	lastID   event.ID
	replayed int
}

// recoverState rebuilds the metrics state from the newest checkpoint plus
// the journal tail after it. A checkpoint that cannot be decoded is ignored
// (with an error log) and the whole journal is replayed instead.
func recoverState(j *journal.Journal, cfg snapshots.Config, specs []snapshots.WindowSpec, now time.Time, log zerolog.Logger) (*recovered, error) {
	start := time.Now()
	r := &recovered{totals: snapshots.NewTotals(cfg), windows: make([]*snapshots.Window, len(specs))}
	for i, s := range specs {
		r.windows[i] = snapshots.NewWindow(s)
	}
	cp, ok, err := j.LoadCheckpoint()
	if err != nil {
		return nil, fmt.Errorf("load checkpoint: %w", err)
	}
	if ok {
		if err := r.load(cp, specs); err != nil {
			log.Error().Err(err).Msg("checkpoint unreadable: replaying the whole journal")
			r = &recovered{totals: snapshots.NewTotals(cfg), windows: make([]*snapshots.Window, len(specs))}
			for i, s := range specs {
				r.windows[i] = snapshots.NewWindow(s)
			}
			cp = journal.Checkpoint{}
		} else {
			r.lastID = cp.UpTo
		}
	}
	err = j.Replay(cp.UpTo, func(rec *event.Record) error {
		r.totals.ApplyRecord(rec)
		if rec.Kind == event.KindEvent {
			for _, w := range r.windows {
				w.Apply(&rec.Event)
			}
		}
		r.lastID = rec.Event.ID
		r.replayed++
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("replay journal after %s: %w", cp.UpTo, err)
	}
	for _, w := range r.windows {
		w.Advance(now)
	}
	log.Info().Bool("checkpoint", ok).Str("checkpoint_seq", cp.UpTo.String()).
		Int("replayed", r.replayed).Dur("took", time.Since(start)).Msg("state recovered")
	return r, nil
}

func (r *recovered) load(cp journal.Checkpoint, specs []snapshots.WindowSpec) error {
	var st checkpointState
	if err := gob.NewDecoder(bytes.NewReader(cp.State)).Decode(&st); err != nil {
		return fmt.Errorf("decode checkpoint %s: %w", cp.UpTo, err)
	}
	if err := r.totals.UnmarshalBinary(st.Totals); err != nil {
		return fmt.Errorf("decode checkpoint totals: %w", err)
	}
	for i, s := range specs {
		b, ok := st.Windows[s.Name]
		if !ok {
			continue // a window added since: it starts empty
		}
		if err := r.windows[i].UnmarshalBinary(b); err != nil {
			return fmt.Errorf("decode checkpoint window %s: %w", s.Name, err)
		}
	}
	return nil
}

// saveCheckpoint writes cp and records its time for health and metrics.
func (s *System) saveCheckpoint(cp journal.Checkpoint) error {
	if err := s.cfg.Journal.SaveCheckpoint(cp); err != nil {
		return fmt.Errorf("save checkpoint %s: %w", cp.UpTo, err)
	}
	s.checkpointAt.Store(cp.At.UnixMilli())
	s.log.Debug().Str("seq", cp.UpTo.String()).Int("bytes", len(cp.State)).Msg("checkpoint written")
	return nil
}

// recoverWindow rebuilds one window, for a restarted window actor: its
// state in the newest checkpoint (empty if none, or if the checkpoint is
// unreadable) plus the events of the journal after it. It returns the ID
// of the last record it covers.
func recoverWindow(j *journal.Journal, spec snapshots.WindowSpec, now time.Time) (*snapshots.Window, event.ID, error) {
	w := snapshots.NewWindow(spec)
	cp, ok, err := j.LoadCheckpoint()
	if err != nil {
		return nil, event.ID{}, fmt.Errorf("load checkpoint: %w", err)
	}
	if ok {
		var st checkpointState
		b, found := []byte(nil), false
		if gob.NewDecoder(bytes.NewReader(cp.State)).Decode(&st) == nil {
			b, found = st.Windows[spec.Name]
		}
		if !found || w.UnmarshalBinary(b) != nil {
			w, cp = snapshots.NewWindow(spec), journal.Checkpoint{}
		}
	}
	last := cp.UpTo
	err = j.Replay(cp.UpTo, func(rec *event.Record) error {
		if rec.Kind == event.KindEvent {
			w.Apply(&rec.Event)
		}
		last = rec.Event.ID
		return nil
	})
	if err != nil {
		return nil, event.ID{}, fmt.Errorf("replay journal after %s: %w", cp.UpTo, err)
	}
	w.Advance(now)
	return w, last, nil
}
