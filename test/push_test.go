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
	"os/exec"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/eventara/eventara/internal/testutil"
)

// jsDir holds the Node clients and their pinned node_modules.
const jsDir = "js"

// requireNodeModules fails (never skips) the test when the Node clients
// cannot run: a missing node_modules is a broken setup, not an excuse.
func requireNodeModules(t testing.TB) {
	t.Helper()
	testutil.RequireNode(t)
	testutil.RequireNodeModules(t, jsDir, "test/js", "@stomp/stompjs", "sockjs-client", "ws", "wscat")
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

// The judgement of a run goes by what arrived and in what order, and by the
// server's own timestamps, not by how soon things arrived at the client: a
// busy machine delays the Node client at any moment. The few bounds on
// arrival times are far beyond an idle machine's figures (tens of ms) and
// only tell "late" from "never".
const (
	// tick is the server's snapshot interval.
	tick = time.Second
	// messageSoon bounds the first MESSAGE after SUBSCRIBE (the current
	// snapshot, sent at once) and how old a snapshot may be on arrival.
	messageSoon = 10 * time.Second
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
	sched := make([][]int64, len(run.Clients))
	for ci, c := range run.Clients {
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
		if d := c.Messages[0].At - c.SubscribedAt; d > ms(messageSoon) {
			t.Errorf("%s: first MESSAGE %d ms after SUBSCRIBE, want ≤ %d", who, d, ms(messageSoon))
		}
		// Each tick brings a snapshot with a new timestamp header (the
		// server's build time); a repeated timestamp answers a request of
		// this client's: SUBSCRIBE and each /app/subscribe get the current
		// snapshot, every tick a new one.
		var distinct []int64
		seen := map[string]bool{}
		repeats, repeatsAfterProbe := 0, 0
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
			// Built before it arrived (one clock, ms rounding aside), and not
			// long before: the snapshot's build time, not another instant.
			if age := m.At - ts; age < -100 || age > ms(messageSoon) {
				t.Errorf("%s: timestamp %d is %d ms from its arrival; want the snapshot's build time", what, ts, age)
			}
			if !seen[tsh] {
				seen[tsh] = true
				distinct = append(distinct, ts)
				continue
			}
			repeats++
			if run.Probe != nil && m.At >= run.Probe.At {
				repeatsAfterProbe++
			}
		}
		// A correct server repeats a snapshot at most once per request
		// beyond the first (the SUBSCRIBE's answer is a snapshot built before
		// the subscription, never delivered to it again by a tick).
		if repeats > len(c.Publishes) {
			t.Errorf("%s: %d MESSAGEs repeat a snapshot, but this client asked only %d times (at %v): it got snapshots it did not ask for",
				who, repeats, len(c.Publishes), rel(c.Publishes, run.Start))
		}
		if ci == 0 && run.Probe != nil && repeatsAfterProbe == 0 {
			t.Errorf("%s: no answer to its /app/subscribe at +%d ms (no snapshot repeated after it)", who, run.Probe.At-run.Start)
		}
		if len(distinct) < 5 {
			t.Errorf("%s: only %d distinct snapshots in the run, want 5", who, len(distinct))
			continue
		}
		// The scheduled snapshots come one a tick, in build order: as many
		// as the seconds they span, give or take one (a tick read late by a
		// busy server shortens one gap and lengthens the next). Judged from
		// the third snapshot on: the first is the SUBSCRIBE's answer, and
		// around the subscription an /app/subscribe answer may bring one
		// more from before it.
		sorted := slices.Sorted(slices.Values(distinct))
		s := sorted[2:]
		if arrived := slices.DeleteFunc(slices.Clone(distinct), func(v int64) bool { return v < s[0] }); !slices.Equal(arrived, s) {
			t.Errorf("%s: snapshots arrived out of build order: %v", who, rel(arrived, s[0]))
		}
		span := float64(s[len(s)-1]-s[0]) / float64(ms(tick))
		if n := float64(len(s) - 1); n > span+1 || n < span-1 {
			t.Errorf("%s: %d scheduled snapshots over %.1f s (built at %v): want one a second", who, len(s), span, rel(s, s[0]))
		}
		sched[ci] = s
	}
	// Both clients subscribe to one topic: where their runs overlap, each
	// got every tick the other got, so none was dropped for one of them.
	if a, b := sched[0], sched[1]; len(a) > 0 && len(b) > 0 {
		from, to := max(a[0], b[0]), min(a[len(a)-1], b[len(b)-1])
		in := func(ts []int64) []int64 {
			var out []int64
			for _, v := range ts {
				if v >= from && v <= to {
					out = append(out, v)
				}
			}
			return out
		}
		if ia, ib := in(a), in(b); !slices.Equal(ia, ib) {
			t.Errorf("the clients got different ticks while both listened: A %v, B %v", rel(ia, from), rel(ib, from))
		}
	}
	for _, c := range run.Clients {
		if c.Receipt == nil {
			t.Errorf("client %s: no RECEIPT for DISCONNECT; closes %s", c.Name, c.Closes)
		} else if c.Receipt.Command != "RECEIPT" || c.Receipt.Headers["receipt-id"] == "" {
			t.Errorf("client %s: DISCONNECT answered with %s %v", c.Name, c.Receipt.Command, c.Receipt.Headers)
		}
	}
	if run.Probe == nil {
		t.Errorf("the run never reached the /app/subscribe probe")
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

// stompClientCase is one stomp-client.mjs run: a transport and a path.
type stompClientCase struct {
	name      string
	transport string
	path      string
}

// stompClientCases are every transport the Node clients speak: each SockJS
// transport Node's sockjs-client has (the iframe ones need a browser:
// test/browser) and the plain WebSocket forms.
var stompClientCases = []stompClientCase{
	{"sockjs-default", "default", "/ws"},
	{"sockjs-websocket", "websocket", "/ws"},
	{"sockjs-xhr-streaming", "xhr-streaming", "/ws"},
	{"sockjs-xhr-polling", "xhr-polling", "/ws"},
	{"sockjs-eventsource", "eventsource", "/ws"},
	{"plain-factory-ws", "plain-factory", "/ws"},
	{"plain-broker-ws", "plain-broker", "/ws"},
	{"plain-broker-ws-websocket", "plain-broker", "/ws/websocket"},
}

func TestPushStompClients(t *testing.T) {
	t.Parallel()
	requireNodeModules(t)
	s := startServer(t)
	seedEvents(t, s)
	apiShape := shapeOf(s.metrics(t))
	for _, tc := range stompClientCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			runStompClient(t, "http://"+s.addr, tc, apiShape, func() string { return tail(s.logs.String(), 40) })
		})
	}
}

// runStompClient runs stomp-client.mjs against base over tc's transport
// and judges the run; logs tells the server's side when it fails.
func runStompClient(t *testing.T, base string, tc stompClientCase, apiShape any, logs func() string) {
	t.Helper()
	out, stderr, err := runNode(t, 3*time.Minute, "stomp-client.mjs",
		"--url", base, "--transport", tc.transport, "--path", tc.path)
	var run stompRun
	if jerr := json.Unmarshal(bytes.TrimSpace(out), &run); jerr != nil {
		t.Fatalf("stomp-client.mjs: %v; output not JSON (%v): %q\nstderr: %s\nserver log:\n%s", err, jerr, out, stderr, logs())
	}
	checkStompRun(t, &run, apiShape)
	if t.Failed() {
		for _, c := range run.Clients {
			t.Logf("client %s frames:\n  %s", c.Name, strings.Join(c.Frames, "\n  "))
		}
		t.Logf("stderr: %s\nserver log (tail):\n%s", stderr, logs())
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
