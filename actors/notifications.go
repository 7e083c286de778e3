package actors

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/eventara/eventara/notify"
)

// Errors of the notification channels API.
var (
	// ErrTooManyChannels: the notifier holds NotificationsConfig.MaxChannels
	// channels already (HTTP 409).
	ErrTooManyChannels = errors.New("too many notification channels")
	// ErrNotifierBusy: maxChannelCommands channel changes are already
	// waiting for the notifier (HTTP 503); nothing was changed.
	ErrNotifierBusy = errors.New("notifier busy: too many changes waiting")
	// ErrLogEntryNotFound: no delivery log entry with that id (HTTP 404).
	ErrLogEntryNotFound = errors.New("notification log entry not found")
)

// NameTakenChannelError refuses a channel whose name another channel has
// (HTTP 409). It matches notify.ErrDuplicateName.
type NameTakenChannelError struct {
	Name string
	ID   string // the channel that has it
}

func (e *NameTakenChannelError) Error() string {
	return fmt.Sprintf("a notification channel named %q exists already (id %s)", e.Name, e.ID)
}

// Unwrap makes errors.Is(err, notify.ErrDuplicateName) hold.
func (e *NameTakenChannelError) Unwrap() error { return notify.ErrDuplicateName }

// NotificationsConfig configures notification channels and delivery (the
// notifier actor). Zero values are the defaults.
type NotificationsConfig struct {
	// Self is the service's own addresses: a webhook, Slack or Discord URL
	// pointing at them is refused, when a channel is saved and at every
	// connection (notify.Self). The zero value refuses loopback on every
	// port: set it from the listen addresses (notify.SelfFromListen).
	Self notify.Self
	// Outbox is the delivery policy: backoff, give-up deadline, bounds of
	// the delivery log (notify.OutboxConfig; zero values its defaults).
	Outbox notify.OutboxConfig
	// SendTimeout bounds one delivery attempt. Zero means 10 seconds.
	SendTimeout time.Duration
	// TLS holds the CAs trusted for HTTPS and SMTP; nil means the system's.
	TLS *tls.Config
	// MaxChannels bounds the channels. Zero means 1,000.
	MaxChannels int

	// beforeNote, in tests of cluster mode, runs before each outbox note
	// of this node is published: it may stall it, or fail it as if this
	// node were killed before the stream stored it (notePublisher).
	beforeNote func(id string, n *outboxNote) error
}

func (c *NotificationsConfig) setDefaults() {
	if c.SendTimeout <= 0 {
		c.SendTimeout = 10 * time.Second
	}
	if c.MaxChannels <= 0 {
		c.MaxChannels = 1000
	}
}

// maxChannelCommands bounds the channel changes (API calls) waiting for
// the notifier.
//
// Queue: the notifier's mailbox, for channelCommand.
// Bound: maxChannelCommands commands admitted and not yet answered.
// At the bound: the caller gets ErrNotifierBusy at once (HTTP 503),
// before the mailbox. Guarded by TestChannelCommandsBounded.
const maxChannelCommands = 64

// notifying is the state shared by the notifier actor and the API's
// readers: only the notifier writes it, under mu, after it journaled what
// it applies; reads take mu for reading. A restarted notifier replaces
// channels and outbox with those it rebuilt from its log.
type notifying struct {
	mu       sync.RWMutex
	channels map[string]*notify.Channel
	outbox   *notify.Outbox

	sender   *notify.Sender
	commands atomic.Int64 // admitted channelCommands not yet answered
	// Cluster mode (notifier_cluster.go): the changes this node published
	// and waits to apply; the publisher of the deliverer's outbox notes.
	waiting waiters[*channelCommand]
	notes   *notePublisher
	// streamSeq is the last cluster note applied to channels and outbox
	// (guarded by mu).
	streamSeq uint64
}

// channelOp is what a channelCommand asks.
type channelOp int

const (
	opChannelCreate channelOp = iota
	opChannelUpdate
	opChannelDelete
)

// channelCommand is one API change for the notifier, answered once
// through reply (room for one) after it is journaled and applied.
type channelCommand struct {
	op       channelOp
	id       string
	create   *notify.CreateChannelRequest
	update   *notify.UpdateChannelRequest
	reply    chan channelAnswer
	nt       *notifying
	answered atomic.Bool
}

type channelAnswer struct {
	ch  *notify.Channel // masked, with its counters
	err error
}

func (m *channelCommand) answer(a channelAnswer) {
	if !m.answered.CompareAndSwap(false, true) {
		return
	}
	m.nt.commands.Add(-1)
	m.reply <- a
}

func (m *channelCommand) abandon(*System, *actor.PID) {
	m.answer(channelAnswer{err: ErrRestarting})
}

// channelCommand admits m and waits for its answer.
func (s *System) channelCommand(ctx context.Context, m *channelCommand) (*notify.Channel, error) {
	if s.stopped.Load() {
		return nil, ErrStopped
	}
	nt := s.notifying
	if nt.commands.Add(1) > maxChannelCommands {
		nt.commands.Add(-1)
		return nil, ErrNotifierBusy
	}
	m.nt, m.reply = nt, make(chan channelAnswer, 1)
	s.root.Send(s.notifier, m)
	select {
	case a := <-m.reply:
		return a.ch, a.err
	case <-ctx.Done():
		if s.cluster != nil {
			m.answer(channelAnswer{err: ctx.Err()}) // its note may never come back: see System.command
		}
		return nil, ctx.Err()
	}
}

// CreateChannel validates req and journals the new channel. Its errors:
// *notify.ValidationError, *NameTakenChannelError, ErrTooManyChannels,
// the journal's, ErrNotifierBusy, ErrStopped. The channel is masked.
func (s *System) CreateChannel(ctx context.Context, req *notify.CreateChannelRequest) (*notify.Channel, error) {
	return s.channelCommand(ctx, &channelCommand{op: opChannelCreate, create: req})
}

// UpdateChannel applies req to channel id (notify.ErrChannelNotFound).
// Disabling it gives up its pending notifications.
func (s *System) UpdateChannel(ctx context.Context, id string, req *notify.UpdateChannelRequest) (*notify.Channel, error) {
	return s.channelCommand(ctx, &channelCommand{op: opChannelUpdate, id: id, update: req})
}

// DeleteChannel deletes channel id, giving up its pending notifications;
// its delivery log stays.
func (s *System) DeleteChannel(ctx context.Context, id string) error {
	_, err := s.channelCommand(ctx, &channelCommand{op: opChannelDelete, id: id})
	return err
}

// readNotify runs fn with the notifier's state read-locked.
func (s *System) readNotify(fn func(chs map[string]*notify.Channel, o *notify.Outbox)) {
	nt := s.notifying
	nt.mu.RLock()
	defer nt.mu.RUnlock()
	fn(nt.channels, nt.outbox)
}

// answerChannel is ch as the API shows it: masked, with its counters.
func answerChannel(ch *notify.Channel, o *notify.Outbox) *notify.Channel {
	return ch.WithStats(o.ChannelStats(ch.ID)).Masked()
}

// Channels returns the channels keep selects (all when nil), masked,
// oldest first.
func (s *System) Channels(keep func(*notify.Channel) bool) []*notify.Channel {
	out := []*notify.Channel{}
	s.readNotify(func(chs map[string]*notify.Channel, o *notify.Outbox) {
		for _, ch := range chs {
			if keep == nil || keep(ch) {
				out = append(out, answerChannel(ch, o))
			}
		}
	})
	slices.SortFunc(out, func(a, b *notify.Channel) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// Channel returns channel id, masked, or notify.ErrChannelNotFound.
func (s *System) Channel(id string) (*notify.Channel, error) {
	var out *notify.Channel
	s.readNotify(func(chs map[string]*notify.Channel, o *notify.Outbox) {
		if ch, ok := chs[id]; ok {
			out = answerChannel(ch, o)
		}
	})
	if out == nil {
		return nil, notify.ErrChannelNotFound
	}
	return out, nil
}

// ChannelCounts counts the channels by state and type.
func (s *System) ChannelCounts() notify.ChannelCounts {
	var out notify.ChannelCounts
	s.readNotify(func(chs map[string]*notify.Channel, _ *notify.Outbox) {
		out = notify.CountChannels(slices.Collect(maps.Values(chs)))
	})
	return out
}

// TestChannel sends the channel test message through channel id, once,
// not through the outbox, and says how it went (a failure is a FAILED
// result, not an error; the error is notify.ErrChannelNotFound or ctx's).
func (s *System) TestChannel(ctx context.Context, id string) (notify.NotificationResult, error) {
	var ch *notify.Channel
	s.readNotify(func(chs map[string]*notify.Channel, _ *notify.Outbox) {
		if c, ok := chs[id]; ok {
			ch = c.Clone()
		}
	})
	if ch == nil {
		return notify.NotificationResult{}, notify.ErrChannelNotFound
	}
	n := notify.NewNotification(notify.TestMessage(ch, s.now()), ch)
	a := s.notifying.sender.Send(ctx, ch, &n)
	a.N = 1
	s.log.Info().Str("channel", ch.ID).Str("outcome", string(a.Outcome)).Int("status", a.StatusCode).Msg("channel test sent")
	return notify.ResultOf(ch, &n, a), nil
}

// NotificationLogs returns the delivery log entries f selects, newest
// first (notify.Outbox.Logs).
func (s *System) NotificationLogs(f notify.LogFilter) []notify.LogEntry {
	var out []notify.LogEntry
	s.readNotify(func(_ map[string]*notify.Channel, o *notify.Outbox) { out = o.Logs(f) })
	if out == nil {
		out = []notify.LogEntry{}
	}
	return out
}

// NotificationLog returns the delivery log entry id, or
// ErrLogEntryNotFound.
func (s *System) NotificationLog(id string) (notify.LogEntry, error) {
	var e notify.LogEntry
	var ok bool
	s.readNotify(func(_ map[string]*notify.Channel, o *notify.Outbox) { e, ok = o.LogEntry(id) })
	if !ok {
		return e, ErrLogEntryNotFound
	}
	return e, nil
}

// NotificationStats counts the notifications enqueued since since (zero:
// all of them).
func (s *System) NotificationStats(since time.Time) notify.Stats {
	var out notify.Stats
	s.readNotify(func(_ map[string]*notify.Channel, o *notify.Outbox) { out = o.Stats(since) })
	return out
}
