package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/eventara/eventara/protocol/event"
)

// ConsumerConfig configures a Consumer. Zero values are the documented
// defaults.
type ConsumerConfig struct {
	// Buffer is how many messages wait between the stream and the reader:
	// the channel's capacity, and the most fetched from the server ahead of
	// it. When both are full the consumer stops fetching until the reader
	// takes one; nothing is dropped. Zero means 1024.
	Buffer int
	// Heartbeat is the server's idle heartbeat: after two missed ones the
	// server-side consumer is taken as lost and recreated (the stream
	// leader moved, its host died). Zero means 500 ms, the least NATS
	// allows; the library's 5 s default made a consumer notice a moved
	// leader only after 10 s (pitfall P5).
	Heartbeat time.Duration
}

func (c *ConsumerConfig) setDefaults() error {
	if c.Buffer == 0 {
		c.Buffer = 1024
	}
	if c.Heartbeat == 0 {
		c.Heartbeat = 500 * time.Millisecond
	}
	if c.Buffer < 1 || c.Heartbeat < 500*time.Millisecond || c.Heartbeat > 30*time.Second {
		return fmt.Errorf("%w: ConsumerConfig Buffer %d (≥ 1), Heartbeat %s (500ms to 30s)", ErrInvalidConfig, c.Buffer, c.Heartbeat)
	}
	return nil
}

// Msg is one message of the stream: a record or a tick.
type Msg struct {
	// Seq is the stream sequence: every node sees the same message at the
	// same sequence.
	Seq uint64
	// Time is when the stream leader stored it. For a tick it is the
	// cluster's "now": the same on every node.
	Time time.Time
	// Subject is the subject it was stored under.
	Subject string
	// Tick says it is a tick (its Data is empty); Note that it is a note
	// (Publisher.Note; Data is the note's); otherwise it is a record.
	Tick, Note bool
	// Data is the record's bytes (event.AppendRecord). The reader owns it.
	Data []byte
}

// Record decodes the record a non-tick message carries.
func (m Msg) Record() (event.Record, error) {
	if m.Tick || m.Note {
		return event.Record{}, fmt.Errorf("message %d is a tick or a note, not a record", m.Seq)
	}
	rec, err := event.DecodeRecord(m.Data)
	if err != nil {
		return rec, fmt.Errorf("message %d: %w", m.Seq, err)
	}
	return rec, nil
}

// Consumer reads the stream's records and ticks in stream order, from a
// given sequence on, into a bounded channel. It is the Eventara
// equivalent of an ordered consumer: an ephemeral, unacknowledged,
// in-memory consumer on the server, checked for gaps by its delivery
// sequence and recreated from the sequence after the last one delivered
// whenever it fails (a gap, missed heartbeats, its server gone, the
// connection reset). The library's own ordered consumer does the same
// but backs off from 1 s to 10 s with a 10 s timeout per attempt, which
// made a survivor wait up to 12 s after a leader crash in the research;
// this one retries from 50 ms, capped at 1 s, each attempt bounded by
// the node's OpTimeout.
type Consumer struct {
	s    *Stream
	cfg  ConsumerConfig
	out  chan Msg
	stop context.CancelFunc
	ctx  context.Context
	done chan struct{}

	// next is the stream sequence to read next; only run writes it.
	next     atomic.Uint64
	restarts atomic.Int64

	mu  sync.Mutex
	err error
}

// Consume starts reading the stream at sequence from (0 and 1 both mean
// the first message; a sequence before the stream's first, removed by
// MaxAge, starts at the first that is left). A reader that applied up to
// sequence n resumes with Consume(n+1, …).
func (s *Stream) Consume(from uint64, cfg ConsumerConfig) (*Consumer, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	if s.node.nc.IsClosed() {
		return nil, ErrClosed
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Consumer{s: s, cfg: cfg, out: make(chan Msg, cfg.Buffer), ctx: ctx, stop: cancel, done: make(chan struct{})}
	c.next.Store(max(from, 1))
	go c.run()
	return c, nil
}

// Messages is the channel the messages come on, in stream order, each
// once. It is closed after Stop, or when the node shuts down (Err says
// which).
func (c *Consumer) Messages() <-chan Msg { return c.out }

// NextSeq returns the stream sequence the consumer reads next: one past
// the last message put on the channel.
func (c *Consumer) NextSeq() uint64 { return c.next.Load() }

// Restarts is how many times the server-side consumer was recreated.
func (c *Consumer) Restarts() int { return int(c.restarts.Load()) }

// Err says why Messages was closed: nil after Stop, ErrClosed when the
// node shut down. It is nil while the consumer runs.
func (c *Consumer) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Stop stops reading and waits until the channel is closed. Messages
// still in the channel can be drained after it.
func (c *Consumer) Stop() {
	c.stop()
	<-c.done
}

func (c *Consumer) run() {
	defer close(c.done)
	defer close(c.out)
	pause := 50 * time.Millisecond
	log := c.s.node.log.With().Str("stream", c.s.cfg.Name).Logger()
	streak := 0 // sessions in a row that delivered nothing
	for {
		delivered, err := c.session()
		if c.ctx.Err() != nil {
			return
		}
		if c.s.node.nc.IsClosed() {
			c.mu.Lock()
			c.err = ErrClosed
			c.mu.Unlock()
			return
		}
		c.restarts.Add(1)
		if delivered > 0 {
			pause, streak = 50*time.Millisecond, 0
		}
		streak++
		// Without a quorum every attempt fails, a second apart: say so
		// when it starts and then every 30 attempts.
		if streak == 1 || streak%30 == 0 {
			log.Warn().Err(err).Uint64("seq", c.next.Load()).Int("attempts", streak).Dur("retry_in", pause).
				Msg("cluster: consumer lost, recreating it")
		} else {
			log.Debug().Err(err).Uint64("seq", c.next.Load()).Int("attempts", streak).
				Msg("cluster: consumer still lost")
		}
		timer := time.NewTimer(pause)
		select {
		case <-c.ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		pause = min(2*pause, time.Second)
	}
}

// errGap is a delivery sequence that skipped: a message was lost between
// the server and us, so the consumer starts again after the last one
// delivered.
var errGap = errors.New("delivery sequence gap")

// session creates a server-side consumer at c.next and delivers from it
// until it fails; it returns how many messages it delivered and why it
// ended.
func (c *Consumer) session() (int, error) {
	n := c.s.node
	opCtx, cancel := context.WithTimeout(c.ctx, n.cfg.OpTimeout)
	cons, err := n.js.CreateConsumer(opCtx, c.s.cfg.Name, jetstream.ConsumerConfig{
		DeliverPolicy:  jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:    c.next.Load(),
		AckPolicy:      jetstream.AckNonePolicy,
		FilterSubjects: []string{c.s.events, c.s.tick},
		// A lost consumer is not deleted (that could wait out a missing
		// quorum); the server drops it once nobody pulls from it. A
		// reader that stalls longer gets a new one, from NextSeq.
		InactiveThreshold: 30 * time.Second,
		Replicas:          1,
		MemoryStorage:     true,
	})
	cancel()
	if err != nil {
		return 0, fmt.Errorf("create consumer: %w", err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(c.cfg.Buffer), jetstream.PullHeartbeat(c.cfg.Heartbeat))
	if err != nil {
		return 0, fmt.Errorf("pull: %w", err)
	}
	defer it.Stop()
	var dseq uint64
	delivered := 0
	for {
		m, err := it.Next(jetstream.NextContext(c.ctx))
		if err != nil {
			return delivered, err
		}
		meta, err := m.Metadata()
		if err != nil {
			return delivered, err
		}
		if meta.Sequence.Consumer != dseq+1 {
			return delivered, fmt.Errorf("%w: %d after %d", errGap, meta.Sequence.Consumer, dseq)
		}
		dseq = meta.Sequence.Consumer
		seq := meta.Sequence.Stream
		if seq < c.next.Load() {
			continue
		}
		subj := m.Subject()
		msg := Msg{Seq: seq, Time: meta.Timestamp, Subject: subj, Tick: subj == c.s.tick, Data: m.Data()}
		msg.Note = !msg.Tick && m.Headers().Get(noteHeader) != ""
		select {
		case c.out <- msg:
		case <-c.ctx.Done():
			return delivered, c.ctx.Err()
		}
		c.next.Store(seq + 1)
		delivered++
	}
}
