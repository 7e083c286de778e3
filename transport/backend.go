package transport

import (
	"context"
	"time"

	"github.com/eventara/eventara/actors"
	"github.com/eventara/eventara/notify"
	"github.com/eventara/eventara/protocol/event"
	"github.com/eventara/eventara/rules"
	"github.com/eventara/eventara/rulestore"
	"github.com/eventara/eventara/snapshots"
)

// System is what the HTTP surface needs of the service behind it, and all
// it sees of it: ingestion, reads, the latest snapshot, health and the
// operations views. *actors.System implements it (in either mode of the
// design: the journal, the tick source and the fan-out behind it may
// change, this does not).
type System interface {
	// Ingest journals events; nil error means every one is durable. Its
	// errors match actors.ErrOverloaded, ErrStopped, ErrOutcomeUnknown,
	// *actors.DiskFullError or *actors.FailedError.
	Ingest(ctx context.Context, events []event.Event) ([]event.Event, error)
	// IngestKeyed is Ingest for a request sent with an Idempotency-Key: a
	// retry gets the first request's events back (replayed) and stores
	// nothing; the key with another request is an *actors.KeyReusedError.
	IngestKeyed(ctx context.Context, events []event.Event, key actors.IngestKey) (stamped []event.Event, replayed bool, err error)
	// Reset journals a reset of the metrics.
	Reset(ctx context.Context) error
	// WaitLatest returns the newest snapshot, waiting for the first.
	WaitLatest(ctx context.Context) (*snapshots.Snapshot, error)
	// GetEvent returns one event, or an error matching actors.ErrNotFound.
	GetEvent(id event.ID) (event.Event, error)
	// ListEvents and ListEventsByType page through events newest first.
	ListEvents(page, size int) ([]event.Event, bool, error)
	ListEventsByType(eventType string, page, size int) ([]event.Event, bool, error)
	Health() actors.Health
	// Cluster is the node's view of its cluster; ok is false on a single
	// node.
	Cluster() (h actors.ClusterHealth, ok bool)
	ActorTree() *actors.ActorNode
	SupervisionEvents() []actors.SupervisionEvent
	// Faults is the fault injector (/debug/faults with --fault-injection).
	Faults() *actors.Faults

	// Rules and alerts (rules.go, alerts.go). Changes are journaled before
	// they return (in cluster mode: published to the stream and applied by
	// this node); their errors are *rules.ValidationError,
	// *actors.NameTakenError, actors.ErrRuleNotFound, ErrAlertNotFound,
	// ErrAlertResolved, ErrTooManyRules, ErrRulesBusy, ErrNoQuorum,
	// rules.ErrNotFiring, rules.ErrAlreadyAcknowledged or the journal's.
	CreateRule(ctx context.Context, req *rules.CreateRuleRequest) (*rules.Rule, error)
	UpdateRule(ctx context.Context, id string, req *rules.UpdateRuleRequest) (*rules.Rule, error)
	DeleteRule(ctx context.Context, id string) error
	SetRuleStatus(ctx context.Context, id string, st rules.Status) (*rules.Rule, error)
	Rules(keep func(*rules.Rule) bool) []*rules.Rule
	Rule(id string) (*rules.Rule, error)
	RuleStatistics() rulestore.RuleStatistics
	Alerts(f rulestore.AlertFilter) rulestore.AlertPage
	Alert(id string) (rules.Alert, error)
	AlertStatistics() rulestore.AlertStatistics
	AcknowledgeAlert(ctx context.Context, id, by, notes string) (rules.Alert, error)
	ResolveAlert(ctx context.Context, id, by, notes string) (rules.Alert, error)

	// Notification channels and the delivery log (notifications.go).
	// Channels come back masked. Changes are journaled before they
	// return; their errors are *notify.ValidationError,
	// *actors.NameTakenChannelError, notify.ErrChannelNotFound,
	// actors.ErrTooManyChannels, ErrNotifierBusy or the journal's.
	CreateChannel(ctx context.Context, req *notify.CreateChannelRequest) (*notify.Channel, error)
	UpdateChannel(ctx context.Context, id string, req *notify.UpdateChannelRequest) (*notify.Channel, error)
	DeleteChannel(ctx context.Context, id string) error
	Channels(keep func(*notify.Channel) bool) []*notify.Channel
	Channel(id string) (*notify.Channel, error)
	ChannelCounts() notify.ChannelCounts
	TestChannel(ctx context.Context, id string) (notify.NotificationResult, error)
	NotificationLogs(f notify.LogFilter) []notify.LogEntry
	NotificationLog(id string) (notify.LogEntry, error)
	NotificationStats(since time.Time) notify.Stats
}

var _ System = (*actors.System)(nil)
