package test

// Real clients through the load balancer against the 3-node cluster of
// scripts/cluster.sh: the Node clients (stompjs + sockjs-client over every
// transport Node has, and the plain WebSocket), the Python ones, and the
// SockJS session stickiness the balancer's configuration promises. The
// browser's turn is test/browser (cluster.test.mjs).

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eventara/eventara/internal/testutil"
)

func TestClusterBalancerClients(t *testing.T) {
	requireNodeModules(t)
	requireDebianPython(t)
	c := startLBCluster(t)
	logs := func() string { return c.logs(30) }

	seed := `[
		{"eventType":"page_view","source":"web","userId":"u1","metadata":{"latency":120}},
		{"eventType":"page_view","source":"web","userId":"u2","metadata":{"latency":80}},
		{"eventType":"checkout","source":"api","userId":"u1","severity":"ERROR","metadata":{"latency":900}},
		{"eventType":"login","source":"auth","userId":"u3","severity":"WARNING"},
		{"eventType":"login","source":"auth","userId":"u3","severity":"CRITICAL","metadata":{"latency":"40"}}
	]`
	if code, body := postJSON(t, c.lb.url("/api/v1/events/batch"), seed); code != http.StatusAccepted {
		t.Fatalf("POST /api/v1/events/batch through the balancer: %d %v", code, body)
	}
	c.waitTotals(t, 5)
	apiShape := shapeOf(c.lb.metrics(t))

	t.Run("sockjs-sessions-sticky", func(t *testing.T) { checkStickySessions(t, c, 24) })
	// The Python SockJS client wants totalEvents 5 throughout: before the
	// snippet posts its 3.
	t.Run("python-sockjs", func(t *testing.T) { checkPythonSockJS(t, "http://"+c.lb.addr+"/ws", logs) })
	t.Run("clients", func(t *testing.T) {
		for _, tc := range stompClientCases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				runStompClient(t, "http://"+c.lb.addr, tc, apiShape, logs)
			})
		}
	})
	// Last: its events change the snapshot's shape the others compare with.
	t.Run("python-seed-snippet", func(t *testing.T) {
		checkSeedSnippet(t, "ws://"+c.lb.addr+"/ws", c.lb.url("/api/v1/events"), logs)
	})
}

// checkStickySessions opens n SockJS sessions over xhr-streaming through
// the balancer, all on one keep-alive client as a browser's, and sends
// STOMP CONNECT on each with xhr_send. The send must reach the node that
// holds the session's stream: another node answers 404 (no such session)
// and the CONNECTED never comes on the stream. With the streams open, the
// nodes' eventara_connections show the sessions spread over the nodes.
func checkStickySessions(t *testing.T, c *lbCluster, n int) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*testutil.Patience)
	defer cancel()
	client := &http.Client{}
	before := make([]float64, len(c.nodes))
	for i, s := range c.nodes {
		before[i], _ = s.promSum(t, "eventara_connections")
	}
	connect, _ := json.Marshal([]string{"CONNECT\naccept-version:1.2\nhost:localhost\nheart-beat:0,0\n\n\x00"})
	for i := range n {
		session := c.lb.url(fmt.Sprintf("/ws/%03d/%s", i%1000, randomHex(t, 8)))
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, session+"/xhr_streaming", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("session %d: xhr_streaming: %v", i, err)
		}
		defer resp.Body.Close()
		stream := bufio.NewReader(resp.Body)
		if line := readFrameLine(t, stream); line != "o" {
			t.Fatalf("session %d: xhr_streaming opened with %q, want o", i, line)
		}
		code, body := do(t, http.MethodPost, session+"/xhr_send", "text/plain", connect)
		if code != http.StatusNoContent {
			t.Fatalf("session %d: xhr_send reached a node without the session: %d %s", i, code, body)
		}
		if line := readFrameLine(t, stream); !strings.HasPrefix(line, `a["CONNECTED`) {
			t.Fatalf("session %d: after CONNECT the stream said %q", i, line)
		}
	}
	var spread []float64
	held := 0
	for i, s := range c.nodes {
		now, _ := s.promSum(t, "eventara_connections")
		spread = append(spread, now-before[i])
		if now > before[i] {
			held++
		}
	}
	t.Logf("%d sessions through the balancer, per node: %v", n, spread)
	if held < 2 {
		t.Errorf("the balancer put all %d sessions on one node (per node: %v): it does not spread them", n, spread)
	}
}

// readFrameLine reads the next SockJS frame of an xhr_streaming body,
// past the prelude of h's.
func readFrameLine(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	for {
		line, err := r.ReadString('\n')
		if err != nil && err != io.EOF {
			t.Fatalf("xhr_streaming: %v", err)
		}
		line = strings.TrimSuffix(line, "\n")
		if strings.Trim(line, "h") == "" && line != "" && err == nil {
			continue // the prelude (2048 h's) or a heart-beat
		}
		if err == io.EOF && line == "" {
			t.Fatalf("xhr_streaming ended early")
		}
		return line
	}
}

func randomHex(t testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// TestClusterLeaderKill is TestClusterThreeNodes with the stream leader as
// the victim, on scripts/cluster.sh's cluster: concurrent ingest through
// the balancer and the nodes while the leader is SIGKILLed, an election
// runs and `scripts/cluster.sh up` restarts that node alone. Afterwards
// every 202'd id is readable from every node, totalEvents is the same on
// every node and between acknowledged and sent, and every tick two nodes
// both pushed has the same STOMP body on both (the restarted node's
// included).
func TestClusterLeaderKill(t *testing.T) {
	c := startLBCluster(t)
	leader := c.leader(0)
	var survivors []*server
	for i, s := range c.nodes {
		if i != leader {
			survivors = append(survivors, s)
		}
	}
	pidsBefore := []int{c.pid(0), c.pid(1), c.pid(2)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logA, logB := subscribe(t, ctx, survivors[0]), subscribe(t, ctx, survivors[1])

	in := &ingester{}
	var targets atomic.Pointer[[]*server]
	all := append([]*server{c.lb}, c.nodes...)
	targets.Store(&all)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; ; i += 4 {
				select {
				case <-stop:
					return
				default:
				}
				ts := *targets.Load()
				in.post(t, ts[i%len(ts)], i)
			}
		}()
	}
	ackedNow := func() int {
		in.mu.Lock()
		defer in.mu.Unlock()
		return len(in.acked)
	}
	grows := func(what string, by int) {
		t.Helper()
		from := ackedNow()
		testutil.WaitFor(t, 2*testutil.Patience, what, func() error {
			if n := ackedNow(); n < from+by {
				return fmt.Errorf("%d acknowledged since, want %d", n-from, by)
			}
			return nil
		})
	}
	grows("events acknowledged before the kill", 30)

	alive := append([]*server{c.lb}, survivors...)
	targets.Store(&alive)
	killed := time.Now()
	c.kill(leader)
	grows("events acknowledged after the leader's death", 30)
	t.Logf("ingest resumed %s after the leader's SIGKILL", time.Since(killed).Round(time.Millisecond))
	// A survivor learns the new leader from the stream's state, which it
	// asks for once a second: wait for it rather than read it once.
	testutil.WaitFor(t, testutil.Patience, "a survivor to name a new leader", func() error {
		if now := c.leader(survivorIndex(c, survivors[0])); now == leader {
			return fmt.Errorf("node%d, SIGKILLed, is still the leader", leader+1)
		}
		return nil
	})

	took := c.up()
	t.Logf("scripts/cluster.sh up restarted node%d in %s", leader+1, took.Round(time.Millisecond))
	for i, p := range pidsBefore {
		if now := c.pid(i); i != leader && now != p {
			t.Errorf("cluster.sh up restarted node%d too (pid %d, was %d)", i+1, now, p)
		} else if i == leader && now == p {
			t.Errorf("cluster.sh up did not restart node%d", i+1)
		}
	}
	logC := subscribe(t, ctx, c.nodes[leader])
	targets.Store(&all)
	grows("events acknowledged with all three back", 30)
	close(stop)
	wg.Wait()

	in.mu.Lock()
	acked := append([]string(nil), in.acked...)
	in.mu.Unlock()
	sent := in.sent.Load()
	t.Logf("sent %d, acknowledged %d, other answers %d", sent, len(acked), in.other.Load())
	var total float64
	testutil.WaitFor(t, 2*testutil.Patience, "the same totalEvents on every node", func() error {
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
	testutil.WaitFor(t, testutil.Patience, "ticks pushed by both survivors and by the restarted node", func() error {
		if n := compareTicks(t, logA, logB); n < 5 {
			return fmt.Errorf("%d ticks in common between the survivors", n)
		}
		if n := compareTicks(t, logA, logC); n < 3 {
			return fmt.Errorf("%d ticks in common between a survivor and the restarted node", n)
		}
		return nil
	})
}

// survivorIndex is s's index among c's nodes.
func survivorIndex(c *lbCluster, s *server) int {
	for i, n := range c.nodes {
		if n == s {
			return i
		}
	}
	return -1
}
