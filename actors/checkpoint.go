package actors

import (
	"bytes"
	"encoding/gob"
	"errors"
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
	// seq is the stream sequence the state covers (cluster mode).
	seq uint64
}

// recoverState rebuilds the metrics state from the newest checkpoint plus
// the journal tail after it. A checkpoint that cannot be decoded is ignored
// (with an error log) and the whole journal is replayed instead.
//
// In cluster mode (stream) the newest checkpoint alone is loaded: the
// stream after its sequence is the tail, which the applier reads; the
// local journal, in ID order rather than the stream's, is not replayed.
func recoverState(j Journal, cfg snapshots.Config, specs []snapshots.WindowSpec, now time.Time, stream bool, log zerolog.Logger) (*recovered, error) {
	fresh := func() *recovered { return newRecovered(&cfg, specs) }
	if stream {
		return loadStreamCheckpoint(j, fresh, specs, log)
	}
	return replayCheckpoint(j, fresh, specs, now, log)
}

// recoverWindow rebuilds one window alone, the same way, for a restarted
// window actor. It returns the ID of the last record it covers.
func recoverWindow(j Journal, spec snapshots.WindowSpec, now time.Time, stream bool, log zerolog.Logger) (*snapshots.Window, event.ID, uint64, error) {
	specs := []snapshots.WindowSpec{spec}
	fresh := func() *recovered { return newRecovered(nil, specs) }
	var r *recovered
	var err error
	if stream {
		r, err = loadStreamCheckpoint(j, fresh, specs, log)
	} else {
		r, err = replayCheckpoint(j, fresh, specs, now, log)
	}
	if err != nil {
		return nil, event.ID{}, 0, err
	}
	return r.windows[0], r.lastID, r.seq, nil
}

// ErrModeMismatch refuses a data directory whose checkpoint was written in
// the other mode: a single node's state (ordered by event ID) cannot be
// continued from a cluster stream, nor a cluster node's by a single node.
var ErrModeMismatch = errors.New("data directory written in another mode")

// loadStreamCheckpoint loads the newest checkpoint of a cluster node. The
// windows are not advanced to the local clock: they stand at the
// checkpoint's tick, and the stream's ticks move them on.
func loadStreamCheckpoint(j Journal, fresh func() *recovered, specs []snapshots.WindowSpec, log zerolog.Logger) (*recovered, error) {
	r := fresh()
	cp, ok, err := j.LoadCheckpoint()
	if err != nil {
		return nil, fmt.Errorf("load checkpoint: %w", err)
	}
	if ok && cp.Seq == 0 && !cp.UpTo.IsZero() {
		return nil, fmt.Errorf("%w: its checkpoint is a single node's (events up to %s); cluster mode starts from an empty data directory; copy a single node's events into a cluster with `eventara import --from DIR --nats-url URL`", ErrModeMismatch, cp.UpTo)
	}
	if ok {
		if err := r.load(cp, specs); err != nil {
			log.Error().Err(err).Msg("checkpoint unreadable: reading the whole cluster stream")
			r, cp = fresh(), journal.Checkpoint{}
		}
		r.seq = cp.Seq
	}
	log.Info().Bool("checkpoint", ok).Uint64("seq", r.seq).Msg("state recovered; the cluster stream follows from the next sequence")
	return r, nil
}

// newRecovered is empty state for specs, with totals when cfg is set.
func newRecovered(cfg *snapshots.Config, specs []snapshots.WindowSpec) *recovered {
	r := &recovered{windows: make([]*snapshots.Window, len(specs))}
	if cfg != nil {
		r.totals = snapshots.NewTotals(*cfg)
	}
	for i, s := range specs {
		r.windows[i] = snapshots.NewWindow(s)
	}
	return r
}

// replayCheckpoint loads the newest checkpoint into fresh() state and replays the
// journal tail after it.
func replayCheckpoint(j Journal, fresh func() *recovered, specs []snapshots.WindowSpec, now time.Time, log zerolog.Logger) (*recovered, error) {
	start := time.Now()
	r := fresh()
	cp, ok, err := j.LoadCheckpoint()
	if err != nil {
		return nil, fmt.Errorf("load checkpoint: %w", err)
	}
	if ok && cp.Seq > 0 {
		return nil, fmt.Errorf("%w: its checkpoint is a cluster node's (stream sequence %d); start it with its --cluster flags, or a single node from an empty data directory", ErrModeMismatch, cp.Seq)
	}
	if ok {
		if err := r.load(cp, specs); err != nil {
			log.Error().Err(err).Msg("checkpoint unreadable: replaying the whole journal")
			r, cp = fresh(), journal.Checkpoint{}
		} else {
			r.lastID = cp.UpTo
		}
	}
	err = j.Replay(cp.UpTo, func(rec *event.Record) error {
		if r.totals != nil {
			r.totals.ApplyRecord(rec)
		}
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

// load reads cp's state into r: the totals when r has them, and each
// window of specs (one missing from cp, added since, starts empty).
func (r *recovered) load(cp journal.Checkpoint, specs []snapshots.WindowSpec) error {
	var st checkpointState
	if err := gob.NewDecoder(bytes.NewReader(cp.State)).Decode(&st); err != nil {
		return fmt.Errorf("decode checkpoint %s: %w", cp.UpTo, err)
	}
	if r.totals != nil {
		if err := r.totals.UnmarshalBinary(st.Totals); err != nil {
			return fmt.Errorf("decode checkpoint totals: %w", err)
		}
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
// A cluster node whose totals miss records removed by the stream's
// retention (a gap) writes none: it keeps its last good checkpoint, so
// that its next start sees the gap again and can start from a shared
// checkpoint, and it never shares its state (sharedcp.go).
func (s *System) saveCheckpoint(cp journal.Checkpoint) error {
	if s.cluster != nil && s.cluster.gapped() {
		s.log.Debug().Uint64("seq", cp.Seq).Msg("checkpoint not written: this node's totals miss records (retention gap)")
		return nil
	}
	if err := s.cfg.Journal.SaveCheckpoint(cp); err != nil {
		return fmt.Errorf("save checkpoint %s: %w", cp.UpTo, err)
	}
	s.checkpointAt.Store(cp.At.UnixMilli())
	if s.cluster != nil {
		s.cluster.shared.offer(cp)
	}
	s.log.Debug().Str("seq", cp.UpTo.String()).Int("bytes", len(cp.State)).Msg("checkpoint written")
	return nil
}
