package actors

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/eventara/eventara/internal/testutil"
	"github.com/eventara/eventara/protocol/event"
	"github.com/eventara/eventara/snapshots"
)

// gatedPublisher is the cluster's Publisher with a gate in front of
// Append (one ingest group each): every call waits until the test
// releases it, then appends to the real stream. It records each call,
// how many others were in flight when it started, the notes published,
// and breaks of the ingest actor's invariants seen at the moment they
// happen (an append beside a reset).
type gatedPublisher struct {
	publisher

	mu     sync.Mutex
	calls  []*gatedCall
	active int // Appends between their start and their real append's end
	most   int
	resets int // resets among the active
	log    []string
	broken []string
	open   bool // every Append passes at once (clean-up)
}

type gatedCall struct {
	recs    []event.Record
	others  int // Appends in flight when it started
	release chan struct{}
	seq     uint64
	err     error
	done    chan struct{} // closed when the real append has returned
}

func (g *gatedPublisher) Append(ctx context.Context, recs []event.Record) (uint64, error) {
	c := &gatedCall{recs: recs, release: make(chan struct{}), done: make(chan struct{})}
	reset := slices.ContainsFunc(recs, func(r event.Record) bool { return r.Kind == event.KindReset })
	g.mu.Lock()
	n := len(g.calls)
	if g.resets > 0 {
		g.broken = append(g.broken, fmt.Sprintf("append %d started while a reset was in flight", n))
	}
	if reset && g.active > 0 {
		g.broken = append(g.broken, fmt.Sprintf("reset (append %d) started beside %d appends", n, g.active))
	}
	c.others = g.active
	g.active++
	g.most = max(g.most, g.active)
	if reset {
		g.resets++
	}
	g.calls = append(g.calls, c)
	g.log = append(g.log, fmt.Sprint("start ", n))
	if g.open {
		close(c.release)
	}
	g.mu.Unlock()

	<-c.release
	c.seq, c.err = g.publisher.Append(ctx, recs)
	g.mu.Lock()
	g.active--
	if reset {
		g.resets--
	}
	g.log = append(g.log, fmt.Sprint("acked ", n))
	g.mu.Unlock()
	close(c.done)
	return c.seq, c.err
}

func (g *gatedPublisher) Note(ctx context.Context, id string, data []byte) (uint64, error) {
	g.mu.Lock()
	g.log = append(g.log, "note "+id)
	g.mu.Unlock()
	return g.publisher.Note(ctx, id, data)
}

// waitCalls waits until n Appends have started and returns them.
func (g *gatedPublisher) waitCalls(t *testing.T, n int) []*gatedCall {
	t.Helper()
	var calls []*gatedCall
	testutil.WaitFor(t, testutil.Patience, fmt.Sprint(n, " appends started"), func() error {
		g.mu.Lock()
		defer g.mu.Unlock()
		if calls = slices.Clone(g.calls); len(calls) != n {
			return fmt.Errorf("%d started", len(calls))
		}
		return nil
	})
	return calls
}

// byType returns the calls whose first record is an event of type typ
// (calls reach the gate in any order: each group on its own goroutine).
func byType(t *testing.T, calls []*gatedCall, typ string) *gatedCall {
	t.Helper()
	for _, c := range calls {
		if len(c.recs) > 0 && c.recs[0].Event.Type == typ {
			return c
		}
	}
	t.Fatalf("no append of %s among %d", typ, len(calls))
	return nil
}

// started returns how many Appends have started.
func (g *gatedPublisher) started() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.calls)
}

// mostInFlight returns the most Appends that were in flight at once.
func (g *gatedPublisher) mostInFlight() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.most
}

// openAll releases every held Append and every later one.
func (g *gatedPublisher) openAll() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.open = true
	for _, c := range g.calls {
		select {
		case <-c.release:
		default:
			close(c.release)
		}
	}
}

// check fails t on the invariant breaks seen.
func (g *gatedPublisher) check(t *testing.T) {
	t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.broken) > 0 {
		t.Fatalf("ingest invariants broken: %s", strings.Join(g.broken, "; "))
	}
}

// startGatedCluster starts a cluster-mode System on a one-node stream
// whose appends go through a gatedPublisher, with inFlight groups in
// flight at most.
func startGatedCluster(t *testing.T, inFlight int) (*clusterSystem, *gatedPublisher) {
	t.Helper()
	cc := startStream(t)
	g := &gatedPublisher{publisher: cc.Publisher}
	cc.GroupsInFlight, cc.publisher = inFlight, g
	cs := startClusterSystem(t, cc, t.TempDir())
	// Clean-ups run last in first: the gate opens before the System stops,
	// so no group stays held and Stop drains them all.
	t.Cleanup(g.openAll)
	return cs, g
}

// sent is an ingest request sent without waiting for its answer.
type sent struct{ r *ingestRequest }

// send admits r and hands it to the ingest actor, as System.request does,
// without waiting: requests sent one after the other from one goroutine
// reach the actor in that order.
func send(t *testing.T, sys *System, r *ingestRequest) sent {
	t.Helper()
	r.reply = make(chan ingestResult, 1)
	r.adm, r.cost = sys.admission, r.size()
	if !sys.admission.admit(r.cost) {
		t.Fatal("request not admitted")
	}
	sys.root.Send(sys.ingest, r)
	return sent{r}
}

func sendEvents(t *testing.T, sys *System, n int, typ string) sent {
	return send(t, sys, &ingestRequest{events: newEvents(n, typ)})
}

// answer waits for s's answer.
func (s sent) answer(t *testing.T, what string) ingestResult {
	t.Helper()
	return testutil.Recv(t, s.r.reply, testutil.Patience, what)
}

// pending reports that s has not been answered yet.
func (s sent) pending() bool { return len(s.r.reply) == 0 && !s.r.answered.Load() }

// touch returns once the ingest actor has handled every message sent to
// it before (a protoactor Touch is answered after them, in mailbox
// order): what it was going to start, it has started.
func touch(t *testing.T, sys *System) {
	t.Helper()
	if _, err := sys.root.RequestFuture(sys.ingest, &actor.Touch{}, testutil.Patience).Result(); err != nil {
		t.Fatalf("touch the ingest actor: %v", err)
	}
}

// groupGoroutines counts the goroutines of ingest groups in flight.
func groupGoroutines() int {
	buf := make([]byte, 4<<20)
	return strings.Count(string(buf[:runtime.Stack(buf, true)]), "(*ingestActor).startGroup.func1(")
}

// TestClusterIngestGroupsInFlight guards the ingest actor's cluster-mode
// concurrency (ingestActor): a few events wait for the group in flight
// (group commit); with ExtraGroupEvents pending, up to GroupsInFlight
// groups await the stream's acks at once, never more; they end in any
// order, each request answered once when its own group is acknowledged,
// the rest collected into the next group meanwhile; every event stored
// once; the acked high-water mark is the highest sequence acknowledged.
func TestClusterIngestGroupsInFlight(t *testing.T) {
	cs, g := startGatedCluster(t, 3)
	sys := cs.sys

	// Single events: one group in flight, the others wait for it.
	first := sendEvents(t, sys, 1, "small")
	touch(t, sys)
	small := g.waitCalls(t, 1)[0]
	smalls := []sent{sendEvents(t, sys, 1, "small"), sendEvents(t, sys, 1, "small"), sendEvents(t, sys, 1, "small")}
	touch(t, sys)
	if n := g.started(); n != 1 {
		t.Fatalf("%d appends started for 4 single events, want 1 (the others wait for it)", n)
	}
	close(small.release)
	if res := first.answer(t, "the first single event's answer"); res.err != nil {
		t.Fatal(res.err)
	}
	small = g.waitCalls(t, 2)[1]
	if len(small.recs) != 3 || small.others != 0 {
		t.Fatalf("second append: %d records, %d others; want the 3 single events that waited, alone", len(small.recs), small.others)
	}
	close(small.release)
	for _, s := range smalls {
		if res := s.answer(t, "a single event's answer"); res.err != nil {
			t.Fatal(res.err)
		}
	}

	// Requests of ExtraGroupEvents events: a group each, 3 at once.
	const big = ExtraGroupEvents
	var reqs []sent
	for i := range 7 {
		reqs = append(reqs, sendEvents(t, sys, big, fmt.Sprint("e", i)))
	}
	touch(t, sys)
	calls := g.waitCalls(t, 5)[2:]
	if n := groupGoroutines(); n != 3 {
		t.Fatalf("%d group goroutines, want 3", n)
	}
	for i := range 3 {
		if c := byType(t, calls, fmt.Sprint("e", i)); len(c.recs) != big {
			t.Fatalf("append of e%d: %d records, want its request alone", i, len(c.recs))
		}
	}
	calls = []*gatedCall{byType(t, calls, "e0"), byType(t, calls, "e1"), byType(t, calls, "e2")}
	if n := sys.admission.pending.Load(); n != 7*big {
		t.Fatalf("%d events admitted, want %d", n, 7*big)
	}

	// The third group ends first: its request is answered while the
	// first two are still held, and the four waiting go out as one group.
	close(calls[2].release)
	results := make([]ingestResult, len(reqs))
	results[2] = reqs[2].answer(t, "e2's answer")
	if res := results[2]; res.err != nil || len(res.events) != big || res.events[0].ID != calls[2].recs[0].Event.ID {
		t.Fatalf("e2: %v, %d events; want its events as appended", res.err, len(res.events))
	}
	if !reqs[0].pending() || !reqs[1].pending() {
		t.Fatal("e0 or e1 answered while their groups are held")
	}
	calls = append(calls, g.waitCalls(t, 6)[5])
	if got := len(calls[3].recs); got != 4*big || calls[3].others != 2 || calls[3].recs[0].Event.Type != "e3" {
		t.Fatalf("fourth append: %d records, %d others; want e3..e6 together beside 2", got, calls[3].others)
	}
	for _, i := range []int{1, 3, 0} {
		close(calls[i].release)
	}

	appended := map[event.ID]bool{}
	for _, c := range calls {
		for _, r := range c.recs {
			appended[r.Event.ID] = true
		}
	}
	if len(appended) != 7*big {
		t.Fatalf("%d records appended, want %d", len(appended), 7*big)
	}
	answered := map[event.ID]bool{}
	for i, s := range reqs {
		if i != 2 {
			results[i] = s.answer(t, fmt.Sprint("e", i, "'s answer"))
		}
		res := results[i]
		if res.err != nil || len(res.events) != big || res.events[0].Type != fmt.Sprint("e", i) {
			t.Fatalf("e%d: %v, %d events", i, res.err, len(res.events))
		}
		for _, e := range res.events {
			if answered[e.ID] || !appended[e.ID] {
				t.Fatalf("e%d: id %s answered twice or never appended", i, e.ID)
			}
			answered[e.ID] = true
		}
		if len(s.r.reply) != 0 {
			t.Fatalf("e%d answered twice", i)
		}
	}
	var most uint64
	for _, c := range calls {
		<-c.done
		if c.err != nil {
			t.Fatal(c.err)
		}
		most = max(most, c.seq)
	}
	if acked := sys.cluster.acked.Load(); acked != most {
		t.Fatalf("acked high-water mark %d, want %d (the highest of %d appends)", acked, most, len(calls))
	}
	if most, n := g.mostInFlight(), g.started(); most != 3 || n != 6 {
		t.Fatalf("%d appends in flight at most over %d, want 3 over 6", most, n)
	}
	testutil.Eventually(t, "admission released", func() bool { return sys.admission.pending.Load() == 0 })
	waitSnapshot(t, sys, "every event", func(s *snapshots.Snapshot) bool { return total(s) == 4+7*big })
	g.check(t)
}

// TestClusterIngestResetWaitsForGroupsInFlight: in cluster mode a reset
// is a barrier (ingestActor): it is appended alone, once no group is in
// flight, and nothing starts while it is; events sent before it are
// counted before it (zeroed), those after it after.
func TestClusterIngestResetWaitsForGroupsInFlight(t *testing.T) {
	cs, g := startGatedCluster(t, 2)
	sys := cs.sys
	const big = ExtraGroupEvents // events enough for a group beside another
	e1, e2 := sendEvents(t, sys, big, "before"), sendEvents(t, sys, big, "before-2")
	touch(t, sys)
	calls := g.waitCalls(t, 2)
	calls = []*gatedCall{byType(t, calls, "before"), byType(t, calls, "before-2")}
	ea, eb := sendEvents(t, sys, big, "before"), sendEvents(t, sys, 1, "before")
	reset := send(t, sys, &ingestRequest{reset: true})
	ec, ed := sendEvents(t, sys, 3, "after"), sendEvents(t, sys, 1, "after")
	touch(t, sys)
	if n := g.started(); n != 2 {
		t.Fatalf("%d appends started with 2 in flight at most", n)
	}

	// A slot frees: the events before the reset go, not the reset.
	close(calls[0].release)
	if res := e1.answer(t, "e1's answer"); res.err != nil {
		t.Fatal(res.err)
	}
	calls = append(calls, g.waitCalls(t, 3)[2])
	if n := len(calls[2].recs); n != big+1 || calls[2].recs[0].Kind != event.KindEvent || calls[2].recs[n-1].Kind != event.KindEvent {
		t.Fatalf("third append: %d records, want the %d events sent before the reset", n, big+1)
	}
	close(calls[1].release)
	if res := e2.answer(t, "e2's answer"); res.err != nil {
		t.Fatal(res.err)
	}
	touch(t, sys)
	if n := g.started(); n != 3 {
		t.Fatalf("%d appends started while a group sent before the reset is in flight, want 3", n)
	}

	// The last group before it ends: the reset goes, alone.
	close(calls[2].release)
	for _, s := range []sent{ea, eb} {
		if res := s.answer(t, "an answer before the reset"); res.err != nil {
			t.Fatal(res.err)
		}
	}
	calls = append(calls, g.waitCalls(t, 4)[3])
	if len(calls[3].recs) != 1 || calls[3].recs[0].Kind != event.KindReset || calls[3].others != 0 {
		t.Fatalf("fourth append: %d records (first kind %v), %d others; want the reset alone", len(calls[3].recs), calls[3].recs[0].Kind, calls[3].others)
	}
	touch(t, sys)
	if n := groupGoroutines(); n != 1 || g.started() != 4 {
		t.Fatalf("%d groups in flight, %d appends started while the reset is in flight; want it alone", n, g.started())
	}
	close(calls[3].release)
	if res := reset.answer(t, "the reset's answer"); res.err != nil {
		t.Fatal(res.err)
	}
	calls = append(calls, g.waitCalls(t, 5)[4])
	if len(calls[4].recs) != 4 {
		t.Fatalf("fifth append: %d records, want the 4 events sent after the reset", len(calls[4].recs))
	}
	close(calls[4].release)
	for _, s := range []sent{ec, ed} {
		if res := s.answer(t, "an answer after the reset"); res.err != nil {
			t.Fatal(res.err)
		}
	}
	waitSnapshot(t, sys, "the 4 events sent after the reset", func(s *snapshots.Snapshot) bool {
		m := s.Metrics.EventsByType
		return total(s) == 4 && m["after"].Count == 4 && m["before"].Count == 0 && m["before-2"].Count == 0
	})
	g.check(t)
}

// TestClusterIngestKeyWaitsForItsGroup: a request whose Idempotency-Key
// is in a group in flight waits, with what is behind it, until that
// group is acknowledged; it is then answered from the first (same IDs,
// replayed, nothing appended again); the key's note is published only
// after every event of its request was acknowledged.
func TestClusterIngestKeyWaitsForItsGroup(t *testing.T) {
	cs, g := startGatedCluster(t, 3)
	sys := cs.sys
	key := testKey("k", "req")
	const big = ExtraGroupEvents // events enough for a group beside another
	first := send(t, sys, &ingestRequest{events: newEvents(big, "keyed"), key: &key})
	touch(t, sys)
	calls := g.waitCalls(t, 1)
	retry := send(t, sys, &ingestRequest{events: newEvents(big, "keyed"), key: &key})
	behind := sendEvents(t, sys, 1, "behind")
	touch(t, sys)
	if n := g.started(); n != 1 {
		t.Fatalf("%d appends started while the key's group is in flight, want 1", n)
	}
	close(calls[0].release)
	res := first.answer(t, "the first's answer")
	if res.err != nil || res.replayed {
		t.Fatalf("first: %+v", res)
	}
	calls = g.waitCalls(t, 2)
	if len(calls[1].recs) != 1 || calls[1].recs[0].Event.Type != "behind" {
		t.Fatalf("second append: %d records of %s, want the unkeyed request behind the retry alone", len(calls[1].recs), calls[1].recs[0].Event.Type)
	}
	close(calls[1].release)
	again := retry.answer(t, "the retry's answer")
	if again.err != nil || !again.replayed {
		t.Fatalf("retry: %+v, want replayed", again)
	}
	sameIDs(t, res.events, again.events)
	if r := behind.answer(t, "the answer of the request behind"); r.err != nil {
		t.Fatal(r.err)
	}
	g.mu.Lock()
	log := slices.Clone(g.log)
	g.mu.Unlock()
	acked, note := slices.Index(log, "acked 0"), slices.Index(log, "note key-"+res.events[0].ID.String())
	if acked < 0 || note < acked {
		t.Fatalf("publisher log %v: want the key's note after its events' acks", log)
	}
	if k, ok, err := cs.j.LookupIdempotency("k"); err != nil || !ok || k.IDs[0] != res.events[0].ID {
		t.Fatalf("key in the local journal: %+v %v %v", k, ok, err)
	}
	waitSnapshot(t, sys, "the first's events and the one behind", func(s *snapshots.Snapshot) bool { return total(s) == big+1 })
	g.check(t)
}

// TestClusterIngestRestartKeepsGroupsInFlight: the ingest actor fails
// while groups are in flight, on a request and then on a group's
// commitDone; the new incarnation starts no group beyond the ones still
// in flight, and every group in flight is answered once: no reply lost,
// none doubled.
func TestClusterIngestRestartKeepsGroupsInFlight(t *testing.T) {
	cs, g := startGatedCluster(t, 3)
	sys := cs.sys
	const big = ExtraGroupEvents // events enough for a group beside another
	held := []sent{sendEvents(t, sys, big, "held-1"), sendEvents(t, sys, big, "held-2"), sendEvents(t, sys, big, "held-3")}
	touch(t, sys)
	calls := g.waitCalls(t, 3)
	calls = []*gatedCall{byType(t, calls, "held-1"), byType(t, calls, "held-2"), byType(t, calls, "held-3")}
	waiting := sendEvents(t, sys, 1, "waiting")
	touch(t, sys)
	mustArm(t, sys, Fault{Actor: string(KindIngest), Fault: FaultPanic, Message: "ingestRequest"})
	failing := sendEvents(t, sys, 1, "failing")
	for _, s := range []sent{waiting, failing} {
		if res := s.answer(t, "a pending request's answer after the failure"); res.err == nil {
			t.Fatal("a request pending in the failed incarnation was answered 202")
		}
	}
	waitDecision(t, sys, "an ingest restart", func(e SupervisionEvent) bool {
		return e.Actor == string(KindIngest) && e.MsgType == "ingestRequest"
	})
	later := sendEvents(t, sys, 1, "later")
	touch(t, sys)
	if n := g.started(); n != 3 {
		t.Fatalf("%d appends started by the restarted actor with 3 in flight, want 3", n)
	}

	// It fails on the first commitDone too; the supervisor hands it back.
	mustArm(t, sys, Fault{Actor: string(KindIngest), Fault: FaultPanic, Message: "commitDone"})
	close(calls[0].release)
	if res := held[0].answer(t, "the first held group's answer"); res.err != nil {
		t.Fatal(res.err)
	}
	waitDecision(t, sys, "an ingest restart on commitDone", func(e SupervisionEvent) bool {
		return e.Actor == string(KindIngest) && e.MsgType == "commitDone"
	})
	if res := later.answer(t, "the answer of the request pending at the second failure"); res.err == nil {
		t.Fatal("a request pending in the failed incarnation was answered 202")
	}
	close(calls[1].release)
	close(calls[2].release)
	for i, s := range held[1:] {
		if res := s.answer(t, "a held group's answer"); res.err != nil || len(res.events) != big {
			t.Fatalf("held %d: %v, %d events", i+1, res.err, len(res.events))
		}
	}
	for i, s := range held {
		if len(s.r.reply) != 0 {
			t.Fatalf("held %d answered twice", i)
		}
	}
	g.openAll()
	mustIngest(t, sys, 4, "after")
	waitSnapshot(t, sys, "the held events and 4 after", func(s *snapshots.Snapshot) bool {
		m := s.Metrics.EventsByType
		return total(s) == 3*big+4 && m["held-1"].Count == big && m["held-2"].Count == big && m["held-3"].Count == big && m["after"].Count == 4
	})
	if most := g.mostInFlight(); most > 3 {
		t.Fatalf("%d appends in flight at once, want 3 at most", most)
	}
	testutil.Eventually(t, "admission released", func() bool { return sys.admission.pending.Load() == 0 })
	g.check(t)
}

// TestIngestOneGroupInFlightOnOneNode: a single node keeps one group in
// flight (its journal's group commit): with the journal paused, one
// append is held and the requests behind it wait in one group.
func TestIngestOneGroupInFlightOnOneNode(t *testing.T) {
	sys, j := startTestSystem(t, t.TempDir())
	mustArm(t, sys, Fault{Actor: TargetJournal, Fault: FaultPause})
	reqs := []sent{sendEvents(t, sys, 1, "a"), sendEvents(t, sys, 2, "b"), sendEvents(t, sys, 3, "c")}
	touch(t, sys)
	waitGoroutineIn(t, "the append held by the paused journal", "(*Faults).waitJournal")
	if n := groupGoroutines(); n != 1 {
		t.Fatalf("%d groups in flight on one node, want 1", n)
	}
	sys.Faults().Clear()
	for _, s := range reqs {
		if res := s.answer(t, "an answer"); res.err != nil {
			t.Fatal(res.err)
		}
	}
	waitSnapshot(t, sys, "6 events", func(s *snapshots.Snapshot) bool { return total(s) == 6 })
	if evs, _, err := j.List(0, 10, time.Time{}); err != nil || len(evs) != 6 {
		t.Fatalf("journal: %d events, %v", len(evs), err)
	}
}
