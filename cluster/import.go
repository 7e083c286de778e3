package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/eventara/eventara/protocol/event"
)

// OpenStream opens the stream that cfg names (Name and Prefix; their
// defaults when zero) as it already is, for a tool that is not a node
// (eventara import): unlike Node.Stream it neither creates nor updates
// the stream nor its tick schedule, and the returned Stream's Config is
// the stream's own (replicas, duplicate window, retention). It fails with
// ErrNotReady when the stream does not exist, has no leader, or does not
// carry the records' subject, within ReadyTimeout or ctx.
func (n *Node) OpenStream(ctx context.Context, cfg StreamConfig) (*Stream, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	if n.nc.IsClosed() {
		return nil, ErrClosed
	}
	s := newStream(n, cfg)
	ctx, cancel := context.WithTimeout(ctx, n.cfg.ReadyTimeout)
	defer cancel()
	var info *jetstream.StreamInfo
	err := n.retry(ctx, "stream "+cfg.Name, func(ctx context.Context) error {
		js, err := n.js.Stream(ctx, cfg.Name)
		if err != nil {
			return err
		}
		info = js.CachedInfo()
		if info.Cluster != nil && info.Cluster.Leader == "" {
			return errors.New("no leader yet")
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("open stream %s: %w", cfg.Name, err)
	}
	if !slices.Contains(info.Config.Subjects, s.events) {
		return nil, fmt.Errorf("%w: stream %s does not carry %s (subjects %v): not an Eventara stream with prefix %q",
			ErrInvalidConfig, cfg.Name, s.events, info.Config.Subjects, cfg.Prefix)
	}
	s.cfg.Replicas, s.cfg.Duplicates, s.cfg.MaxAge = info.Config.Replicas, info.Config.Duplicates, info.Config.MaxAge
	return s, nil
}

// RecordIDs calls fn with the ID of every record in the stream, in stream
// order, from the first still stored (MaxAge removes older ones) to the
// last stored when it is called; records appended meanwhile may or may
// not be seen. It reads the message IDs (Nats-Msg-Id, the event ID
// Publisher.Append sets) from the headers alone, so it moves about 60
// bytes per record, not the records. It returns how many IDs it passed to
// fn. A record whose message ID is missing or not an event ID (not stored
// by a Publisher) is skipped. It gives up when ctx ends, or with
// ErrNotReady when no message came for the node's ReadyTimeout (no
// quorum).
func (s *Stream) RecordIDs(ctx context.Context, fn func(event.ID)) (int, error) {
	opCtx, cancel := context.WithTimeout(ctx, s.node.cfg.OpTimeout)
	js, err := s.node.js.Stream(opCtx, s.cfg.Name)
	var last *jetstream.RawStreamMsg
	if err == nil {
		last, err = js.GetLastMsgForSubject(opCtx, s.events)
	}
	cancel()
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return 0, nil // no record stored (or all aged out)
	}
	if err != nil {
		return 0, fmt.Errorf("stream %s: last record: %w", s.cfg.Name, err)
	}
	cons, err := js.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{s.events},
		DeliverPolicy:  jetstream.DeliverAllPolicy,
		HeadersOnly:    true,
	})
	if err != nil {
		return 0, fmt.Errorf("stream %s: read the record IDs: %w", s.cfg.Name, err)
	}
	n := 0
	var seen uint64
	progress := time.Now()
	for seen < last.Sequence {
		if err := ctx.Err(); err != nil {
			return n, fmt.Errorf("stream %s: read the record IDs up to %d, at %d: %w", s.cfg.Name, last.Sequence, seen, err)
		}
		if time.Since(progress) > s.node.cfg.ReadyTimeout {
			return n, fmt.Errorf("%w: stream %s: no record ID for %s (read up to %d of %d)", ErrNotReady, s.cfg.Name, s.node.cfg.ReadyTimeout, seen, last.Sequence)
		}
		batch, err := cons.Fetch(1024, jetstream.FetchMaxWait(s.node.cfg.OpTimeout))
		if err != nil {
			if s.node.nc.IsClosed() {
				return n, ErrClosed
			}
			continue // the ordered consumer recreates itself
		}
		before := seen
		for m := range batch.Messages() {
			meta, err := m.Metadata()
			if err != nil {
				continue
			}
			seen = meta.Sequence.Stream
			if id, err := event.ParseID(m.Headers().Get(jetstream.MsgIDHeader)); err == nil {
				fn(id)
				n++
			}
		}
		if seen > before {
			progress = time.Now()
		}
	}
	return n, nil
}
