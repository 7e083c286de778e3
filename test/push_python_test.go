package test

// The WebSocket API document's Python snippet, run as written with Debian's
// python3-websocket, and the SockJS client shipped for it
// (clients/python/sockjs_client.py).

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/eventara/eventara/internal/testutil"
)

// debianPython is the interpreter with python3-websocket; the pyenv one on
// PATH lacks it.
const debianPython = "/usr/bin/python3"

func requireDebianPython(t testing.TB) {
	t.Helper()
	testutil.RequirePythonModule(t, debianPython, "websocket", "python3-websocket")
}

func pythonCmd(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, debianPython, args...)
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "PYTHONPATH=clients/python", "PYTHONDONTWRITEBYTECODE=1")
	return cmd
}

var receivedLine = regexp.MustCompile(`^Received metrics: (\d+)$`)

// TestPushSeedPythonSnippet runs the document's snippet: it connects to
// ws://host/ws, sends the JSON SUBSCRIBE and prints summary.totalEvents of
// each pushed snapshot. The totals must follow the events posted.
func TestPushSeedPythonSnippet(t *testing.T) {
	t.Parallel()
	requireDebianPython(t)
	s := startServer(t)
	seedEvents(t, s) // 5 events
	checkSeedSnippet(t, "ws://"+s.addr+"/ws", s.url("/api/v1/events"), func() string { return tail(s.logs.String(), 30) })
}

// checkSeedSnippet runs the snippet against wsURL while totalEvents is 5,
// posts 3 events to postURL after its first snapshot, and wants totals
// that go 5 … 8. logs tells the server's side when it fails.
func checkSeedSnippet(t *testing.T, wsURL, postURL string, logs func() string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*testutil.Patience)
	defer cancel()
	cmd := pythonCmd(ctx, "-u", "test/py/seed_snippet.py", wsURL)
	// Until at least three snapshots came and one shows the three events
	// posted after the first: however long a busy machine takes.
	cmd.Env = append(cmd.Env, "SEED_MESSAGES=3", "SEED_UNTIL=Received metrics: 8",
		fmt.Sprintf("SEED_TIMEOUT=%d", int(2*testutil.Patience/time.Second)))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var lines, totals []string
	posted := false
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		lines = append(lines, line)
		m := receivedLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		totals = append(totals, m[1])
		if !posted {
			// After the first snapshot, three more events: a later line must
			// show 8.
			posted = true
			for i := 0; i < 3; i++ {
				code, body := postJSON(t, postURL, fmt.Sprintf(`{"eventType":"py_%d","source":"python"}`, i))
				if code != http.StatusAccepted {
					t.Errorf("POST event: %d %v", code, body)
				}
			}
		}
	}
	werr := cmd.Wait()
	report := fmt.Sprintf("snippet exit: %v\nstdout:\n%s\nstderr:\n%s\nserver log (tail):\n%s",
		werr, strings.Join(lines, "\n"), stderr.String(), logs())
	if len(lines) == 0 || lines[0] != "Connected" {
		t.Fatalf("the snippet did not print Connected first\n%s", report)
	}
	if len(totals) < 3 {
		t.Fatalf("want at least 3 'Received metrics: <n>' lines, got %d\n%s", len(totals), report)
	}
	if totals[0] != "5" {
		t.Errorf("first snapshot says totalEvents %s, want 5 (posted before connecting)\n%s", totals[0], report)
	}
	last := 0
	for _, v := range totals {
		n, _ := strconv.Atoi(v)
		if n < last {
			t.Errorf("totalEvents went down: %v\n%s", totals, report)
		}
		last = n
	}
	if last != 8 {
		t.Errorf("last snapshot says totalEvents %d, want 8 (3 more posted after the first)\n%s", last, report)
	}
	for _, l := range lines {
		if strings.HasPrefix(l, "Error: ") && !strings.Contains(l, "on_close()") {
			// on_close(ws) in the document takes one argument where
			// websocket-client ≥ 1.0 passes three; that error is the
			// document's, not the server's.
			t.Errorf("the snippet reported an error: %s\n%s", l, report)
		}
	}
	if strings.Contains(stderr.String(), "timed out") {
		t.Errorf("the snippet timed out before it saw 3 snapshots and a total of 8\n%s", report)
	}
}

// sockjsCheck is what test/py/sockjs_stomp_check.py prints.
type sockjsCheck struct {
	Open      bool              `json:"open"`
	Connected map[string]string `json:"connected"`
	Messages  []struct {
		At          float64           `json:"at"`
		Headers     map[string]string `json:"headers"`
		TotalEvents float64           `json:"totalEvents"`
	} `json:"messages"`
	Receipt map[string]string `json:"receipt"`
	Errors  []json.RawMessage `json:"errors"`
	Close   []any             `json:"close"`
}

// TestPushPythonSockJSClient drives clients/python/sockjs_client.py over the
// SockJS websocket transport with STOMP, and runs its offline unit tests.
func TestPushPythonSockJSClient(t *testing.T) {
	t.Parallel()
	requireDebianPython(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*testutil.Patience)
	defer cancel()
	if out, err := pythonCmd(ctx, "-m", "unittest", "discover", "-s", "test/py", "-p", "test_*.py").CombinedOutput(); err != nil {
		t.Errorf("python unit tests of sockjs_client: %v\n%s", err, out)
	}

	s := startServer(t)
	seedEvents(t, s)
	checkPythonSockJS(t, "http://"+s.addr+"/ws", func() string { return tail(s.logs.String(), 30) })
}

// checkPythonSockJS runs sockjs_stomp_check.py against the SockJS
// endpoint sockjsURL while totalEvents is 5.
func checkPythonSockJS(t *testing.T, sockjsURL string, logs func() string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*testutil.Patience)
	defer cancel()
	out, err := pythonCmd(ctx, "test/py/sockjs_stomp_check.py", sockjsURL, "3",
		strconv.Itoa(int(testutil.Patience/time.Second))).Output()
	var res sockjsCheck
	if jerr := json.Unmarshal(out, &res); jerr != nil {
		t.Fatalf("sockjs_stomp_check.py: %v, output not JSON (%v): %q\nserver log:\n%s", err, jerr, out, logs())
	}
	report := fmt.Sprintf("result: %s\nserver log (tail):\n%s", out, logs())
	if !res.Open || res.Connected == nil {
		t.Fatalf("no SockJS open frame or no CONNECTED\n%s", report)
	}
	checkHeartBeatPresent(t, res.Connected, report)
	if len(res.Messages) < 3 {
		t.Fatalf("want 3 MESSAGEs, got %d\n%s", len(res.Messages), report)
	}
	for i, m := range res.Messages {
		if m.TotalEvents != 5 {
			t.Errorf("MESSAGE %d: totalEvents %v, want 5", i, m.TotalEvents)
		}
		if m.Headers["timestamp"] == "" {
			t.Errorf("MESSAGE %d: no timestamp header: %v", i, m.Headers)
		}
	}
	if res.Receipt["receipt-id"] != "bye" {
		t.Errorf("DISCONNECT receipt = %v, want receipt-id bye\n%s", res.Receipt, report)
	}
	// The server closes the session after the RECEIPT (the script waits for
	// it instead of closing first).
	if len(res.Close) != 2 || res.Close[0] != 1000.0 {
		t.Errorf("session closed with %v, want the server's 1000 after DISCONNECT\n%s", res.Close, report)
	}
	if len(res.Errors) > 0 {
		t.Errorf("errors: %s\n%s", res.Errors, report)
	}
}

// checkHeartBeatPresent wants a heart-beat header on CONNECTED (this client
// asks 0,0, so the server may answer 0,0).
func checkHeartBeatPresent(t testing.TB, headers map[string]string, report string) {
	t.Helper()
	if _, ok := headers["heart-beat"]; !ok && headers["version"] != "1.0" {
		t.Errorf("CONNECTED has no heart-beat header: %v\n%s", headers, report)
	}
}
