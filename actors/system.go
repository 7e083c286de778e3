package actors

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"

	"github.com/eventara/eventara/journal"
	"github.com/eventara/eventara/notify"
	"github.com/eventara/eventara/protocol/event"
	"github.com/eventara/eventara/rulestore"
	"github.com/eventara/eventara/snapshots"
	"github.com/eventara/eventara/telemetry"
)

// Config configures the actor system. Zero values are documented defaults.
type Config struct {
	Log zerolog.Logger
	// Journal is the durable log; required.
	Journal Journal
	// Snapshots bounds the metrics state.
	Snapshots snapshots.Config
	// Tick is the snapshot interval. Zero means one second.
	Tick time.Duration
	// CheckpointInterval is how often state is checkpointed while events
	// arrive. Zero means 30 seconds.
	CheckpointInterval time.Duration
	// CheckpointEvents forces a checkpoint after this many records since the
	// last one, so start-up never replays more. Zero means 1,000,000.
	CheckpointEvents int
	// Retention is how long events stay queryable. Zero means 7 days.
	Retention time.Duration
	// MaxPendingEvents bounds the events waiting for the journal plus those
	// journaled but not yet applied by the aggregator and every window;
	// past it ingestion answers ErrOverloaded. Zero means 200,000.
	MaxPendingEvents int
	// MaxGroupEvents bounds one group commit. Zero means 50,000.
	MaxGroupEvents int
	// IdempotencyWindow is how long an Idempotency-Key is remembered
	// (IngestKeyed). Zero means 24 hours.
	IdempotencyWindow time.Duration
	// Sessions configures STOMP client sessions.
	Sessions SessionConfig
	// Metrics receives the service's figures. Nil records nothing.
	Metrics *telemetry.Metrics
	// Supervision overrides restart policies by actor kind (KindWindow,
	// ...); zero fields keep the kind's default (see supervision.go).
	Supervision map[Kind]RestartPolicy
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// Rules bounds the alerting state (rules, resolved alerts kept).
	Rules rulestore.Config
	// Notifier receives the alert transitions to notify. Nil means the
	// notifier actor: the notification channels and their durable outbox
	// (notifier_actor.go). Tests may set their own; the channels API works
	// either way.
	Notifier Notifier
	// Notifications configures the channels and their delivery.
	Notifications NotificationsConfig
	// Cluster, when set, runs the node in cluster mode (stream.go): the
	// cluster's stream is the journal and the tick source; Journal is the
	// node's local copy. Nil: one node.
	Cluster *ClusterConfig
}

func (c *Config) setDefaults() {
	if c.Tick <= 0 {
		c.Tick = time.Second
	}
	if c.CheckpointInterval <= 0 {
		c.CheckpointInterval = 30 * time.Second
	}
	if c.CheckpointEvents <= 0 {
		c.CheckpointEvents = 1_000_000
	}
	if c.Retention <= 0 {
		c.Retention = 7 * 24 * time.Hour
	}
	if c.MaxPendingEvents <= 0 {
		c.MaxPendingEvents = 200_000
	}
	if c.MaxGroupEvents <= 0 {
		c.MaxGroupEvents = 50_000
	}
	if c.IdempotencyWindow <= 0 {
		c.IdempotencyWindow = 24 * time.Hour
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	c.Notifications.setDefaults()
}

// System is the running actor tree. Its exported methods are what transport
// and cmd use; nothing outside this package sees protoactor.
type System struct {
	cfg     Config
	log     zerolog.Logger
	as      *actor.ActorSystem
	root    *actor.RootContext
	started time.Time

	ingest     *actor.PID
	aggregator *actor.PID
	scheduler  *actor.PID
	// topic is the /topic/metrics actor; the aggregator sends it a
	// *SnapshotReady per tick.
	topic    *actor.PID
	sessions Sessions
	// rules owns the rules and alerts (rules.go); alertsTopic is
	// /topic/alerts; alerting is their state shared with the API's reads.
	rules       *actor.PID
	alertsTopic *actor.PID
	alerting    *alerting
	// notifier owns the notification channels and the outbox
	// (notifier_actor.go); notifying is their state shared with the API's
	// reads; notifierGen numbers its incarnations.
	notifier    *actor.PID
	notifying   *notifying
	notifierGen atomic.Uint64
	// pushDispatcher runs connection and subscription mailboxes (nil in
	// bare test systems: protoactor's default then).
	pushDispatcher *poolDispatcher

	// backlog counts journaled events not yet applied everywhere; admission
	// counts those admitted and not yet answered. Ingest admits against
	// both (backlog.go).
	backlog   *backlog
	admission *admission
	// tickQueued and snapshotQueued keep at most one Tick in the
	// aggregator's mailbox and one SnapshotReady in the topic's
	// (scheduler.go); ticksCoalesced counts the beats skipped.
	tickQueued     oneQueued
	snapshotQueued oneQueued
	ticksCoalesced atomic.Uint64
	// latest is the newest snapshot, for GET /api/v1/metrics.
	latest atomic.Pointer[snapshots.Snapshot]
	// journalErr is the last append's error text, "" when it succeeded.
	journalErr atomic.Value
	// tickBuild is the last snapshot build time in nanoseconds.
	tickBuild atomic.Int64
	// checkpointAt is the last checkpoint's time in Unix ms (0: none yet).
	checkpointAt atomic.Int64
	stopped      atomic.Bool
	// probeAt and probeErr cache the journal probe of Health.
	probeAt  atomic.Int64
	probeErr atomic.Value

	// cluster and applier are cluster mode's (stream.go); nil on one node.
	cluster *clusterState
	applier *actor.PID

	sup      *supervisor
	reg      *registry
	faults   *Faults
	metrics  *telemetry.Metrics
	debugLog bool // per-message Debug lines
}

// Start recovers the metrics state from the journal (newest checkpoint plus
// the tail after it) and the rules and alerts (state snapshot plus log),
// and starts the actor tree: ingest, aggregator with its windows,
// scheduler, topics, rules with one actor per active rule, and the session
// manager.
func Start(cfg Config) (*System, error) {
	if cfg.Journal == nil {
		return nil, errors.New("actors: Config.Journal is required")
	}
	cfg.setDefaults()
	s := &System{cfg: cfg, log: cfg.Log, started: cfg.Now(), metrics: cfg.Metrics,
		debugLog: cfg.Log.Debug().Enabled(), reg: newRegistry()}
	s.journalErr.Store("")
	s.sup = newSupervisor(s, cfg.Supervision)
	for _, k := range kinds {
		if defaultPolicies()[k].stop {
			continue // stopped, never restarted
		}
		s.metrics.DeclareKinds(string(k))
	}
	s.faults = newFaults(s)

	specs := snapshots.StandardWindows()
	s.backlog = newBacklog(len(specs))
	s.admission = &admission{max: int64(cfg.MaxPendingEvents), backlog: s.backlog}
	var err error
	if cfg.Cluster != nil {
		if s.cluster, err = newClusterState(cfg.Cluster, cfg.Journal, cfg.Metrics, cfg.Log); err != nil {
			return nil, err
		}
	}
	var readAfter uint64 // cluster mode: where the applier starts, when not after the checkpoint
	if s.cluster != nil {
		if readAfter, err = s.cluster.startFromShared(cfg.Journal, cfg.Log); err != nil {
			return nil, err
		}
	}
	rec, err := recoverState(cfg.Journal, cfg.Snapshots, specs, cfg.Now(), s.cluster != nil, cfg.Log)
	if err != nil {
		return nil, err
	}
	s.as = actor.NewActorSystem(actor.WithLoggerFactory(protoLogger(cfg.Log)))
	// Top-level actors are supervised by s.sup as a guardian (it never
	// escalates: a guardian cannot); every actor is spawned instrumented.
	s.root = s.as.Root.Copy().WithGuardian(s.sup).WithSpawnMiddleware(s.instrument)

	if s.topic, err = spawnTopic(s); err != nil {
		return nil, fmt.Errorf("spawn topic: %w", err)
	}
	if err := s.startRules(); err != nil {
		return nil, err
	}
	// Each incarnation is a new actor value; only the first gets the state
	// recovered here (a restarted aggregator recovers its own).
	var firstAgg atomic.Pointer[recovered]
	firstAgg.Store(rec)
	aggProps := props(KindAggregator, func() actor.Actor {
		a := &aggregatorActor{sys: s, specs: specs}
		if r := firstAgg.Swap(nil); r != nil {
			a.totals, a.initial, a.lastApplied = r.totals, r.windows, r.lastID
			if s.cluster != nil {
				a.stream = &aggStream{seq: r.seq}
			}
		}
		return a
	})
	if s.aggregator, err = s.root.SpawnNamed(aggProps, "aggregator"); err != nil {
		return nil, fmt.Errorf("spawn aggregator: %w", err)
	}
	carry := &ingestCarry{lastID: rec.lastID}
	var appender Appender = cfg.Journal
	if s.cluster != nil {
		appender = streamAppender{c: s.cluster, local: cfg.Journal}
	}
	journalW := faultyAppender{Appender: appender, faults: s.faults}
	ingProps := props(KindIngest, func() actor.Actor {
		return &ingestActor{sys: s, journal: journalW, aggregator: s.aggregator, ids: event.NewGenerator(),
			carry: carry, maxGroup: cfg.MaxGroupEvents}
	})
	if s.ingest, err = s.root.SpawnNamed(ingProps, "ingest"); err != nil {
		return nil, fmt.Errorf("spawn ingest: %w", err)
	}
	// The first snapshot is built at once, so GET /api/v1/metrics never
	// waits for the first tick.
	s.sendTick(cfg.Now())
	if s.cluster != nil {
		// The stream's ticks replace the scheduler.
		if readAfter == 0 {
			readAfter = rec.seq
		}
		if err := s.startApplier(readAfter); err != nil {
			return nil, err
		}
		go s.cluster.shared.run(s.AlertingState)
	} else {
		schedProps := props(KindScheduler, func() actor.Actor {
			return &schedulerActor{sys: s, interval: cfg.Tick}
		})
		if s.scheduler, err = s.root.SpawnNamed(schedProps, "scheduler"); err != nil {
			return nil, fmt.Errorf("spawn scheduler: %w", err)
		}
	}
	s.pushDispatcher = newPoolDispatcher(8, 300)
	if s.sessions, err = newSessions(s); err != nil {
		return nil, fmt.Errorf("start sessions: %w", err)
	}
	return s, nil
}

func (s *System) now() time.Time { return s.cfg.Now() }

// Ingest journals events and returns them as stamped (ID, ReceivedAt,
// Timestamp). A nil error means every event is durable and will be counted.
func (s *System) Ingest(ctx context.Context, events []event.Event) ([]event.Event, error) {
	evs, _, err := s.ingestEvents(ctx, events, nil)
	return evs, err
}

// IngestKey is the Idempotency-Key a request came with and the fingerprint
// of the request (a hash of what it asked for, so a key reused for another
// request is told apart from a retry).
type IngestKey struct {
	Key         string
	Fingerprint [32]byte
}

// IngestKeyed is Ingest for a request sent with an Idempotency-Key: the
// first request with the key stores its events and the key in the same
// synced write; a retry within IdempotencyWindow (after a timeout, a lost
// answer, or while the first is still in flight, which it waits for) gets
// the first one's events back, with their IDs, and replayed true, and
// stores nothing. The same key with another fingerprint is refused with a
// *KeyReusedError. A first request that failed stored nothing and leaves
// the key unused.
func (s *System) IngestKeyed(ctx context.Context, events []event.Event, key IngestKey) (stamped []event.Event, replayed bool, err error) {
	return s.ingestEvents(ctx, events, &key)
}

func (s *System) ingestEvents(ctx context.Context, events []event.Event, key *IngestKey) ([]event.Event, bool, error) {
	if err := s.journalRefuses(); err != nil {
		return nil, false, err
	}
	start := time.Now()
	res, err := s.request(ctx, &ingestRequest{events: events, key: key, reply: make(chan ingestResult, 1)})
	if err == nil && !res.replayed {
		s.metrics.Ingested(len(res.events), time.Since(start))
	}
	return res.events, res.replayed, err
}

// Reset journals a reset of the metrics; once it returns nil the totals and
// windows restart from zero, and a restart does not undo it.
func (s *System) Reset(ctx context.Context) error {
	if _, err := s.request(ctx, &ingestRequest{reset: true, reply: make(chan ingestResult, 1)}); err != nil {
		return err
	}
	if c := s.cluster; c != nil {
		// The reset is in the stream: wait until this node applied it.
		if err := c.waitHanded(ctx, c.acked.Load()); err != nil {
			return nil // durable; every node applies it in stream order
		}
	}
	done := make(chan struct{})
	s.root.Send(s.aggregator, &rebuild{done: done})
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return nil // the reset is durable; the snapshot follows on the next tick
	}
}

// request admits r (see admission) and hands it to the ingest actor.
func (s *System) request(ctx context.Context, r *ingestRequest) (ingestResult, error) {
	if s.stopped.Load() {
		return ingestResult{}, ErrStopped
	}
	r.adm, r.cost = s.admission, r.size()
	if !s.admission.admit(r.cost) {
		return ingestResult{}, ErrOverloaded
	}
	s.root.Send(s.ingest, r)
	select {
	case res := <-r.reply:
		return res, res.err
	case <-ctx.Done():
		return ingestResult{}, ctx.Err()
	}
}

// Latest returns the newest snapshot (never nil once Start returned and the
// first tick ran; nil only in the first instants).
func (s *System) Latest() *snapshots.Snapshot { return s.latest.Load() }

// WaitLatest waits until a first snapshot exists.
func (s *System) WaitLatest(ctx context.Context) (*snapshots.Snapshot, error) {
	for {
		if snap := s.latest.Load(); snap != nil {
			return snap, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// Sessions is what transport uses to open client sessions.
func (s *System) Sessions() Sessions { return s.sessions }

// GetEvent returns one event within the retention, or journal.ErrNotFound.
func (s *System) GetEvent(id event.ID) (event.Event, error) {
	e, err := s.cfg.Journal.Get(id)
	if err != nil {
		return e, err
	}
	if e.ReceivedAt.Before(s.retentionStart()) {
		return event.Event{}, journal.ErrNotFound
	}
	return e, nil
}

// ListEvents returns a page of events within the retention, newest first.
func (s *System) ListEvents(page, size int) ([]event.Event, bool, error) {
	return s.cfg.Journal.List(page, size, s.retentionStart())
}

// ListEventsByType is ListEvents for one event type.
func (s *System) ListEventsByType(eventType string, page, size int) ([]event.Event, bool, error) {
	return s.cfg.Journal.ListByType(eventType, page, size, s.retentionStart())
}

func (s *System) retentionStart() time.Time { return s.now().Add(-s.cfg.Retention) }

// Health is the state a health check reports.
type Health struct {
	Up bool
	// Reason says why Up is false.
	Reason         string
	JournalError   string
	Uptime         time.Duration
	LastSnapshot   time.Time
	LastCheckpoint time.Time
	// DiskFreeBytes and DiskLimitBytes are the data directory's free space
	// and its floor at the journal's last check (see disk.go), when
	// DiskMeasured; DiskFull means writes are refused for lack of space.
	DiskFreeBytes  uint64
	DiskLimitBytes uint64
	DiskMeasured   bool
	DiskFull       bool
	// Cluster is the node's view of its cluster (nil on one node).
	Cluster *ClusterHealth
}

// Health probes the journal and reports the system's state.
func (s *System) Health() Health {
	now := s.now()
	h := Health{Up: true, Uptime: now.Sub(s.started)}
	down := func(reason string) {
		if h.Up {
			h.Up, h.Reason = false, reason
		}
	}
	s.clusterHealth(&h, down)
	s.diskHealth(&h, down)
	if perr := s.probeJournal(now); perr != "" {
		h.JournalError = perr
		down("journal not writable")
	} else if last, _ := s.journalErr.Load().(string); last != "" {
		h.JournalError = last
		down("last journal append failed")
	}
	if snap := s.latest.Load(); snap != nil {
		h.LastSnapshot = snap.BuiltAt
	}
	// Snapshots stop when the aggregator keeps failing (a restart storm):
	// say so instead of serving stale metrics as healthy.
	if stale := max(5*s.cfg.Tick, time.Second); h.Uptime > stale && now.Sub(h.LastSnapshot) > stale {
		down("no snapshot built for " + now.Sub(h.LastSnapshot).Round(time.Second).String())
	}
	if ms := s.checkpointAt.Load(); ms > 0 {
		h.LastCheckpoint = time.UnixMilli(ms)
	}
	if s.stopped.Load() {
		down("shutting down")
	}
	return h
}

// probeJournal writes the journal's probe key at most once a second (the
// health endpoint is open to anyone: a flood of checks must not become a
// flood of writes) and returns the last probe's error text.
func (s *System) probeJournal(now time.Time) string {
	last := s.probeAt.Load()
	if now.UnixNano()-last < int64(time.Second) || !s.probeAt.CompareAndSwap(last, now.UnixNano()) {
		msg, _ := s.probeErr.Load().(string)
		return msg
	}
	msg := ""
	if err := s.cfg.Journal.Probe(); err != nil {
		msg = err.Error()
	}
	s.probeErr.Store(msg)
	return msg
}

// Stop stops the actors in order: faults cleared and pending restarts run
// at once, the scheduler, the ingest actor once every request it took is
// answered, a last checkpoint, the aggregator, the rules (a last
// compaction; queued notifications handed to the Notifier), the sessions
// (clients closed with 1001), the topics. (protoactor's own Shutdown stops no actor.) The
// journal is closed by the caller after.
func (s *System) Stop(ctx context.Context) error {
	if !s.stopped.CompareAndSwap(false, true) {
		return nil
	}
	s.faults.Clear()
	s.sup.stop()
	var errs []error
	stop := func(pid *actor.PID) {
		if pid == nil {
			return
		}
		if err := s.root.PoisonFuture(pid).Wait(); err != nil {
			errs = append(errs, fmt.Errorf("stop %s: %w", pid.Id, err))
		}
	}
	stop(s.scheduler)
	// Every request sent before stopped was set is queued before the
	// drain; it waits for the group in flight too, whose records are then
	// handed to the aggregator before the final checkpoint.
	drained := make(chan struct{})
	s.root.Send(s.ingest, &drainIngest{done: drained})
	select {
	case <-drained:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("drain ingest: %w", ctx.Err()))
	}
	stop(s.ingest)
	stop(s.applier) // the final checkpoint then covers what it handed over
	switch err := s.finalCheckpoint(ctx); {
	case errors.Is(err, journal.ErrDiskFull):
		// The journal holds every event: the next start replays what the
		// last checkpoint does not cover.
		s.log.Warn().Err(err).Msg("final checkpoint skipped: disk full; the next start replays the journal")
	case err != nil:
		errs = append(errs, err)
	}
	stop(s.aggregator)
	if s.cluster != nil {
		s.cluster.shared.close() // a publication in progress is abandoned
	}
	stop(s.rules) // after the aggregator: no tick comes after; it compacts its log
	s.alerting.notify.close()
	stop(s.notifier) // after the rules' hand-over: it compacts its log, stops the sends in progress
	if s.notifying.notes != nil {
		s.notifying.notes.close()
	}
	s.notifying.sender.Close()
	stopSessions(s)
	if s.pushDispatcher != nil {
		s.pushDispatcher.stop()
	}
	stop(s.topic)
	stop(s.alertsTopic)
	s.as.Shutdown()
	return errors.Join(errs...)
}

// startRules loads the rules and alerts and spawns the alerts topic and
// the rules actor.
func (s *System) startRules() error {
	loaded, err := loadRules(s.cfg.Journal, s.cfg.Rules, s.log)
	if err != nil {
		return err
	}
	notifier := s.cfg.Notifier
	if notifier == nil {
		notifier = actorNotifier{sys: s}
	}
	s.alerting = &alerting{store: loaded.store, notify: newNotifyQueue(notifier, s.log, notifyQueueLength)}
	if s.alertsTopic, err = spawnAlertsTopic(s); err != nil {
		return fmt.Errorf("spawn alerts topic: %w", err)
	}
	if err := s.startNotifier(); err != nil {
		return err
	}
	var first atomic.Pointer[rulesLoaded]
	first.Store(loaded)
	p := props(KindRules, func() actor.Actor {
		return &rulesActor{sys: s, al: s.alerting, first: first.Swap(nil)}
	})
	if s.rules, err = s.root.SpawnNamed(p, "rules"); err != nil {
		return fmt.Errorf("spawn rules: %w", err)
	}
	return nil
}

// startNotifier loads the channels and the outbox and spawns the
// notifier, before the rules actor: the rules hand it alert transitions.
func (s *System) startNotifier() error {
	nc := s.cfg.Notifications
	loaded, err := loadNotifier(s.cfg.Journal, nc.Outbox, s.log)
	if err != nil {
		return err
	}
	s.notifying = &notifying{channels: loaded.channels, outbox: loaded.outbox,
		sender: notify.NewSender(notify.SenderConfig{Timeout: nc.SendTimeout, Self: nc.Self, TLS: nc.TLS})}
	if s.cluster != nil {
		s.notifying.notes = newNotePublisher(s.cluster, s.log)
	}
	var first atomic.Pointer[notifierLoaded]
	first.Store(loaded)
	p := props(KindNotifier, func() actor.Actor {
		return &notifierActor{sys: s, nt: s.notifying, first: first.Swap(nil)}
	})
	if s.notifier, err = s.root.SpawnNamed(p, "notifier"); err != nil {
		return fmt.Errorf("spawn notifier: %w", err)
	}
	return nil
}

// finalCheckpoint asks the aggregator for a checkpoint of everything applied
// and waits for it to be written. An aggregator restarting when asked
// answers ErrRestarting; the next incarnation is asked again.
func (s *System) finalCheckpoint(ctx context.Context) error {
	for {
		done := make(chan error, 1)
		s.root.Send(s.aggregator, &finalCheckpoint{done: done})
		select {
		case err := <-done:
			if !errors.Is(err, ErrRestarting) {
				return err
			}
			select { // give the restart a moment rather than spin
			case <-time.After(time.Millisecond):
			case <-ctx.Done():
				return fmt.Errorf("final checkpoint: %w", ctx.Err())
			}
		case <-ctx.Done():
			return fmt.Errorf("final checkpoint: %w", ctx.Err())
		}
	}
}
