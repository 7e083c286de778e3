package test

// Live push seen through real clients: sockjs-client + @stomp/stompjs over
// each SockJS transport and @stomp/stompjs over the plain WebSocket, run
// under Node by test/js/stomp-client.mjs (see its header for the run it
// makes). The Python, wscat, slow-consumer and /ws/info checks are in the
// other push_*_test.go files.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// jsDir holds the Node clients and their pinned node_modules.
const jsDir = "js"

// requireNodeModules fails (never skips) the test when the Node clients
// cannot run: a missing node_modules is a broken setup, not an excuse.
func requireNodeModules(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("node is not on PATH (Node 20 is needed for the real-client tests): %v", err)
	}
	for _, pkg := range []string{"@stomp/stompjs", "sockjs-client", "ws", "wscat"} {
		if _, err := os.Stat(filepath.Join(jsDir, "node_modules", pkg, "package.json")); err != nil {
			t.Fatalf("test/js/node_modules/%s is missing: run `make test-deps` (npm ci in test/js) first", pkg)
		}
	}
}

// runNode runs a script in test/js and returns its stdout; stderr and a
// non-zero exit are left to the caller to judge (the scripts report
// failures in their JSON).
func runNode(t testing.TB, timeout time.Duration, args ...string) (stdout []byte, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", args...)
	cmd.Dir = jsDir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.Bytes(), errb.String(), err
}

// stompRun is what stomp-client.mjs prints.
type stompRun struct {
	Transport string `json:"transport"`
	URL       string `json:"url"`
	Start     int64  `json:"start"`
	OK        bool   `json:"ok"`
	Error     string `json:"error"`
	Probe     *struct {
		At int64 `json:"at"`
	} `json:"probe"`
	Clients []stompClientRun `json:"clients"`
}

type stompClientRun struct {
	Name      string `json:"name"`
	Connects  int    `json:"connects"`
	Connected *struct {
		At      int64             `json:"at"`
		Headers map[string]string `json:"headers"`
	} `json:"connected"`
	Subprotocol     string  `json:"subprotocol"`
	SockJSTransport string  `json:"sockjsTransport"`
	SubscribedAt    int64   `json:"subscribedAt"`
	Publishes       []int64 `json:"publishes"`
	Messages        []struct {
		At         int64             `json:"at"`
		Headers    map[string]string `json:"headers"`
		BodyLength int               `json:"bodyLength"`
		JSON       bool              `json:"json"`
		Body       *string           `json:"body"`
	} `json:"messages"`
	Receipt *struct {
		At      int64             `json:"at"`
		Command string            `json:"command"`
		Headers map[string]string `json:"headers"`
	} `json:"receipt"`
	StompErrors []json.RawMessage `json:"stompErrors"`
	WSErrors    []json.RawMessage `json:"wsErrors"`
	Closes      []json.RawMessage `json:"closes"`
	Frames      []string          `json:"frames"`
}

// seedEvents posts a few events of every kind so that snapshots have
// non-empty maps and lists to compare shapes with, and waits for them.
func seedEvents(t testing.TB, s *server) {
	t.Helper()
	batch := `[
		{"eventType":"page_view","source":"web","userId":"u1","metadata":{"latency":120}},
		{"eventType":"page_view","source":"web","userId":"u2","metadata":{"latency":80}},
		{"eventType":"checkout","source":"api","userId":"u1","severity":"ERROR","metadata":{"latency":900}},
		{"eventType":"login","source":"auth","userId":"u3","severity":"WARNING"},
		{"eventType":"login","source":"auth","userId":"u3","severity":"CRITICAL","metadata":{"latency":"40"}}
	]`
	code, body := do(t, http.MethodPost, s.url("/api/v1/events/batch"), "application/json", []byte(batch))
	if code/100 != 2 {
		t.Fatalf("POST /api/v1/events/batch: %d %s", code, body)
	}
	s.waitTotal(t, 5)
}

// shapeOf reduces a JSON value to its shape: objects keep their keys, lists
// the shape of their first element, scalars become "_".
func shapeOf(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[k] = shapeOf(e)
		}
		return m
	case []any:
		if len(v) == 0 {
			return []any{}
		}
		return []any{shapeOf(v[0])}
	default:
		return "_"
	}
}

// shapeDiff lists where two shapes differ; an empty list matches any list.
func shapeDiff(at string, got, want any) []string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: got %T, want an object", at, got)}
		}
		var diffs []string
		for k := range w {
			if _, ok := g[k]; !ok {
				diffs = append(diffs, fmt.Sprintf("%s.%s: missing", at, k))
			}
		}
		for k := range g {
			if _, ok := w[k]; !ok {
				diffs = append(diffs, fmt.Sprintf("%s.%s: not in GET /api/v1/metrics", at, k))
				continue
			}
			diffs = append(diffs, shapeDiff(at+"."+k, g[k], w[k])...)
		}
		sort.Strings(diffs)
		return diffs
	case []any:
		g, ok := got.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: got %T, want a list", at, got)}
		}
		if len(w) == 0 || len(g) == 0 {
			return nil
		}
		return shapeDiff(at+"[0]", g[0], w[0])
	default:
		if _, isObj := got.(map[string]any); isObj {
			return []string{fmt.Sprintf("%s: got an object, want a scalar", at)}
		}
		if _, isList := got.([]any); isList {
			return []string{fmt.Sprintf("%s: got a list, want a scalar", at)}
		}
		return nil
	}
}

// checkSnapshotBody validates one pushed snapshot against the schema and
// against the shape of GET /api/v1/metrics.
func checkSnapshotBody(t testing.TB, what string, body []byte, apiShape any) {
	t.Helper()
	validateSnapshot(t, body)
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("%s: body is not JSON: %v", what, err)
	}
	if d := shapeDiff("$", shapeOf(v), apiShape); len(d) > 0 {
		t.Errorf("%s: body differs in shape from GET /api/v1/metrics:\n  %s", what, strings.Join(d, "\n  "))
	}
}

// checkHeartBeat wants CONNECTED's heart-beat "sx,sy" with both > 0: the
// server sends heart-beats and expects them (the clients ask 4000,4000).
func checkHeartBeat(t testing.TB, who string, headers map[string]string) {
	t.Helper()
	hb, ok := headers["heart-beat"]
	if !ok {
		t.Errorf("%s: CONNECTED has no heart-beat header: %v", who, headers)
		return
	}
	parts := strings.Split(hb, ",")
	if len(parts) != 2 {
		t.Errorf("%s: CONNECTED heart-beat %q is not sx,sy", who, hb)
		return
	}
	for i, p := range parts {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n <= 0 {
			t.Errorf("%s: CONNECTED heart-beat %q: value %d is not > 0 (the clients offered 4000,4000)", who, hb, i)
		}
	}
}

const (
	firstMessageWithin = 1500 * time.Millisecond
	tickMin            = 600 * time.Millisecond
	tickMax            = 1600 * time.Millisecond
	// answerWithin is how soon a requested snapshot (SUBSCRIBE or a SEND to
	// /app/subscribe) must arrive, and the window in which the other client
	// must see nothing.
	answerWithin = 300 * time.Millisecond
)

// checkStompRun judges one stomp-client.mjs run.
func checkStompRun(t *testing.T, run *stompRun, apiShape any) {
	t.Helper()
	if run.Error != "" {
		t.Errorf("client run: %s", run.Error)
	}
	if len(run.Clients) != 2 {
		t.Fatalf("want 2 clients in the run, got %d", len(run.Clients))
	}
	ms := func(d time.Duration) int64 { return d.Milliseconds() }
	for _, c := range run.Clients {
		who := "client " + c.Name
		if c.Connected == nil {
			t.Errorf("%s: never CONNECTED; errors %s %s; closes %s", who, c.StompErrors, c.WSErrors, c.Closes)
			continue
		}
		if c.Connects != 1 {
			t.Errorf("%s: connected %d times (reconnects mean the server dropped it): closes %s", who, c.Connects, c.Closes)
		}
		if len(c.StompErrors) > 0 {
			t.Errorf("%s: STOMP ERROR frames: %s", who, c.StompErrors)
		}
		if v := c.Connected.Headers["version"]; v != "1.0" && v != "1.1" && v != "1.2" {
			t.Errorf("%s: CONNECTED version = %q", who, v)
		}
		checkHeartBeat(t, who, c.Connected.Headers)
		if strings.HasPrefix(run.Transport, "plain-") {
			if p := c.Subprotocol; p != "v10.stomp" && p != "v11.stomp" && p != "v12.stomp" {
				t.Errorf("%s: WebSocket subprotocol = %q, want one of v1x.stomp", who, p)
			}
		} else if want := strings.Replace(run.Transport, "default", "websocket", 1); c.SockJSTransport != want {
			t.Errorf("%s: SockJS used transport %q, want %q", who, c.SockJSTransport, want)
		}
		if len(c.Messages) == 0 {
			t.Errorf("%s: no MESSAGE at all", who)
			continue
		}
		if d := c.Messages[0].At - c.SubscribedAt; d > ms(firstMessageWithin) {
			t.Errorf("%s: first MESSAGE %d ms after SUBSCRIBE, want ≤ %d", who, d, ms(firstMessageWithin))
		}
		// Each scheduled tick brings a snapshot with a new timestamp header;
		// a repeated timestamp is an answer to this client's own request.
		requests := append([]int64{c.SubscribedAt}, c.Publishes...)
		firstSeen := map[string]int64{}
		var ticks []int64
		for i, m := range c.Messages {
			what := fmt.Sprintf("%s: MESSAGE %d", who, i)
			if m.Headers["destination"] != "/topic/metrics" {
				t.Errorf("%s: destination = %q", what, m.Headers["destination"])
			}
			if m.Headers["subscription"] == "" || m.Headers["message-id"] == "" {
				t.Errorf("%s: no subscription or message-id header: %v", what, m.Headers)
			}
			if !m.JSON {
				t.Errorf("%s: body is not JSON", what)
			}
			if m.Body != nil {
				checkSnapshotBody(t, what, []byte(*m.Body), apiShape)
			}
			tsh, ok := m.Headers["timestamp"]
			if !ok {
				t.Errorf("%s: no timestamp header: %v", what, m.Headers)
				continue
			}
			ts, err := strconv.ParseInt(tsh, 10, 64)
			if err != nil {
				t.Errorf("%s: timestamp header %q is not Unix milliseconds", what, tsh)
				continue
			}
			if age := m.At - ts; age < -100 || age > 2500 {
				t.Errorf("%s: timestamp %d is %d ms from its arrival; want the snapshot's build time", what, ts, age)
			}
			if _, seen := firstSeen[tsh]; !seen {
				firstSeen[tsh] = m.At
				ticks = append(ticks, m.At)
				continue
			}
			answered := false
			for _, r := range requests {
				if m.At >= r && m.At-r <= ms(answerWithin) {
					answered = true
				}
			}
			if !answered {
				t.Errorf("%s at +%d ms repeats snapshot %s but this client asked for nothing just before (requests at %v)",
					what, m.At-run.Start, tsh, rel(requests, run.Start))
			}
		}
		// The first snapshot answers the SUBSCRIBE; the scheduled ones follow
		// it, the first within a tick of subscribing, then a second apart.
		if len(ticks) < 4 {
			t.Errorf("%s: only %d distinct snapshots in the run (arrivals %v)", who, len(ticks), rel(ticks, run.Start))
		} else if d := ticks[1] - c.SubscribedAt; d > ms(tickMax) {
			t.Errorf("%s: first scheduled snapshot %d ms after SUBSCRIBE, want ≤ %d", who, d, ms(tickMax))
		}
		for i := 2; i < len(ticks); i++ {
			if gap := ticks[i] - ticks[i-1]; gap < ms(tickMin) || gap > ms(tickMax) {
				t.Errorf("%s: snapshots %d and %d arrived %d ms apart, want %d–%d (arrivals %v)",
					who, i-1, i, gap, ms(tickMin), ms(tickMax), rel(ticks, run.Start))
			}
		}
		if c.Receipt == nil {
			t.Errorf("%s: no RECEIPT for DISCONNECT; closes %s", who, c.Closes)
		} else if c.Receipt.Command != "RECEIPT" || c.Receipt.Headers["receipt-id"] == "" {
			t.Errorf("%s: DISCONNECT answered with %s %v", who, c.Receipt.Command, c.Receipt.Headers)
		}
	}
	// /app/subscribe answers only the sender: A asked at probe.At, B must
	// see nothing then.
	if run.Probe == nil {
		t.Errorf("the run never reached the /app/subscribe probe")
		return
	}
	a, b := run.Clients[0], run.Clients[1]
	inWindow := func(c stompClientRun) (n int) {
		for _, m := range c.Messages {
			if m.At >= run.Probe.At && m.At-run.Probe.At <= ms(answerWithin) {
				n++
			}
		}
		return n
	}
	if n := inWindow(a); n != 1 {
		t.Errorf("/app/subscribe from A: A got %d MESSAGEs within %s, want 1", n, answerWithin)
	}
	if n := inWindow(b); n != 0 {
		t.Errorf("/app/subscribe from A: B got %d MESSAGEs within %s, want 0 (the answer goes to the sender only)", n, answerWithin)
	}
}

// rel makes epoch-millisecond times relative to the run's start.
func rel(ts []int64, start int64) []int64 {
	out := make([]int64, len(ts))
	for i, v := range ts {
		out[i] = v - start
	}
	return out
}

func TestPushStompClients(t *testing.T) {
	t.Parallel()
	requireNodeModules(t)
	s := startServer(t)
	seedEvents(t, s)
	apiShape := shapeOf(s.metrics(t))

	cases := []struct {
		name      string
		transport string
		path      string
	}{
		{"sockjs-default", "default", "/ws"},
		{"sockjs-websocket", "websocket", "/ws"},
		{"sockjs-xhr-streaming", "xhr-streaming", "/ws"},
		{"sockjs-xhr-polling", "xhr-polling", "/ws"},
		{"sockjs-eventsource", "eventsource", "/ws"},
		{"plain-factory-ws", "plain-factory", "/ws"},
		{"plain-broker-ws", "plain-broker", "/ws"},
		{"plain-broker-ws-websocket", "plain-broker", "/ws/websocket"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, stderr, err := runNode(t, 40*time.Second, "stomp-client.mjs",
				"--url", "http://"+s.addr, "--transport", tc.transport, "--path", tc.path)
			var run stompRun
			if jerr := json.Unmarshal(bytes.TrimSpace(out), &run); jerr != nil {
				t.Fatalf("stomp-client.mjs: %v; output not JSON (%v): %q\nstderr: %s\nserver log:\n%s", err, jerr, out, stderr, tail(s.logs.String(), 40))
			}
			checkStompRun(t, &run, apiShape)
			if t.Failed() {
				for _, c := range run.Clients {
					t.Logf("client %s frames:\n  %s", c.Name, strings.Join(c.Frames, "\n  "))
				}
				t.Logf("stderr: %s\nserver log (tail):\n%s", stderr, tail(s.logs.String(), 40))
			}
		})
	}
}

// tail returns the last n lines of a log.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
