package actors

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/eventara/eventara/cluster"
	"github.com/eventara/eventara/journal"
	"github.com/eventara/eventara/protocol/event"
)

// Shared checkpoints (cluster mode): a node that must start past the
// stream's retention starts from another node's state.
//
// Publishing. After a local checkpoint is saved (saveCheckpoint), the node
// offers it (sharedCheckpoints.offer); at most one every
// ClusterConfig.SharedCheckpointInterval is published, by one goroutine,
// in the background, as this node's object in the cluster's bucket
// (cluster.Stream.SaveSharedCheckpoint: each node writes only its own,
// so writers never race). A checkpoint offered while one is being
// published waits in a one-slot hand-off, newer replacing older. So the
// cost is one upload of the state (its size: README, "Cluster") per
// interval per node, whatever the ingest rate. In a stream that only
// ticks (no events) the aggregator still checkpoints once per interval
// (aggStream.idleDue), or the ticks past the last checkpoint would age
// out and leave nothing a joiner could start from.
//
// Joining (startFromShared, in Start before the state is recovered).
// When this node's next needed sequence (its checkpoint's + 1, 1 with
// none) is older than the stream's first retained one
// (cluster.Stream.FirstRetained), the newest shared checkpoint at or
// after that first sequence − 1 (what came before it is gone) is
// installed as this node's own local checkpoint, which the aggregator and
// windows then recover from. The applier reads the stream from its first
// retained sequence, so the local journal (reads, Idempotency-Keys) gets
// every retained record, and the aggregator and windows skip those at or
// before the checkpoint's sequence (aggStream.fresh). With no such
// checkpoint the node starts from its own as before and reports the gap
// (gapReason: health down, what to do). A node with a gap writes no
// checkpoint at all (saveCheckpoint): its next start sees the gap again
// and looks for a shared checkpoint again, and its incomplete state is
// never shared. Guarded by TestJoinFromSharedCheckpoint,
// TestJoinWithoutSharedCheckpointIsRefused and, on real processes,
// TestClusterLateJoiner.
//
// The checkpoint is a container of named parts (cluster.SharedCheckpoint):
// the aggregator's state is the part sharedPartAggregator, the rules,
// alerts, channels and outbox (AlertingState) the part
// sharedPartAlerting; an older node ignores parts it does not know.
//
// The alerting part is read by the publishing goroutine after the local
// checkpoint at sequence S was saved, so it covers S: the applier waits
// for each state note to be applied before it reads on, so every state
// note before S was applied before the aggregator got S. It may hold
// notes after S too; each store records the stream sequence of the last
// note it applied (cluster_state.go), so a joiner that reads the stream
// from the first retained sequence F (F − 1 ≤ S) skips the notes its
// installed stores hold and applies the rest: none missed, none applied
// twice. The rules are read before the notifier, so an alert
// transition in the rules is in the outbox too, or enqueued by the
// notifier's reoffer at start (notify.Outbox.Enqueue takes an ID once).
// A joiner writes the alerting part into its journal, replacing the
// state it had (its own missed the notes the stream lost), before it
// writes the aggregator's as its checkpoint: that write is the commit
// point, so a crash in between leaves the gap, seen again at the next
// start. A shared checkpoint without the part (published by an older
// node) still starts the metrics; the joiner keeps its own alerting
// state and says so (log, ClusterHealth.JoinWarning). Guarded by
// TestJoinFromSharedCheckpointWithAlerting and, on real processes,
// TestClusterLateJoiner.

// sharedPartAggregator names the aggregator's part: a format byte (1),
// the checkpoint's UpTo event ID (16 bytes), then its State (the totals
// and windows, checkpointState).
const (
	sharedPartAggregator = "aggregator"
	aggregatorPartV1     = 1
)

func encodeAggregatorPart(cp *journal.Checkpoint) []byte {
	b := make([]byte, 0, 1+len(cp.UpTo)+len(cp.State))
	b = append(b, aggregatorPartV1)
	b = append(b, cp.UpTo[:]...)
	return append(b, cp.State...)
}

func decodeAggregatorPart(sc *cluster.SharedCheckpoint) (journal.Checkpoint, error) {
	b, ok := sc.Parts[sharedPartAggregator]
	var id event.ID
	switch {
	case !ok:
		return journal.Checkpoint{}, fmt.Errorf("shared checkpoint of %s at %d has no %s part", sc.Node, sc.Seq, sharedPartAggregator)
	case len(b) < 1+len(id) || b[0] != aggregatorPartV1:
		return journal.Checkpoint{}, fmt.Errorf("shared checkpoint of %s at %d: %s part of an unknown format", sc.Node, sc.Seq, sharedPartAggregator)
	}
	copy(id[:], b[1:])
	return journal.Checkpoint{UpTo: id, At: sc.At, Seq: sc.Seq, State: b[1+len(id):]}, nil
}

// sharedPartAlerting names the alerting part: a format byte (1), Covers
// (8 bytes, big-endian), the length of Rules (8 bytes, big-endian), Rules,
// then Notifier (AlertingState).
const (
	sharedPartAlerting = "alerting"
	alertingPartV1     = 1
)

func encodeAlertingPart(st *AlertingState) []byte {
	b := make([]byte, 0, 17+len(st.Rules)+len(st.Notifier))
	b = append(b, alertingPartV1)
	b = binary.BigEndian.AppendUint64(b, st.Covers)
	b = binary.BigEndian.AppendUint64(b, uint64(len(st.Rules)))
	b = append(b, st.Rules...)
	return append(b, st.Notifier...)
}

// decodeAlertingPart returns the alerting part of sc; ok is false when sc
// has none.
func decodeAlertingPart(sc *cluster.SharedCheckpoint) (st AlertingState, ok bool, err error) {
	b, ok := sc.Parts[sharedPartAlerting]
	if !ok {
		return AlertingState{}, false, nil
	}
	if len(b) < 17 || b[0] != alertingPartV1 {
		return AlertingState{}, true, fmt.Errorf("shared checkpoint of %s at %d: %s part of an unknown format", sc.Node, sc.Seq, sharedPartAlerting)
	}
	n := binary.BigEndian.Uint64(b[9:17])
	if n > uint64(len(b)-17) {
		return AlertingState{}, true, fmt.Errorf("shared checkpoint of %s at %d: %s part truncated", sc.Node, sc.Seq, sharedPartAlerting)
	}
	st.Covers = binary.BigEndian.Uint64(b[1:9])
	st.Rules, st.Notifier = b[17:17+n], b[17+n:]
	return st, true, nil
}

// SharedCheckpointView describes a shared checkpoint for health.
type SharedCheckpointView struct {
	// Seq is the stream sequence it covers; Node the node that made it;
	// At when its state was cut (the stream time of its tick).
	Seq  uint64
	Node string
	At   time.Time
}

// sharedCheckpoints publishes this node's checkpoints and remembers what
// it knows of the cluster's (health).
type sharedCheckpoints struct {
	stream *cluster.Stream
	node   string
	every  time.Duration
	log    zerolog.Logger

	// mu guards the hand-off: pending is the newest checkpoint offered
	// and not yet taken, last when the last publication started.
	mu      sync.Mutex
	pending *journal.Checkpoint
	last    time.Time
	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once

	// newest is the newest shared checkpoint in the cluster as last seen;
	// startedFrom the one this node started from (nil: its own); err why
	// the last save or listing failed ("" when it worked).
	newest      atomic.Pointer[SharedCheckpointView]
	startedFrom atomic.Pointer[SharedCheckpointView]
	err         atomic.Value
}

// sharedSaveTimeout bounds one publication: a large state is many chunks,
// each acknowledged by a quorum (a 1.4 MB one took 10 ms on loopback),
// and one whose acks were lost in an election waits for all of them;
// sharedLoadTimeout bounds the look-up and load at start.
const (
	sharedSaveTimeout = 15 * time.Second
	sharedLoadTimeout = time.Minute
)

func newSharedCheckpoints(cfg *ClusterConfig, log zerolog.Logger) *sharedCheckpoints {
	sc := &sharedCheckpoints{stream: cfg.Stream, node: cfg.Node.Name(), every: cfg.SharedCheckpointInterval,
		log:  log.With().Str("component", "shared-checkpoints").Logger(),
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	sc.err.Store("")
	return sc
}

// sharedEvery is ClusterConfig.SharedCheckpointInterval's default: a
// quarter of the stream's retention, at most 5 minutes, so the stream
// always holds what follows several shared checkpoints.
func sharedEvery(maxAge time.Duration) time.Duration {
	return max(min(5*time.Minute, maxAge/4), time.Second)
}

// offer hands a saved local checkpoint over for publication; it never
// blocks.
func (sc *sharedCheckpoints) offer(cp journal.Checkpoint) {
	if cp.Seq == 0 {
		return
	}
	sc.mu.Lock()
	due := sc.last.IsZero() || time.Since(sc.last) >= sc.every
	if due {
		sc.pending = &cp
	}
	sc.mu.Unlock()
	if due {
		select {
		case sc.wake <- struct{}{}:
		default:
		}
	}
}

// run publishes what is offered, with the alerting state alerting reads
// (System.AlertingState), and lists the cluster's checkpoints once per
// interval (at most a minute apart), until close.
func (sc *sharedCheckpoints) run(alerting func() (AlertingState, error)) {
	defer close(sc.done)
	sc.refresh()
	list := time.NewTicker(min(sc.every, time.Minute))
	defer list.Stop()
	for {
		select {
		case <-sc.stop:
			return
		case <-list.C:
			sc.refresh()
		case <-sc.wake:
			sc.mu.Lock()
			cp := sc.pending
			sc.pending = nil
			if cp != nil {
				sc.last = time.Now()
			}
			sc.mu.Unlock()
			if cp != nil {
				sc.publish(cp, alerting)
			}
		}
	}
}

func (sc *sharedCheckpoints) close() {
	sc.once.Do(func() {
		close(sc.stop)
		<-sc.done
	})
}

func (sc *sharedCheckpoints) stopping() bool {
	select {
	case <-sc.stop:
		return true
	default:
		return false
	}
}

func (sc *sharedCheckpoints) context() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.Background(), sharedSaveTimeout)
	go func() {
		select {
		case <-sc.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

func (sc *sharedCheckpoints) publish(cp *journal.Checkpoint, alerting func() (AlertingState, error)) {
	ctx, cancel := sc.context()
	defer cancel()
	start := time.Now()
	st, err := alerting()
	if err != nil {
		sc.failed("alerting state", cp.Seq, err)
		return
	}
	// The state covers cp.Seq even when the applier's handed mark has
	// not caught up yet (see the top of this file).
	st.Covers = max(st.Covers, cp.Seq)
	shared := cluster.SharedCheckpoint{Seq: cp.Seq, Node: sc.node, At: cp.At,
		Parts: map[string][]byte{sharedPartAggregator: encodeAggregatorPart(cp), sharedPartAlerting: encodeAlertingPart(&st)}}
	n, err := sc.stream.SaveSharedCheckpoint(ctx, shared)
	if err != nil && sc.stopping() {
		sc.log.Debug().Err(err).Uint64("seq", cp.Seq).Msg("shared checkpoint abandoned: stopping")
		return
	}
	if err != nil {
		sc.failed("save", cp.Seq, err)
		return
	}
	sc.err.Store("")
	sc.see(SharedCheckpointView{Seq: cp.Seq, Node: sc.node, At: cp.At})
	sc.log.Info().Uint64("seq", cp.Seq).Int("bytes", n).Dur("took", time.Since(start)).Msg("shared checkpoint published")
}

// failed records that the checkpoint at seq was not published, at step
// what, and has the next one tried at once.
func (sc *sharedCheckpoints) failed(what string, seq uint64, err error) {
	sc.err.Store(what + ": " + err.Error())
	sc.mu.Lock()
	sc.last = time.Time{}
	sc.mu.Unlock()
	sc.log.Warn().Err(err).Uint64("seq", seq).Msg("shared checkpoint not published; the next local checkpoint is tried")
}

// refresh lists the cluster's shared checkpoints for the newest.
func (sc *sharedCheckpoints) refresh() {
	ctx, cancel := sc.context()
	defer cancel()
	infos, err := sc.stream.SharedCheckpoints(ctx)
	if err != nil {
		sc.err.Store("list: " + err.Error())
		sc.log.Debug().Err(err).Msg("shared checkpoints not listed")
		return
	}
	if len(infos) > 0 {
		sc.see(SharedCheckpointView{Seq: infos[0].Seq, Node: infos[0].Node, At: infos[0].At})
	}
}

// see records v as the newest known if it is newer.
func (sc *sharedCheckpoints) see(v SharedCheckpointView) {
	for {
		cur := sc.newest.Load()
		if cur != nil && cur.Seq >= v.Seq {
			return
		}
		if sc.newest.CompareAndSwap(cur, &v) {
			return
		}
	}
}

// startFromShared installs the newest shared checkpoint as this node's
// local checkpoint when the stream no longer holds what follows its own
// (see the top of this file). It returns the sequence the applier reads
// after: the stream's first retained one − 1, below the installed
// checkpoint's, so the local journal gets every retained record; 0 when
// nothing was installed (the applier reads after the recovered
// checkpoint). Errors reading the stream or the bucket are logged and
// leave the node on its own checkpoint, where the applier reports a gap.
func (c *clusterState) startFromShared(j Journal, log zerolog.Logger) (uint64, error) {
	sc := c.shared
	own, ok, err := j.LoadCheckpoint()
	if err != nil {
		return 0, fmt.Errorf("load checkpoint: %w", err)
	}
	if ok && own.Seq == 0 && !own.UpTo.IsZero() {
		return 0, nil // a single node's: recoverState refuses it
	}
	ctx, cancel := context.WithTimeout(context.Background(), sharedLoadTimeout)
	defer cancel()
	var first uint64
	for attempt := 1; ; attempt++ {
		if first, err = c.cfg.Stream.FirstRetained(ctx); err == nil || attempt == 5 || ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		log.Warn().Err(err).Msg("cluster: cannot tell where the stream begins; starting from this node's own checkpoint")
		return 0, nil
	}
	if first <= own.Seq+1 {
		return 0, nil // the stream holds all that follows
	}
	want := first - 1
	shared, found, skipped, err := c.cfg.Stream.LatestSharedCheckpoint(ctx, want)
	for _, s := range skipped {
		log.Warn().Err(s).Msg("cluster: shared checkpoint skipped")
	}
	if err == nil && found {
		var cp journal.Checkpoint
		if cp, err = decodeAggregatorPart(&shared); err == nil {
			if err = c.installAlerting(j, &shared, want, log); err == nil {
				err = j.SaveCheckpoint(cp) // last: the commit point
			}
		}
	}
	if err != nil || !found {
		sc.refresh() // the newest known, for the reason
	}
	switch {
	case err != nil:
		c.gap.Store(&gapRange{from: own.Seq + 1, first: first})
		log.Error().Err(err).Uint64("seq", own.Seq+1).Uint64("first", first).
			Msg("cluster: this node's checkpoint is older than the stream's retention and no shared checkpoint could be loaded")
		return 0, nil
	case !found:
		c.gap.Store(&gapRange{from: own.Seq + 1, first: first})
		log.Error().Uint64("seq", own.Seq+1).Uint64("first", first).Uint64("wanted", want).
			Msg("cluster: this node's checkpoint is older than the stream's retention and no shared checkpoint covers the gap")
		return 0, nil
	}
	v := SharedCheckpointView{Seq: shared.Seq, Node: shared.Node, At: shared.At}
	sc.startedFrom.Store(&v)
	sc.see(v)
	c.floor.Store(shared.Seq)
	log.Info().Uint64("own_seq", own.Seq).Uint64("first", first).Uint64("seq", shared.Seq).Str("from_node", shared.Node).
		Time("at", shared.At).Msg("cluster: this node starts from a shared checkpoint: its own is older than the stream's retention")
	return min(first-1, shared.Seq), nil
}

// installAlerting writes the alerting part of shared into j in place of
// its own, for a joiner whose stream reading starts after want. Without
// a usable part the joiner keeps its own and says so (JoinWarning); only
// an error writing j is returned.
func (c *clusterState) installAlerting(j Journal, shared *cluster.SharedCheckpoint, want uint64, log zerolog.Logger) error {
	st, ok, err := decodeAlertingPart(shared)
	var why string
	switch {
	case err != nil:
		why = err.Error()
	case !ok:
		why = fmt.Sprintf("the shared checkpoint of node %s at sequence %d has no rules, alerts or channels (an older node published it)", shared.Node, shared.Seq)
	case st.Covers < want:
		why = fmt.Sprintf("the rules, alerts and channels in the shared checkpoint of node %s cover the stream up to %d only, not %d", shared.Node, st.Covers, want)
	default:
		if err := replaceAlertingState(j, st); err != nil {
			return err
		}
		log.Info().Uint64("covers", st.Covers).Int("rules_bytes", len(st.Rules)).Int("notifier_bytes", len(st.Notifier)).
			Msg("cluster: rules, alerts and notification channels installed from the shared checkpoint")
		return nil
	}
	warn := why + ": this node's rules, alerts and notification channels are its own (none on an empty data directory) plus what the stream still holds, " +
		"and may lack changes the stream's retention removed; to have them, once every node runs a version that shares them and one has published a shared checkpoint since (GET /api/v1/system/cluster, sharedCheckpoint), stop this node, empty its data directory and start it again"
	c.joinWarning.Store(warn)
	log.Warn().Msg("cluster: " + warn)
	return nil
}

// gapRange is a run of stream sequences, from to first − 1, removed by
// the stream's retention before this node read them.
type gapRange struct{ from, first uint64 }

// gapReason says why sequences from to first−1 are missing and what to
// do, for the log and health (checkRetention). It is rendered when asked,
// so the advice follows the newest shared checkpoint known.
func (c *clusterState) gapReason(from, first uint64) string {
	lost := fmt.Sprintf("this node's position is older than the cluster stream's retention: stream sequences %d to %d were removed before it read them, so its totals miss those records", from, first-1)
	v := c.shared.newest.Load()
	if v != nil && v.Seq+1 >= first {
		return lost + fmt.Sprintf("; restart the node to join from the shared checkpoint (node %s, sequence %d, %s), which covers them", v.Node, v.Seq, v.At.Format(time.RFC3339))
	}
	what := "no shared checkpoint has been published"
	if v != nil {
		what = fmt.Sprintf("the newest shared checkpoint known (node %s, sequence %d, %s) does not cover them", v.Node, v.Seq, v.At.Format(time.RFC3339))
	}
	return lost + fmt.Sprintf(", and %s; "+
		"restart this node once another node has published a shared checkpoint (every %s; GET /api/v1/system/cluster on a healthy node shows sharedCheckpoint), "+
		"or keep nodes down for less than --retention", what, c.shared.every)
}

// idleDue says a checkpoint is due though no record came: the stream
// moved on by ticks alone since the last one, a shared checkpoint
// interval ago. Without it the ticks after the last checkpoint of a
// quiet cluster would age out of the stream and leave no shared
// checkpoint a joiner could continue from.
func (s *aggStream) idleDue(now, last time.Time, c *clusterState) bool {
	return s != nil && s.seq > s.checkpointed && now.Sub(last) >= c.shared.every
}

// checkpointAt records that a checkpoint at seq was started.
func (s *aggStream) checkpointAt(seq uint64) {
	if s != nil {
		s.checkpointed = seq
	}
}

// gapped says this node's totals miss records removed by the stream's
// retention.
func (c *clusterState) gapped() bool {
	return c.gap.Load() != nil
}
