package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// StreamConfig configures the stream that is the cluster's journal. Zero
// values are the documented defaults. Every node must use the same one:
// each start updates the stream to its own, except that it never lowers
// the stream's replicas (see Replicas).
type StreamConfig struct {
	// Name is the JetStream stream's name. Zero means "EVENTARA".
	Name string
	// Prefix is the subjects' prefix: records go to Prefix+".events",
	// ticks to Prefix+".tick", and the tick's schedule lives on
	// Prefix+".tick.schedule". Zero means "eventara".
	Prefix string
	// Replicas is how many nodes hold the stream, 1 to 5. R3 tolerates
	// one node down: a quorum of 2 acknowledges each append. Zero means
	// the existing stream's count; for a new stream, 3 on an embedded
	// node with at least 3 routes or through URL to a clustered NATS,
	// else 1 (a lone server holds one copy only). A start never lowers
	// an existing stream's replicas: a count below them is refused
	// (ErrInvalidConfig); one above them raises them.
	Replicas int
	// Duplicates is the window in which a record appended again with the
	// same ID is dropped as a duplicate (and acknowledged with its first
	// sequence). It must cover a Publisher's retries. Each ID in the
	// window costs the server about 140 bytes and lengthens its restart
	// (pitfall P7), so size it as rate × window. Zero means 2 minutes.
	Duplicates time.Duration
	// MaxAge is how long records stay in the stream (the retention).
	// Zero means 7 days, the service's default retention.
	MaxAge time.Duration
	// Tick is the period of the server-generated tick. Zero means 1 s;
	// NATS schedules fire at most once a second, so less is refused.
	Tick time.Duration
	// CheckpointBucket is the object store of the shared checkpoints
	// (checkpoint.go), created beside the stream with its replicas.
	// Letters, digits, '-' and '_'. Zero means Name + "_CHECKPOINTS".
	CheckpointBucket string
}

func (c *StreamConfig) setDefaults() error {
	if c.Name == "" {
		c.Name = "EVENTARA"
	}
	if c.Prefix == "" {
		c.Prefix = "eventara"
	}
	if c.Duplicates == 0 {
		c.Duplicates = 2 * time.Minute
	}
	if c.MaxAge == 0 {
		c.MaxAge = 7 * 24 * time.Hour
	}
	if c.Tick == 0 {
		c.Tick = time.Second
	}
	if c.CheckpointBucket == "" {
		c.CheckpointBucket = c.Name + "_CHECKPOINTS"
	}
	switch {
	case strings.ContainsAny(c.Name, " \t\r\n.*>/\\"):
		return fmt.Errorf("%w: stream Name %q", ErrInvalidConfig, c.Name)
	case c.Prefix != strings.TrimSpace(c.Prefix) || strings.ContainsAny(c.Prefix, " *>") ||
		strings.HasPrefix(c.Prefix, ".") || strings.HasSuffix(c.Prefix, "."):
		return fmt.Errorf("%w: subject Prefix %q", ErrInvalidConfig, c.Prefix)
	case c.Replicas < 0 || c.Replicas > 5:
		return fmt.Errorf("%w: Replicas %d (1 to 5)", ErrInvalidConfig, c.Replicas)
	case c.Duplicates < 100*time.Millisecond:
		return fmt.Errorf("%w: Duplicates %s (at least 100ms)", ErrInvalidConfig, c.Duplicates)
	case c.MaxAge < c.Duplicates:
		return fmt.Errorf("%w: MaxAge %s shorter than Duplicates %s", ErrInvalidConfig, c.MaxAge, c.Duplicates)
	case c.Tick < time.Second:
		return fmt.Errorf("%w: Tick %s (at least 1s)", ErrInvalidConfig, c.Tick)
	case !validBucket.MatchString(c.CheckpointBucket):
		return fmt.Errorf("%w: CheckpointBucket %q (letters, digits, - and _; set it when Name has others)", ErrInvalidConfig, c.CheckpointBucket)
	}
	return nil
}

// Stream is the replicated journal: records and ticks, in one order that
// every node reads alike.
type Stream struct {
	node     *Node
	cfg      StreamConfig
	events   string
	tick     string
	schedule string
	// checkpoints is the shared checkpoints' bucket once opened;
	// scheduleSeq the tick schedule message's sequence as ensureTick
	// found or stored it (0: not known).
	checkpoints atomic.Pointer[jetstream.ObjectStore]
	scheduleSeq atomic.Uint64
}

// newStream is the Stream cfg names on n, its subjects under cfg.Prefix.
func newStream(n *Node, cfg StreamConfig) *Stream {
	return &Stream{node: n, cfg: cfg,
		events: cfg.Prefix + ".events", tick: cfg.Prefix + ".tick", schedule: cfg.Prefix + ".tick.schedule"}
}

// opContext is ctx bounded by the node's OpTimeout when it has no deadline
// of its own.
func (n *Node) opContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, n.cfg.OpTimeout)
}

// Stream creates the stream, or updates it to cfg, and makes sure its tick
// schedule and its shared checkpoints' bucket are there; it returns once
// the stream has a leader. Every node
// calls it at start, concurrently: creation is idempotent, and the
// schedule is published under a fixed message ID, so the duplicate window
// keeps one. Each JetStream call has its own OpTimeout and is retried, up
// to ReadyTimeout or the end of ctx (ErrNotReady).
func (n *Node) Stream(ctx context.Context, cfg StreamConfig) (*Stream, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	if n.nc.IsClosed() {
		return nil, ErrClosed
	}
	s := newStream(n, cfg)
	ctx, cancel := context.WithTimeout(ctx, n.cfg.ReadyTimeout)
	defer cancel()
	err := n.retry(ctx, "stream "+cfg.Name, func(ctx context.Context) error {
		have, err := s.existingReplicas(ctx)
		if err != nil {
			return err
		}
		if s.cfg.Replicas, err = n.replicas(cfg, have); err != nil {
			return err
		}
		_, err = n.js.CreateOrUpdateStream(ctx, s.jetstreamConfig())
		if err != nil && isPermanent(err) {
			return fmt.Errorf("%w: stream %s: %v", ErrInvalidConfig, cfg.Name, err)
		}
		return err
	})
	if err == nil {
		err = n.retry(ctx, "stream "+cfg.Name+" leader", func(ctx context.Context) error {
			info, err := s.Info(ctx)
			if err == nil && info.Leader == "" {
				err = errors.New("no leader yet")
			}
			return err
		})
	}
	if err == nil {
		err = n.retry(ctx, "stream "+cfg.Name+" tick schedule", s.ensureTick)
	}
	if err == nil {
		err = n.retry(ctx, "checkpoint bucket "+cfg.CheckpointBucket, s.ensureCheckpoints)
	}
	if err != nil {
		return nil, fmt.Errorf("open stream %s: %w", cfg.Name, err)
	}
	return s, nil
}

// existingReplicas is the stream's replica count, 0 when there is no
// stream yet.
func (s *Stream) existingReplicas(ctx context.Context) (int, error) {
	js, err := s.node.js.Stream(ctx, s.cfg.Name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return js.CachedInfo().Config.Replicas, nil
}

// replicas is the replica count a start gives the stream, whose current
// count is have (0: no stream): StreamConfig.Replicas, its default when
// zero, never fewer than have.
func (n *Node) replicas(cfg StreamConfig, have int) (int, error) {
	switch {
	case cfg.Replicas == 0 && have > 0:
		return have, nil
	case cfg.Replicas == 0 && (n.srv != nil && len(n.cfg.Routes) >= 3 || n.srv == nil && n.nc.ConnectedClusterName() != ""):
		return 3, nil
	case cfg.Replicas == 0:
		return 1, nil
	case cfg.Replicas < have:
		return 0, fmt.Errorf("%w: stream %s has %d replicas and this node asks for %d: a start never lowers them "+
			"(ask for %d or more, or leave the count to the stream; to lower it on purpose, edit the stream with the nats CLI)",
			ErrInvalidConfig, cfg.Name, have, cfg.Replicas, have)
	}
	return cfg.Replicas, nil
}

func (s *Stream) jetstreamConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:       s.cfg.Name,
		Subjects:   []string{s.events, s.tick, s.schedule},
		Retention:  jetstream.LimitsPolicy,
		Discard:    jetstream.DiscardOld,
		Storage:    jetstream.FileStorage,
		Replicas:   s.cfg.Replicas,
		Duplicates: s.cfg.Duplicates,
		MaxAge:     s.cfg.MaxAge,
		// Schedules need roll-ups (the schedule message replaces the
		// previous one on its subject); the server would turn them on by
		// itself, and then every start would see a changed config.
		AllowMsgSchedules: true,
		AllowRollup:       true,
		DenyPurge:         false,
		// For the schedule's "Nats-TTL: never" (see ensureTick); records
		// carry no TTL.
		AllowMsgTTL: true,
	}
}

// ensureTick publishes the tick schedule unless the stream already holds
// the same one. A schedule message sits on its own subject, rolled up to
// the latest, and makes the stream leader store an empty message on the
// tick subject every period. Its ID names the period, so nodes starting
// together store it once; a different period replaces it.
//
// The schedule message is marked never to expire: MaxAge would otherwise
// delete it like any old message, and the ticks would stop for good
// (TestTickOutlivesMaxAge). The ticks themselves carry no TTL and age
// out with the records.
func (s *Stream) ensureTick(ctx context.Context) error {
	every := "@every " + s.cfg.Tick.String()
	js, err := s.node.js.Stream(ctx, s.cfg.Name)
	if err != nil {
		return err
	}
	last, err := js.GetLastMsgForSubject(ctx, s.schedule)
	switch {
	case err == nil && last.Header.Get(jetstream.ScheduleHeader) == every &&
		last.Header.Get(jetstream.ScheduleTargetHeader) == s.tick &&
		last.Header.Get(jetstream.MsgTTLHeader) == ttlNever:
		s.scheduleSeq.Store(last.Sequence)
		return nil
	case err != nil && !errors.Is(err, jetstream.ErrMsgNotFound):
		return err
	}
	ack, err := s.node.js.PublishMsg(ctx, &nats.Msg{Subject: s.schedule, Header: nats.Header{jetstream.MsgTTLHeader: []string{ttlNever}}},
		jetstream.WithMsgID(s.cfg.Prefix+".tick "+every),
		jetstream.WithScheduleEvery(s.cfg.Tick),
		jetstream.WithScheduleTarget(s.tick))
	if err != nil {
		return err
	}
	s.scheduleSeq.Store(ack.Sequence)
	s.node.log.Info().Str("stream", s.cfg.Name).Str("schedule", every).Str("subject", s.tick).
		Msg("cluster: tick scheduled")
	return nil
}

// ttlNever is the Nats-TTL of a message that MaxAge does not remove.
const ttlNever = "never"

// Config returns the stream's configuration, defaults filled in.
func (s *Stream) Config() StreamConfig { return s.cfg }

// StreamInfo is what a stream's leader says about it.
type StreamInfo struct {
	// Leader is the name of the node whose replica leads; "" while there
	// is none (an election, or no quorum).
	Leader string
	// Replicas are the other nodes holding the stream.
	Replicas []Replica
	// FirstSeq and LastSeq bound the sequences in the stream; Msgs counts
	// its messages (records, ticks and the schedule). The tick's schedule
	// never expires, so FirstSeq stays at its sequence while MaxAge
	// removes the records and ticks after it.
	FirstSeq, LastSeq, Msgs uint64
}

// Replica is one follower of the stream's leader.
type Replica struct {
	Name string
	// Current says it has everything the leader has.
	Current bool
	// Offline says the leader has not heard from it lately.
	Offline bool
	// Lag is how many raft entries it is behind.
	Lag uint64
}

// Info asks the stream's leader about the stream. It fails (after ctx's
// deadline, or the node's OpTimeout if ctx has none) while there is no
// leader.
func (s *Stream) Info(ctx context.Context) (StreamInfo, error) {
	ctx, cancel := s.node.opContext(ctx)
	defer cancel()
	js, err := s.node.js.Stream(ctx, s.cfg.Name)
	if err != nil {
		return StreamInfo{}, fmt.Errorf("stream %s info: %w", s.cfg.Name, err)
	}
	ji := js.CachedInfo()
	info := StreamInfo{FirstSeq: ji.State.FirstSeq, LastSeq: ji.State.LastSeq, Msgs: ji.State.Msgs}
	if ji.Cluster == nil {
		// A single server that is not clustered leads its own streams.
		info.Leader = s.node.cfg.Name
		return info, nil
	}
	info.Leader = ji.Cluster.Leader
	for _, p := range ji.Cluster.Replicas {
		info.Replicas = append(info.Replicas, Replica{Name: p.Name, Current: p.Current, Offline: p.Offline, Lag: p.Lag})
	}
	return info, nil
}

// isPermanent says err is the server refusing a request for good (a bad
// request, a configuration it rejects, a message over the size limit)
// rather than a timeout, a missing leader or missing peers, which time
// may cure.
func isPermanent(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode {
		case 10005, // no suitable peers for placement: not all peers are up yet
			10040, 10044, // peer or server not (yet) a member of the cluster
			10202: // a membership change is in flight
			return false
		case 10052, // invalid stream configuration
			10074: // replicas > 1 on a server that is not clustered
			return true
		}
		return apiErr.Code == 400
	}
	return errors.Is(err, nats.ErrMaxPayload) || errors.Is(err, nats.ErrBadSubject) ||
		errors.Is(err, nats.ErrBadHeaderMsg) || errors.Is(err, jetstream.ErrInvalidOption)
}
