package test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/eventara/eventara/internal/testutil"
)

// clusterOf is n eventara processes in cluster mode on loopback.
type clusterOf struct {
	t     *testing.T
	nodes []*server
}

// startCluster starts n nodes at once (a node waits for a quorum of its
// peers before it serves HTTP) and waits until every one is healthy.
func startCluster(t *testing.T, n int, extra ...string) *clusterOf {
	t.Helper()
	routes := make([]string, n)
	for i := range routes {
		routes[i] = freePort(t)
	}
	c := &clusterOf{t: t}
	for i := range n {
		args := append([]string{"--node-name", fmt.Sprintf("n%d", i+1), "--cluster-listen", routes[i],
			"--cluster-peers", strings.Join(routes, ","), "--checkpoint-interval", "2s"}, extra...)
		s := &server{t: t, dataDir: t.TempDir(), args: args, scheme: "http", client: healthClient}
		c.nodes = append(c.nodes, s)
		t.Cleanup(func() { s.stop() })
	}
	var wg sync.WaitGroup
	for _, s := range c.nodes {
		s.addr = freePort(t)
		s.launch()
	}
	for _, s := range c.nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.waitHealthy(t)
		}()
	}
	wg.Wait()
	return c
}

// launch starts the process at s.addr without waiting for it.
func (s *server) launch() {
	s.t.Helper()
	args := append([]string{"--addr", s.addr, "--data-dir", s.dataDir, "--log-level", "info"}, s.args...)
	s.cmd = exec.Command(testutil.Binary(), args...)
	s.logs = &syncBuffer{}
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("start eventara: %v", err)
	}
	s.exited = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) {
		s.exitErr = cmd.Wait()
		close(done)
	}(s.cmd, s.exited)
}

// waitHealthy polls health until it answers 200 (UP).
func (s *server) waitHealthy(t testing.TB) {
	testutil.WaitFor(t, 2*testutil.Patience, "cluster node "+s.addr+" healthy", func() error {
		select {
		case <-s.exited:
			return fmt.Errorf("exited early: %v\n%s", s.exitErr, s.logs)
		default:
		}
		resp, err := s.client.Get(s.url("/api/v1/events/health"))
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("health %d", resp.StatusCode)
		}
		return nil
	})
}

// health returns the node's health answer.
func (s *server) health(t testing.TB) (int, map[string]any) {
	return getJSON(t, s.url("/api/v1/events/health"))
}

// tickLog records, per STOMP timestamp header, the body a node pushed.
type tickLog struct {
	mu    sync.Mutex
	ticks map[string]string
	err   error
}

// subscribe opens a plain WebSocket STOMP client on s and records every
// MESSAGE until ctx ends.
func subscribe(t *testing.T, ctx context.Context, s *server) *tickLog {
	t.Helper()
	l := &tickLog{ticks: map[string]string{}}
	c, _, err := websocket.Dial(ctx, "ws://"+s.addr+"/ws", &websocket.DialOptions{Subprotocols: []string{"v12.stomp"}})
	if err != nil {
		t.Fatalf("dial %s: %v", s.addr, err)
	}
	c.SetReadLimit(4 << 20)
	for _, f := range []string{stompFrame("CONNECT", "accept-version", "1.2", "host", "localhost", "heart-beat", "0,0"),
		stompFrame("SUBSCRIBE", "id", "sub-0", "destination", "/topic/metrics")} {
		if err := c.Write(ctx, websocket.MessageText, []byte(f)); err != nil {
			t.Fatalf("write: %v", err)
		}
	}
	go func() {
		defer c.CloseNow()
		for {
			_, b, err := c.Read(ctx)
			if err != nil {
				if ctx.Err() == nil {
					l.fail(err)
				}
				return
			}
			frames, err := parseStompFrames(b)
			if err != nil {
				l.fail(err)
				return
			}
			for _, f := range frames {
				if f.command == "MESSAGE" {
					l.mu.Lock()
					l.ticks[f.headers["timestamp"]] = string(f.body)
					l.mu.Unlock()
				}
			}
		}
	}()
	return l
}

func (l *tickLog) fail(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == nil {
		l.err = err
	}
}

// compareTicks checks that every tick both logs have carries the same
// body, and returns how many they share.
func compareTicks(t *testing.T, a, b *tickLog) int {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	b.mu.Lock()
	defer b.mu.Unlock()
	if a.err != nil || b.err != nil {
		t.Fatalf("subscriber failed: %v / %v", a.err, b.err)
	}
	common := 0
	for ts, body := range a.ticks {
		other, ok := b.ticks[ts]
		if !ok {
			continue
		}
		common++
		if other != body {
			t.Errorf("tick %s: the nodes pushed different bodies:\n%s\n%s", ts, body, other)
		}
	}
	return common
}

// ingester posts events round-robin over the live nodes and records the
// ids answered 202.
type ingester struct {
	mu    sync.Mutex
	acked []string
	sent  atomic.Int64
	other atomic.Int64 // answers neither 202 nor a refused connection
}

func (in *ingester) post(t *testing.T, s *server, i int) {
	client := &http.Client{Timeout: 15 * time.Second}
	var body string
	batch := i%5 == 0
	if batch {
		body = fmt.Sprintf(`[{"eventType":"batch","source":"n","userId":"u%d"},{"eventType":"batch","source":"n","userId":"u%d"},{"eventType":"batch2","source":"m"}]`, i%7, i%11)
	} else {
		body = fmt.Sprintf(`{"eventType":"single%d","source":"s%d","userId":"u%d","severity":"ERROR"}`, i%4, i%3, i%13)
	}
	path := "/api/v1/events"
	n := int64(1)
	if batch {
		path, n = "/api/v1/events/batch", 3
	}
	in.sent.Add(n)
	resp, err := client.Post(s.url(path), "application/json", strings.NewReader(body))
	if err != nil {
		return // the node is down: not stored, or stored and unknown; sent counts it
	}
	defer resp.Body.Close()
	var got struct {
		EventID  string   `json:"eventId"`
		EventIDs []string `json:"eventIds"`
	}
	if resp.StatusCode != http.StatusAccepted || json.NewDecoder(resp.Body).Decode(&got) != nil {
		in.other.Add(1)
		return
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if batch {
		in.acked = append(in.acked, got.EventIDs...)
	} else {
		in.acked = append(in.acked, got.EventID)
	}
}

// TestClusterThreeNodes starts 3 real nodes in cluster mode, ingests
// through all three while a follower is SIGKILLed and restarted, and
// checks: every 202'd id readable from every node, totalEvents equal on
// every node and between acknowledged and sent, identical STOMP bodies for
// the ticks two nodes both pushed. Then it stops 2 of 3: the survivor
// answers 503 with Retry-After within a bounded time and says why in
// health, serves reads, and takes events again when a peer returns.
func TestClusterThreeNodes(t *testing.T) {
	c := startCluster(t, 3)
	_, h := c.nodes[0].health(t)
	leader, _ := path(h, "cluster.leader").(string)
	victim := -1
	for i := range c.nodes {
		if fmt.Sprintf("n%d", i+1) != leader {
			victim = i
			break
		}
	}
	var watched []*server
	for i, s := range c.nodes {
		if i != victim {
			watched = append(watched, s)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logA, logB := subscribe(t, ctx, watched[0]), subscribe(t, ctx, watched[1])

	in := &ingester{}
	var down atomic.Bool
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; ; i += 3 {
				select {
				case <-stop:
					return
				default:
				}
				node := i % 3
				if node == victim && down.Load() {
					node = (node + 1) % 3
				}
				in.post(t, c.nodes[node], i)
			}
		}()
	}
	time.Sleep(2 * time.Second) // load phase: events flow before the kill
	down.Store(true)
	c.nodes[victim].kill()
	time.Sleep(2 * time.Second) // load phase: the other two go on alone
	c.nodes[victim].startAt(c.nodes[victim].addr)
	down.Store(false)
	time.Sleep(2 * time.Second) // load phase: all three again
	close(stop)
	wg.Wait()

	in.mu.Lock()
	acked := append([]string(nil), in.acked...)
	in.mu.Unlock()
	sent := in.sent.Load()
	if len(acked) < 30 {
		t.Fatalf("only %d events acknowledged of %d sent; other answers: %d", len(acked), sent, in.other.Load())
	}
	t.Logf("sent %d, acknowledged %d, other answers %d", sent, len(acked), in.other.Load())

	var total float64
	testutil.WaitFor(t, testutil.Patience, "the same totalEvents on every node", func() error {
		var got []float64
		for _, s := range c.nodes {
			_, m := getJSON(t, s.url("/api/v1/metrics"))
			v, _ := path(m, "summary.totalEvents").(float64)
			got = append(got, v)
		}
		if got[0] != got[1] || got[1] != got[2] || got[0] < float64(len(acked)) {
			return fmt.Errorf("totalEvents %v, acknowledged %d", got, len(acked))
		}
		total = got[0]
		return nil
	})
	if total > float64(sent) {
		t.Fatalf("totalEvents %v > sent %d: something counted twice", total, sent)
	}
	for _, s := range c.nodes {
		for _, id := range acked {
			testutil.WaitFor(t, testutil.Patience, "event "+id+" on "+s.addr, func() error {
				if code, _ := getJSON(t, s.url("/api/v1/events/"+id)); code != 200 {
					return fmt.Errorf("GET %s: %d", id, code)
				}
				return nil
			})
		}
	}
	// Ticks both watched nodes pushed: at least a few while the load ran.
	testutil.WaitFor(t, testutil.Patience, "ticks pushed by both nodes", func() error {
		if n := compareTicks(t, logA, logB); n < 5 {
			return fmt.Errorf("%d ticks in common", n)
		}
		return nil
	})
	cancel()

	// Quorum lost: stop 2 of 3.
	survivor := c.nodes[0]
	for _, s := range c.nodes[1:] {
		if err := s.stop(); err != nil {
			t.Fatalf("stop: %v\n%s", err, s.logs)
		}
	}
	client := &http.Client{Timeout: 30 * time.Second}
	start := time.Now()
	resp, err := client.Post(survivor.url("/api/v1/events"), "application/json", strings.NewReader(`{"eventType":"lonely","source":"s"}`))
	if err != nil {
		t.Fatal(err)
	}
	var refused map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&refused)
	resp.Body.Close()
	took := time.Since(start)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" ||
		!strings.Contains(fmt.Sprint(refused["message"]), "quorum") {
		t.Fatalf("without a quorum: %d Retry-After %q %v", resp.StatusCode, resp.Header.Get("Retry-After"), refused)
	}
	if took > 15*time.Second {
		t.Fatalf("the 503 took %s", took)
	}
	testutil.WaitFor(t, testutil.Patience, "health says no quorum", func() error {
		code, h := survivor.health(t)
		if code != http.StatusServiceUnavailable || !strings.Contains(fmt.Sprint(h["reason"]), "quorum") {
			return fmt.Errorf("health %d %v", code, h["reason"])
		}
		return nil
	})
	if code, m := getJSON(t, survivor.url("/api/v1/metrics")); code != 200 || path(m, "summary.totalEvents") != total {
		t.Fatalf("reads without a quorum: %d %v, want totalEvents %v", code, path(m, "summary.totalEvents"), total)
	}
	// A peer returns: ingestion resumes by itself.
	c.nodes[1].launch()
	testutil.WaitFor(t, 2*testutil.Patience, "ingestion resumes", func() error {
		code, _ := postJSON(t, survivor.url("/api/v1/events"), `{"eventType":"back","source":"s"}`)
		if code != http.StatusAccepted {
			return errors.New("status " + strconv.Itoa(code))
		}
		return nil
	})
}
