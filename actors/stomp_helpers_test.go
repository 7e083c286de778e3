package actors

import (
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"

	"github.com/eventara/eventara/internal/testutil"
	"github.com/eventara/eventara/protocol/stomp"
	"github.com/eventara/eventara/snapshots"
)

// newStompTestSystem builds just enough of a System for the session actors:
// an actor system, the topic and the session manager. Cleanup stops them.
func newStompTestSystem(t *testing.T, cfg SessionConfig) *System {
	t.Helper()
	as := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel)
	s := &System{cfg: Config{Sessions: cfg, Log: log}, log: log, as: as, root: as.Root}
	var err error
	if s.topic, err = spawnTopic(s); err != nil {
		t.Fatal(err)
	}
	if s.sessions, err = newSessions(s); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stopSessions(s)
		_ = s.root.PoisonFuture(s.topic).Wait()
		as.Shutdown()
	})
	return s
}

// stompTestConn is a ClientConn that records what the connection actor
// queues. limit > 0 makes Send fail once that many units are queued (a
// client that never reads); panicOnSend makes Send panic.
type stompTestConn struct {
	mu          sync.Mutex
	out         []Outgoing
	framing     Framing
	closed      bool
	code        int
	reason      string
	limit       int
	panicOnSend bool
}

func (c *stompTestConn) Send(o Outgoing) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.panicOnSend {
		panic("test: Send panics")
	}
	if c.closed || (c.limit > 0 && len(c.out) >= c.limit) {
		return false
	}
	c.out = append(c.out, o)
	return true
}

func (c *stompTestConn) SetFraming(f Framing) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.framing = f
}

func (c *stompTestConn) Close(code int, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.closed, c.code, c.reason = true, code, reason
	}
}

func (c *stompTestConn) Transport() string  { return "test" }
func (c *stompTestConn) RemoteAddr() string { return "192.0.2.1:1234" }

func (c *stompTestConn) outgoing() []Outgoing {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Outgoing(nil), c.out...)
}

func (c *stompTestConn) closeState() (bool, int, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed, c.code, c.reason
}

// stompOut is one decoded unit: a frame, or a heart-beat.
type stompOut struct {
	frame *stomp.Frame
	o     Outgoing
}

// frames decodes every non-heart-beat unit queued so far as STOMP.
func (c *stompTestConn) frames(t *testing.T) []stompOut {
	t.Helper()
	var res []stompOut
	for _, o := range c.outgoing() {
		if o.HeartBeat {
			continue
		}
		b := append([]byte(nil), o.Head...)
		if o.Shared != nil {
			b = append(b, o.Shared.STOMPTail...)
		}
		d := stomp.NewDecoder(stomp.Limits{MaxFrameSize: 1 << 20})
		d.Feed(b)
		f, _, err := d.Next()
		if err != nil || f == nil {
			t.Fatalf("undecodable unit %q: %v", b, err)
		}
		res = append(res, stompOut{frame: f, o: o})
	}
	return res
}

// heartBeats counts the heart-beats queued so far.
func (c *stompTestConn) heartBeats() int {
	n := 0
	for _, o := range c.outgoing() {
		if o.HeartBeat {
			n++
		}
	}
	return n
}

// waitFrames waits until c has queued at least n frames and returns them.
func waitFrames(t *testing.T, c *stompTestConn, n int) []stompOut {
	t.Helper()
	var fs []stompOut
	testutil.Eventually(t, "frames", func() bool { fs = c.frames(t); return len(fs) >= n })
	return fs
}

func waitClosed(t *testing.T, c *stompTestConn) (int, string) {
	t.Helper()
	testutil.Eventually(t, "close", func() bool { closed, _, _ := c.closeState(); return closed })
	_, code, reason := c.closeState()
	return code, reason
}

// openStomp opens a session and sends CONNECT as stompjs does, waiting for
// CONNECTED.
func openStomp(t *testing.T, s *System) (*stompTestConn, Session) {
	t.Helper()
	c := &stompTestConn{}
	sess := s.sessions.Open(c)
	sess.Receive([]byte("CONNECT\naccept-version:1.2,1.1,1.0\nheart-beat:4000,4000\n\n\x00"))
	fs := waitFrames(t, c, 1)
	if fs[0].frame.Command != stomp.CmdConnected {
		t.Fatalf("first frame %s, want CONNECTED", fs[0].frame.Command)
	}
	return c, sess
}

func testSnapshot(json string, at time.Time) *snapshots.Snapshot {
	return &snapshots.Snapshot{BuiltAt: at, JSON: []byte(json)}
}

// publish sends a snapshot to the topic as the aggregator does.
func publish(s *System, snap *snapshots.Snapshot) {
	s.root.Send(s.topic, &SnapshotReady{Snapshot: snap})
}

func countCommand(fs []stompOut, cmd stomp.Command) int {
	n := 0
	for _, f := range fs {
		if f.frame.Command == cmd {
			n++
		}
	}
	return n
}
