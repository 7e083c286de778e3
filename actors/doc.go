// Package actors is the only package that imports protoactor-go. It owns the
// actor system and its supervision tree: the ingest actor (journal appends
// with group commit), the aggregator and its window actors, the scheduler
// (the per-second tick), the topics of /topic/metrics and /topic/alerts,
// the rules actor with one actor per active rule (rules.go), and one
// connection actor per client session with one subscription actor per
// STOMP SUBSCRIBE.
//
// # Queues and their bounds
//
// Every mailbox is protoactor's unbounded lock-free queue (a bounded one
// blocks its sender); what bounds each is who may put messages in it. Each
// bound is written next to its code with what happens at it and the test
// that guards it:
//
//   - ingest mailbox and pending group: MaxPendingEvents, admitted in
//     System.Ingest before the mailbox → ErrOverloaded (bounds.go).
//     Groups in flight: one on a single node, ClusterConfig.GroupsInFlight
//     in cluster mode; more wait in pending (ingestActor).
//   - aggregator and window mailboxes, batches: the same bound, counted as
//     the backlog (bounds.go); ticks: one Tick at most, beats coalesce
//     (scheduler.go); view and state requests: one per window at most
//     (aggregator.go).
//   - topic mailbox: one SnapshotReady at most (System.publish), plus a
//     registration and an end per subscription (topic.go).
//   - subscription mailboxes: one push from the topic at most (deliver in
//     session_messages.go); /app/subscribe deliveries are bounded by the
//     connection's inbound bound.
//   - connection mailboxes: inbound transport messages, MaxInboundPending
//     bytes → ERROR "Too many frames in flight" and close 1008
//     (sessions.go); timers, one of each kind.
//   - connection actors: MaxSessions → close 1013 (sessions.go).
//   - rules mailbox: one rulesTick at most (tickSlot in alerting.go: a
//     rules actor that is behind skips to the newest tick;
//     TestRulesSkipToTheNewestTick); maxRuleCommands (64) API changes →
//     ErrRulesBusy, HTTP 503 (TestRuleCommandsBounded); one ruleRecords
//     per rule actor (ruleCell.busy: a rule actor whose last records are
//     not taken drops its new ones and steps again from the journaled
//     state).
//   - rule actor mailboxes: one ruleSlot (the newest tick) at most, plus
//     a resync per change (rule.go).
//   - alerts topic mailbox: maxAlertsQueued (1,024) transitions → the push
//     is skipped with an Error log, the transition stays journaled and
//     listed (TestAlertPushBounded); each /topic/alerts subscription:
//     maxAlertBacklog (256) messages not taken → closed as a slow consumer
//     (TestAlertSubscriberBacklogBounded).
//   - notifier queue (the rules' hand-over to the Notifier):
//     notifyQueueLength (1,024) notifications → dropped with an Error log
//     naming the state log seq (TestNotifyQueueDropsPastItsBound); the
//     notifier enqueues a dropped one at its next start (reoffer).
//   - notifier mailbox: one alertNotify at most (the hand-over goroutine
//     waits until it is journaled, up to notifyWait); maxChannelCommands
//     (64) channel changes → ErrNotifierBusy, HTTP 503
//     (TestChannelCommandsBounded); one timer beat per incarnation; at
//     most maxInFlightPerChannel outcomes per channel.
//   - channel actor mailboxes and their sends in progress:
//     maxInFlightPerChannel (4) deliveries per channel; past it the rest
//     wait in the outbox, not started (TestNotifierDeliversOnceThroughRetries).
//   - cluster mode (cluster_state.go): the applier hands one state note
//     at a time to the rules actor or the notifier and waits until it is
//     applied; the deliverer's alert transition notes being published:
//     maxAlertPublishes (256) → that tick's transitions skipped, stepped
//     again (rules_cluster.go); its outbox notes waiting to be published:
//     outboxNoteQueueLength (1,024) → an attempt not made, a give-up or
//     take-over decided again after notePause, an outcome lost (its
//     attempt taken over later and sent again) (notifier_cluster.go).
//   - the pool dispatcher's run queue: one entry per mailbox at most
//     (dispatcher.go).
//   - each client's outbound queue belongs to transport (its QueueLength):
//     full → the client is closed as a slow consumer (1008).
package actors
