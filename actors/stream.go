package actors

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"

	"github.com/eventara/eventara/cluster"
	"github.com/eventara/eventara/journal"
	"github.com/eventara/eventara/protocol/event"
	"github.com/eventara/eventara/telemetry"
)

// Cluster mode (research/scale-out-nats.md, design B). The journal is the
// cluster's replicated stream; every node reads all of it in stream order
// and runs the same aggregator over it, so every node builds the same
// snapshot for the same tick. The seam between the two modes is the
// source (source.go: localSource and streamSource, side by side). What
// changes against one node:
//
//   - ingest appends each group through the stream's Publisher (a 202
//     after a quorum's acks), several groups at once
//     (ClusterConfig.GroupsInFlight, see ingestActor), and hands nothing
//     to the aggregator itself;
//   - the applier (applier.go) reads the stream from the checkpoint's
//     stream sequence + 1, copies records into the node's local journal
//     (reads, Idempotency-Key look-ups) and hands them, then each tick, to
//     the aggregator; the scheduler does not run;
//   - a new Idempotency-Key is claimed in the stream before its request's
//     events are published (settleKeys → streamAppender.ClaimKey: the
//     duplicate window keeps one claim per key, and a retry racing the
//     first through another node gets the first's claim and completes it,
//     CompleteKey); after the events are acknowledged the key goes to the
//     stream as a note (streamAppender.Append), which every node's
//     applier stores in its local journal for later retries. Guarded by
//     TestApplierKeyHoldsOnEveryNode, TestApplierKeyRaceAcrossNodes and
//     TestClusterIdempotencyKey;
//   - positions are stream sequences, not event IDs: IDs are minted by
//     each node and do not grow along the stream. Checkpoints record the
//     sequence (journal.Checkpoint.Seq) and recovery reads the stream tail
//     after it, never the local journal;
//   - a restarted aggregator or window reloads the newest checkpoint and
//     asks the applier to read the stream again from its sequence
//     (rewind): every batch and tick carries the rewind epoch it was read
//     in, and an actor drops what was read before its own restart, then
//     skips by sequence what it already applied;
//   - each node also publishes its checkpoint to the cluster now and
//     then, and a node whose own checkpoint is older than the stream's
//     retention (new, wiped, down too long) starts from the newest of
//     those instead (sharedcp.go).

// ErrNoQuorum wraps an append the cluster's stream did not acknowledge in
// time: no quorum of nodes, no stream leader (an election), acks lost.
// HTTP answers 503 with Retry-After. Some of the events may have been
// stored; a retry stores each once within the stream's duplicate window.
var ErrNoQuorum = errors.New("cluster has no quorum")

// ClusterConfig turns on cluster mode (Config.Cluster).
type ClusterConfig struct {
	// Node is this node's NATS; Stream the cluster's journal; Publisher
	// appends to it. All three are required.
	Node      *cluster.Node
	Stream    *cluster.Stream
	Publisher *cluster.Publisher
	// Consumer configures the applier's reading of the stream.
	Consumer cluster.ConsumerConfig
	// MaxBatch bounds the records the applier hands the aggregator in one
	// batch. Zero means 1000.
	MaxBatch int
	// InfoInterval is how often the stream's state is asked for health,
	// GET /api/v1/system/cluster and the gauges. Zero means 1 s.
	InfoInterval time.Duration
	// GroupsInFlight is how many ingest groups may await the quorum's
	// acks at once (one node keeps one: its journal syncs one group at a
	// time). Each group then holds at most the Publisher's window
	// (PublisherConfig.MaxPending) divided by GroupsInFlight events, so
	// the groups in flight together fit in the window, unless
	// Config.MaxGroupEvents is smaller; a request larger than that goes in
	// a group of its own. A group beyond the first starts only with
	// ExtraGroupEvents events pending (see ingestActor). Zero means 8.
	GroupsInFlight int

	// SharedCheckpointInterval is the least time between two shared
	// checkpoints this node publishes (sharedcp.go). Zero means a quarter
	// of the stream's MaxAge, at most 5 minutes.
	SharedCheckpointInterval time.Duration

	// Tests running several nodes on one NATS server set these: the
	// node's name ("" means Node's) and who delivers (nil: the stream's
	// leader; cluster_state.go).
	name  string
	owner func() bool

	// publisher, when set, is used instead of Publisher (tests: a double
	// that holds appends).
	publisher publisher
}

// publisher is what cluster mode uses of a *cluster.Publisher.
type publisher interface {
	Append(ctx context.Context, recs []event.Record) (uint64, error)
	Note(ctx context.Context, id string, data []byte) (uint64, error)
	Claim(ctx context.Context, id string, data []byte) (cluster.Claimed, error)
	Config() cluster.PublisherConfig
}

// ExtraGroupEvents is how many events must be pending for the ingest
// actor to start a group beside those in flight in cluster mode (or a
// full group, when groups are smaller). Fewer wait for a group in flight
// to end and go together (group commit). Measured on 3 nodes sharing two
// cores (README, "Cluster"): starting a group for every few single events
// cost about a third more CPU per event than collecting them, while
// batches of a thousand gained from several groups in flight.
const ExtraGroupEvents = 256

// groupShape returns the ingest actor's largest group, most groups in
// flight and events pending for a group beyond the first, in cluster mode
// (ClusterConfig.GroupsInFlight), the largest group being maxGroup at
// most.
func (c *clusterState) groupShape(maxGroup int) (size, inFlight, minExtra int) {
	inFlight = c.cfg.GroupsInFlight
	size = min(maxGroup, max(1, c.pub.Config().MaxPending/inFlight))
	return size, inFlight, min(ExtraGroupEvents, size)
}

// LocalCopy is what cluster mode needs of the node's local journal beyond
// Journal: records copied from the stream are written without a sync of
// their own (the stream is the durable copy). *journal.Journal has it.
type LocalCopy interface {
	AppendUnsynced(recs []event.Record, keys ...journal.Idempotency) error
}

// clusterState is the System's cluster-mode state, shared by the ingest
// appender, the applier, the aggregator and its windows, and health.
type clusterState struct {
	cfg     ClusterConfig
	pub     publisher // cfg.Publisher, or the double tests set
	local   LocalCopy
	metrics *telemetry.Metrics

	// mu guards the rewind request: epoch counts rewinds (batches and
	// ticks carry the epoch they were read in), rewindTo is the lowest
	// sequence asked for since the applier last took a request.
	mu       sync.Mutex
	epoch    atomic.Uint64
	rewindTo uint64
	rewind   bool

	// handed is the stream sequence of the last message the applier has
	// handed to the aggregator; built the last tick whose snapshot is out;
	// acked the highest sequence this node's appends were acknowledged at.
	handed atomic.Uint64
	built  atomic.Uint64
	acked  atomic.Uint64
	// consuming says the applier reads the stream; lastMsg is when it
	// last got a message (Unix ns).
	consuming atomic.Bool
	lastMsg   atomic.Int64
	// gap is the run of records lost to retention before this node read
	// them (nil when none; gapReason describes it); applyErr the local
	// journal's last failure.
	gap      atomic.Pointer[gapRange]
	applyErr atomic.Value

	info     atomic.Pointer[streamView]
	infoBusy atomic.Bool

	// shared publishes this node's shared checkpoints (sharedcp.go); floor
	// is the sequence of the shared checkpoint this node started from (0:
	// its own), below which records removed by retention cost only the
	// local journal, not the totals (checkRetention).
	shared *sharedCheckpoints
	floor  atomic.Uint64
	// joinWarning says what this node, started from a shared checkpoint,
	// could not take from it ("" when nothing: sharedcp.go).
	joinWarning atomic.Value
}

// streamView is the stream's state as last asked; first is its first
// retained record or tick (0 when that question failed).
type streamView struct {
	at    time.Time
	info  cluster.StreamInfo
	first uint64
	err   error
}

func newClusterState(cfg *ClusterConfig, j Journal, m *telemetry.Metrics, log zerolog.Logger) (*clusterState, error) {
	if cfg.Node == nil || cfg.Stream == nil || cfg.Publisher == nil {
		return nil, errors.New("actors: ClusterConfig needs Node, Stream and Publisher")
	}
	local, ok := j.(LocalCopy)
	if !ok {
		return nil, fmt.Errorf("actors: cluster mode needs a local journal with AppendUnsynced, not %T", j)
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 1000
	}
	if cfg.InfoInterval <= 0 {
		cfg.InfoInterval = time.Second
	}
	if cfg.SharedCheckpointInterval <= 0 {
		cfg.SharedCheckpointInterval = sharedEvery(cfg.Stream.Config().MaxAge)
	}
	if cfg.GroupsInFlight <= 0 {
		cfg.GroupsInFlight = 8
	}
	c := &clusterState{cfg: *cfg, pub: cfg.publisher, local: local, metrics: m, shared: newSharedCheckpoints(cfg, log)}
	if c.pub == nil {
		c.pub = cfg.Publisher
	}
	c.applyErr.Store("")
	c.joinWarning.Store("")
	return c, nil
}

// requestRewind asks the applier to read the stream again after seq (a
// restarted aggregator or window, recovered from a checkpoint at seq) and
// returns the epoch the re-read messages will carry.
func (c *clusterState) requestRewind(seq uint64) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.rewind || seq < c.rewindTo {
		c.rewindTo = seq
	}
	c.rewind = true
	return c.epoch.Add(1)
}

// takeRewind returns the epoch to read in and, when a rewind was asked
// since the last call, the sequence to read after.
func (c *clusterState) takeRewind() (epoch, after uint64, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ok, after = c.rewind, c.rewindTo
	c.rewind = false
	return c.epoch.Load(), after, ok
}

// waitHanded waits until this node has handed the stream up to seq to its
// aggregator, or ctx ends.
func (c *clusterState) waitHanded(ctx context.Context, seq uint64) error {
	for c.handed.Load() < seq {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}

// view returns the stream's state, asking its leader again (in the
// background, one question at a time) when the last answer is older than
// InfoInterval. Callers never wait for the network.
func (c *clusterState) view() *streamView {
	v := c.info.Load()
	if v == nil && c.infoBusy.CompareAndSwap(false, true) {
		// The first question is answered before health says anything.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		v = c.askStream(ctx)
		cancel()
		c.info.Store(v)
		c.infoBusy.Store(false)
		return v
	}
	if (v == nil || time.Since(v.at) >= c.cfg.InfoInterval) && c.infoBusy.CompareAndSwap(false, true) {
		go func() {
			defer c.infoBusy.Store(false)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			c.info.Store(c.askStream(ctx))
		}()
	}
	return v
}

// askStream asks the stream's leader for its state and where its
// retained records begin.
func (c *clusterState) askStream(ctx context.Context) *streamView {
	info, err := c.cfg.Stream.Info(ctx)
	v := &streamView{at: time.Now(), info: info, err: err}
	if err == nil {
		v.first, _ = c.cfg.Stream.FirstRetained(ctx)
	}
	return v
}

// ClusterHealth is this node's view of the cluster (Health.Cluster, and
// GET /api/v1/system/cluster).
type ClusterHealth struct {
	Node string
	// Leader is the stream's leader ("" while there is none).
	Leader string
	// Nodes are the stream's replicas, the leader included, by name.
	Nodes []ClusterNode
	// Peers counts the nodes this node sees up (itself included).
	Peers int
	// Quorum says the stream has a leader and a majority of its replicas
	// answer: appends can be acknowledged.
	Quorum bool
	// Applied is the stream sequence this node has handed to its
	// aggregator; Last the stream's last; Lag the difference.
	Applied, Last, Lag uint64
	// Consuming says the node reads the stream.
	Consuming bool
	// InfoAge is the age of the stream state shown; InfoError why it
	// could not be read.
	InfoAge   time.Duration
	InfoError string
	// First is the stream's first retained record or tick: older ones
	// were removed by its retention (0 when not known).
	First uint64
	// RetentionGap says records were removed by the stream's retention
	// before this node read them.
	RetentionGap string
	// StartedFrom is the shared checkpoint this node started from, its
	// own being older than the stream's retention; nil when it started
	// from its own.
	StartedFrom *SharedCheckpointView
	// JoinWarning says what this node could not take from the shared
	// checkpoint it started from (its rules, alerts and channels, when an
	// older node published it) and what to do; "" when nothing.
	JoinWarning string
	// Shared is the newest shared checkpoint in the cluster this node
	// knows of (nil: none yet); SharedAge its age; SharedError why this
	// node's last publication or listing of them failed.
	Shared      *SharedCheckpointView
	SharedAge   time.Duration
	SharedError string
	// ApplyError is the local journal's last failure to store a record.
	ApplyError string
}

// ClusterNode is one node holding the stream.
type ClusterNode struct {
	Name    string
	Leader  bool
	Current bool
	Offline bool
	Lag     uint64
}

// Cluster returns this node's view of the cluster; ok is false on a
// single node.
func (s *System) Cluster() (ClusterHealth, bool) {
	c := s.cluster
	if c == nil {
		return ClusterHealth{}, false
	}
	h := ClusterHealth{Node: c.cfg.Node.Name(), Applied: c.handed.Load(), Consuming: c.consuming.Load()}
	if g := c.gap.Load(); g != nil {
		h.RetentionGap = c.gapReason(g.from, g.first)
	}
	h.ApplyError, _ = c.applyErr.Load().(string)
	h.JoinWarning, _ = c.joinWarning.Load().(string)
	h.StartedFrom, h.Shared = c.shared.startedFrom.Load(), c.shared.newest.Load()
	if h.Shared != nil {
		h.SharedAge = time.Since(h.Shared.At)
	}
	h.SharedError, _ = c.shared.err.Load().(string)
	v := c.view()
	switch {
	case v == nil:
		h.InfoError = "stream state not read yet"
	case v.err != nil:
		h.InfoError, h.InfoAge = v.err.Error(), time.Since(v.at)
	default:
		h.InfoAge = time.Since(v.at)
		h.Leader, h.Last, h.First = v.info.Leader, v.info.LastSeq, v.first
		up := 0
		if h.Leader != "" {
			h.Nodes = append(h.Nodes, ClusterNode{Name: h.Leader, Leader: true, Current: true})
			up++
		}
		for _, r := range v.info.Replicas {
			h.Nodes = append(h.Nodes, ClusterNode{Name: r.Name, Current: r.Current, Offline: r.Offline, Lag: r.Lag})
			if !r.Offline {
				up++
			}
		}
		sort.Slice(h.Nodes, func(i, j int) bool { return h.Nodes[i].Name < h.Nodes[j].Name })
		h.Peers = up
		h.Quorum = h.Leader != "" && up > len(h.Nodes)/2
	}
	if v == nil || v.err != nil || h.InfoAge > 5*c.cfg.InfoInterval {
		h.Quorum = false
	}
	if h.Last > h.Applied {
		h.Lag = h.Last - h.Applied
	}
	return h, true
}

// clusterHealth adds the cluster's state to h: a node without a quorum,
// or one not reading the stream, is down.
func (s *System) clusterHealth(h *Health, down func(string)) {
	ch, ok := s.Cluster()
	if !ok {
		return
	}
	h.Cluster = &ch
	switch {
	case !ch.Consuming:
		down("not reading the cluster stream")
	case !ch.Quorum:
		reason := "cluster has no quorum: the stream has no leader or too few nodes answer; ingestion answers 503 until a majority of nodes is back"
		if ch.InfoError != "" {
			reason += " (" + ch.InfoError + ")"
		}
		down(reason)
	case ch.RetentionGap != "":
		down(ch.RetentionGap)
	case ch.ApplyError != "":
		down("local journal cannot store the stream's records: " + ch.ApplyError)
	}
}

// ClusterFigures are the gauges' figures (telemetry.ClusterSource).
func (s *System) ClusterFigures() (lag uint64, peers int, ok bool) {
	ch, ok := s.Cluster()
	return ch.Lag, ch.Peers, ok
}

// SharedCheckpointAge is the age of the newest shared checkpoint this
// node knows of; ok is false on a single node and before any is known
// (telemetry.ClusterSource).
func (s *System) SharedCheckpointAge() (time.Duration, bool) {
	if s.cluster == nil {
		return 0, false
	}
	v := s.cluster.shared.newest.Load()
	if v == nil {
		return 0, false
	}
	return time.Since(v.At), true
}

// streamTick is a Tick's cluster-mode part: its stream sequence, the
// epoch it was read in, and done, closed once its snapshot is built or
// the tick dropped.
type streamTick struct {
	seq, epoch uint64
	done       chan struct{}
	once       sync.Once
}

func (t *streamTick) finish() { t.once.Do(func() { close(t.done) }) }

// aggStream is the cluster-mode position of the aggregator and of each
// window: the stream sequence applied (seq; checkpoints record it) and
// the rewind epoch of the incarnation. A batch read in an older epoch is
// stale (the actor restarted from a checkpoint since: the applier reads
// it again); a record at or before seq is skipped. The aggregator also
// keeps the stream tick being built and the one waiting behind it.
// nil on one node, where positions are event IDs (skipApplied).
type aggStream struct {
	seq, epoch uint64
	cur        *streamTick
	pending    *Tick
	// checkpointed is the sequence of the last checkpoint (idleDue).
	checkpointed uint64
}

func (s *aggStream) clone() *aggStream {
	if s == nil {
		return nil
	}
	return &aggStream{seq: s.seq, epoch: s.epoch}
}

func (s *aggStream) stale(m *applyBatch) bool { return s != nil && m.pos != nil && m.epoch < s.epoch }

// fresh returns the records of m not applied yet and moves the position
// past them.
func (s *aggStream) fresh(m *applyBatch, last event.ID) []event.Record {
	if s == nil || m.pos == nil {
		return skipApplied(m.recs, last)
	}
	i := sort.Search(len(m.pos), func(i int) bool { return m.pos[i] > s.seq })
	if i < len(m.pos) {
		s.seq = m.pos[len(m.pos)-1]
	}
	return m.recs[i:]
}

func (s *aggStream) position() uint64 {
	if s == nil {
		return 0
	}
	return s.seq
}

// building says a stream tick's snapshot is being built.
func (s *aggStream) building() bool { return s != nil && s.cur != nil }

// built ends the stream tick whose snapshot is out: the position moves to
// it and the applier reads on.
func (s *aggStream) built(c *clusterState) {
	if s == nil || s.cur == nil {
		return
	}
	s.seq = max(s.seq, s.cur.seq)
	c.built.Store(s.cur.seq)
	s.cur.finish()
	s.cur = nil
}

func (s *aggStream) takePending() *Tick {
	if s == nil {
		return nil
	}
	t := s.pending
	s.pending = nil
	return t
}

// abandon lets the applier go on when this incarnation ends.
func (s *aggStream) abandon() {
	if s == nil {
		return
	}
	if s.cur != nil {
		s.cur.finish()
	}
	if s.pending != nil {
		s.pending.stream.finish()
	}
}

// streamTick starts building the snapshot of a tick read from the stream,
// unless it was read before this incarnation's restart or is already
// applied (a rewind reads ticks again: their snapshots went out). While a
// snapshot is being built (the first, local one, or a reset's rebuild) it
// waits as the next; the applier sends no record meanwhile.
func (a *aggregatorActor) streamTick(ctx actor.Context, m *Tick) {
	s, t := a.stream, m.stream
	if s == nil || t.epoch < s.epoch || t.seq <= s.seq {
		t.finish()
		return
	}
	if a.building {
		if s.pending != nil {
			s.pending.stream.finish()
		}
		s.pending = m
		return
	}
	s.cur = t
	a.startTick(ctx, m.Now)
}
