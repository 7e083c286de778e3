package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/eventara/eventara/protocol/event"
)

// PublisherConfig configures a Publisher. Zero values are the documented
// defaults.
type PublisherConfig struct {
	// AttemptTimeout bounds one publish round: the wait for the acks of
	// the records still unacknowledged. Records whose ack did not come are
	// published again, with the same IDs. Zero means 2 s.
	AttemptTimeout time.Duration
	// Timeout bounds a whole Append when its context has no earlier
	// deadline. Zero means 10 s, which rides out a raft election (4–9 s
	// after a crashed stream leader) before answering ErrUnavailable.
	Timeout time.Duration
	// MaxPending is the most records awaiting an ack at once, over all the
	// concurrent Appends of this Publisher; a batch that would exceed it
	// waits for room (within its attempt's time). Zero means 16,384:
	// several batches of a thousand in flight at once (cluster-mode ingest
	// keeps several groups in flight, sized to share this window).
	MaxPending int
}

func (c *PublisherConfig) setDefaults() error {
	if c.AttemptTimeout == 0 {
		c.AttemptTimeout = 2 * time.Second
	}
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Second
	}
	if c.MaxPending == 0 {
		c.MaxPending = 16_384
	}
	if c.AttemptTimeout < 0 || c.Timeout < 0 || c.MaxPending < 0 {
		return fmt.Errorf("%w: negative PublisherConfig field", ErrInvalidConfig)
	}
	return nil
}

// Publisher appends records to the stream. It is safe for concurrent use.
type Publisher struct {
	s   *Stream
	cfg PublisherConfig
	// js is the Publisher's own JetStream context: the async window
	// (MaxPending) and the async ack timeout are per context.
	js jetstream.JetStream
}

// Config returns the Publisher's configuration, defaults filled in.
func (p *Publisher) Config() PublisherConfig { return p.cfg }

// Publisher returns a Publisher on the stream, through this node's
// connection.
func (s *Stream) Publisher(cfg PublisherConfig) (*Publisher, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	js, err := jetstream.New(s.node.nc,
		jetstream.WithDefaultTimeout(cfg.AttemptTimeout),
		jetstream.WithPublishAsyncMaxPending(cfg.MaxPending),
		// Without a timeout an async publish whose ack never comes (a
		// request dropped during an election) stays pending for ever and
		// fills the window (pitfall P11).
		jetstream.WithPublishAsyncTimeout(cfg.AttemptTimeout))
	if err != nil {
		return nil, fmt.Errorf("publisher on %s: %w", s.cfg.Name, err)
	}
	return &Publisher{s: s, cfg: cfg, js: js}, nil
}

// Append stores recs in the stream, each under its event ID as the
// message ID (Nats-Msg-Id), and returns once every one is acknowledged:
// stored on a quorum of the stream's replicas (synced to disk there unless
// Config.SyncInterval says otherwise). It returns the highest stream
// sequence among their acks, which a reader can wait for to see its own
// writes.
//
// A single record is published and awaited; a batch is published
// asynchronously and all acks awaited. Records whose ack fails or does not
// come within AttemptTimeout are published again with the same IDs, so a
// record stored by an attempt whose ack was lost is not stored twice
// (within StreamConfig.Duplicates). Append never takes longer than ctx
// allows or Timeout, whichever ends first, and then fails with an
// *AppendError matching ErrUnavailable; a cancelled ctx gives one matching
// the context's error; a record the server refuses for good, one matching
// ErrRejected. Records with a zero ID are refused (ErrInvalidArgument)
// before anything is sent.
func (p *Publisher) Append(ctx context.Context, recs []event.Record) (uint64, error) {
	if len(recs) == 0 {
		return 0, nil
	}
	msgs, err := p.encode(recs)
	if err != nil {
		return 0, err
	}
	return p.publish(ctx, msgs, nil)
}

// Note stores data in the stream as a note: a message that is neither a
// record nor a tick, which every reader gets in stream order (Msg.Note)
// with data as its Data. id is its message ID (Nats-Msg-Id): a note
// appended again with the same id within StreamConfig.Duplicates is
// stored once. It returns the note's stream sequence (the first one's, for
// a duplicate); timeouts and errors are Append's.
//
// A note is for what every node must learn in stream order, after records
// it refers to: the Idempotency-Key of a request whose events an Append
// stored.
func (p *Publisher) Note(ctx context.Context, id string, data []byte) (uint64, error) {
	if id == "" || len(data) == 0 {
		return 0, fmt.Errorf("note: empty id or data: %w", ErrInvalidArgument)
	}
	return p.publish(ctx, []*nats.Msg{p.note(id, data)}, nil)
}

func (p *Publisher) note(id string, data []byte) *nats.Msg {
	return &nats.Msg{
		Subject: p.s.events,
		Data:    data,
		Header:  nats.Header{jetstream.MsgIDHeader: []string{id}, noteHeader: []string{"1"}},
	}
}

// Claimed is what Claim found under its id.
type Claimed struct {
	// Seq is the claim's stream sequence.
	Seq uint64
	// Mine says this Claim stored it (Data is the caller's); otherwise an
	// earlier one with the same id did, within StreamConfig.Duplicates,
	// and Data is what that one stored, at Time (the stream leader's).
	Mine bool
	Data []byte
	Time time.Time
}

// Claim stores data as a note (see Note) under id unless a note with the
// same id was stored within StreamConfig.Duplicates; then it returns that
// note. It tells which of several nodes asking at once came first, once
// in the whole cluster: the stream's duplicate window decides. A claim
// older than Duplicates is forgotten and the next one with its id wins.
//
// A claim stored by this call whose ack was lost and published again is
// still Mine (the stored bytes are compared with data). Errors are
// Append's; reading the earlier note back can also fail.
func (p *Publisher) Claim(ctx context.Context, id string, data []byte) (Claimed, error) {
	if id == "" || len(data) == 0 {
		return Claimed{}, fmt.Errorf("claim: empty id or data: %w", ErrInvalidArgument)
	}
	var dup bool
	seq, err := p.publish(ctx, []*nats.Msg{p.note(id, data)}, &dup)
	if err != nil {
		return Claimed{}, err
	}
	if !dup {
		return Claimed{Seq: seq, Mine: true, Data: data}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	js, err := p.js.Stream(ctx, p.s.cfg.Name)
	if err != nil {
		return Claimed{}, fmt.Errorf("claim %s: read the earlier one at %d: %w", id, seq, err)
	}
	m, err := js.GetMsg(ctx, seq)
	if err != nil {
		return Claimed{}, fmt.Errorf("claim %s: read the earlier one at %d: %w", id, seq, err)
	}
	return Claimed{Seq: seq, Mine: bytes.Equal(m.Data, data), Data: m.Data, Time: m.Time}, nil
}

// noteHeader marks a note.
const noteHeader = "Eventara-Note"

// publish stores msgs (see Append). For a single message, dup (when not
// nil) tells whether its ack said duplicate.
func (p *Publisher) publish(ctx context.Context, msgs []*nats.Msg, dup *bool) (uint64, error) {
	if p.s.node.nc.IsClosed() {
		return 0, &AppendError{Failed: len(msgs), Kind: ErrClosed, Err: nats.ErrConnectionClosed}
	}
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()

	todo := make([]int, len(msgs))
	for i := range todo {
		todo[i] = i
	}
	var (
		last     uint64
		lastErr  error
		attempts int
		pause    = 25 * time.Millisecond
	)
	for {
		attempts++
		if len(todo) == 1 {
			todo, lastErr = p.publishOne(ctx, msgs, todo, &last, dup)
		} else {
			todo, lastErr = p.publishBatch(ctx, msgs, todo, &last)
		}
		if len(todo) == 0 {
			return last, nil
		}
		fail := func(kind error) error {
			return &AppendError{Acked: len(msgs) - len(todo), Failed: len(todo), Attempts: attempts, Kind: kind, Err: lastErr}
		}
		switch {
		case p.s.node.nc.IsClosed():
			return last, fail(ErrClosed)
		case isPermanent(lastErr):
			return last, fail(ErrRejected)
		}
		timer := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			timer.Stop()
		case <-timer.C:
		}
		if err := ctx.Err(); err != nil {
			if lastErr == nil || !errors.Is(lastErr, err) {
				lastErr = errors.Join(lastErr, err)
			}
			if errors.Is(err, context.Canceled) {
				return last, fail(nil)
			}
			return last, fail(ErrUnavailable)
		}
		pause = min(2*pause, 500*time.Millisecond)
	}
}

// encode turns recs into messages on the events subject, all their bytes
// in one buffer.
func (p *Publisher) encode(recs []event.Record) ([]*nats.Msg, error) {
	size := 0
	for i := range recs {
		if recs[i].Event.ID == (event.ID{}) {
			return nil, fmt.Errorf("append record %d: zero ID: %w", i, ErrInvalidArgument)
		}
		e := &recs[i].Event
		size += 64 + len(e.Type) + len(e.Source) + len(e.UserID) + len(e.SessionID) + len(e.Metadata) + 32*len(e.Tags)
	}
	buf := make([]byte, 0, size)
	msgs := make([]*nats.Msg, len(recs))
	for i := range recs {
		start := len(buf)
		buf = event.AppendRecord(buf, &recs[i])
		msgs[i] = &nats.Msg{
			Subject: p.s.events,
			Data:    buf[start:len(buf):len(buf)],
			Header:  nats.Header{jetstream.MsgIDHeader: []string{recs[i].Event.ID.String()}},
		}
	}
	return msgs, nil
}

func (p *Publisher) attemptContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, p.cfg.AttemptTimeout)
}

// publishOne publishes msgs[todo[0]] and waits for its ack.
func (p *Publisher) publishOne(ctx context.Context, msgs []*nats.Msg, todo []int, last *uint64, dup *bool) ([]int, error) {
	actx, cancel := p.attemptContext(ctx)
	defer cancel()
	m := msgs[todo[0]]
	ack, err := p.js.PublishMsg(actx, &nats.Msg{Subject: m.Subject, Data: m.Data, Header: m.Header})
	if err != nil {
		return todo, err
	}
	*last = max(*last, ack.Sequence)
	if dup != nil {
		*dup = ack.Duplicate
	}
	return todo[:0], nil
}

// publishBatch publishes msgs[todo...] asynchronously and waits for their
// acks until the attempt's time is up; it returns those not acknowledged.
func (p *Publisher) publishBatch(ctx context.Context, msgs []*nats.Msg, todo []int, last *uint64) ([]int, error) {
	actx, cancel := p.attemptContext(ctx)
	defer cancel()
	deadline, _ := actx.Deadline()
	futures := make([]jetstream.PubAckFuture, len(todo))
	var lastErr error
	for k, i := range todo {
		m := msgs[i]
		// A fresh message each time: the library keeps the one it sent
		// until its ack, and retries it on "no responders".
		f, err := p.js.PublishMsgAsync(&nats.Msg{Subject: m.Subject, Data: m.Data, Header: m.Header},
			jetstream.WithStallWait(max(time.Until(deadline), time.Millisecond)))
		if err != nil {
			// The window stayed full for the whole attempt, or the
			// connection is closed: the rest would fail alike.
			lastErr = err
			break
		}
		futures[k] = f
	}
	var failed []int
	for k, f := range futures {
		if f == nil {
			failed = append(failed, todo[k])
			continue
		}
		select {
		case ack := <-f.Ok():
			*last = max(*last, ack.Sequence)
			continue
		case err := <-f.Err():
			lastErr = err
		case <-actx.Done():
			// Take what has come meanwhile, without waiting.
			select {
			case ack := <-f.Ok():
				*last = max(*last, ack.Sequence)
				continue
			case err := <-f.Err():
				lastErr = err
			default:
				lastErr = fmt.Errorf("no ack within %s: %w", p.cfg.AttemptTimeout, context.DeadlineExceeded)
			}
		}
		failed = append(failed, todo[k])
	}
	return failed, lastErr
}
