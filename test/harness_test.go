package test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/eventara/eventara/internal/testutil"
)

// TestMain runs the tests when EVENTARA_BIN names the binary (make test
// sets it), and skips the package otherwise: the rule for what a test
// needs is in internal/testutil (tools.go) and the README.
func TestMain(m *testing.M) {
	testutil.BlackBoxMain(m, "test")
}

// server is one running eventara process.
type server struct {
	t       testing.TB
	addr    string // host:port
	dataDir string
	args    []string
	scheme  string       // http, or https with TLS flags
	client  *http.Client // polls health at start
	cmd     *exec.Cmd
	logs    *syncBuffer
	exited  chan struct{}
	exitErr error
}

// syncBuffer collects a process's output safely.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// healthClient keeps no idle connection open to the server, so tests that
// count connections see only their own.
var healthClient = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// startServer starts eventara on a free port with a fresh data directory
// and waits until its health check answers.
func startServer(t testing.TB, args ...string) *server {
	t.Helper()
	return startServerWith(t, "http", healthClient, args...)
}

// startServerWith is startServer for a server answering on scheme (https
// when args turn TLS on), its health polled with client.
func startServerWith(t testing.TB, scheme string, client *http.Client, args ...string) *server {
	t.Helper()
	s := &server{t: t, dataDir: t.TempDir(), args: args, scheme: scheme, client: client}
	s.start()
	t.Cleanup(func() { s.stop() })
	return s
}

// start (re)starts the process on a new free port, same data directory.
func (s *server) start() {
	s.t.Helper()
	s.startAt(freePort(s.t))
}

// startAt (re)starts the process listening on addr, same data directory.
func (s *server) startAt(addr string) {
	s.t.Helper()
	s.addr = addr
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
	testutil.WaitFor(s.t, testutil.Patience, "server health", func() error {
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

func (s *server) url(path string) string { return s.scheme + "://" + s.addr + path }

// stop sends SIGTERM and waits for a clean exit; it returns the exit error.
func (s *server) stop() error {
	if s.cmd == nil || s.cmd.Process == nil {
		return nil
	}
	select {
	case <-s.exited:
		return s.exitErr
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(testutil.Patience):
		_ = s.cmd.Process.Kill()
		<-s.exited
		s.t.Errorf("eventara did not stop within %s after SIGTERM\n%s", testutil.Patience, s.logs)
	}
	return s.exitErr
}

// kill sends SIGKILL and waits for the process to go.
func (s *server) kill() {
	_ = s.cmd.Process.Kill()
	<-s.exited
}

// restart stops the process cleanly and starts it again on the same data.
func (s *server) restart() {
	s.t.Helper()
	if err := s.stop(); err != nil {
		s.t.Fatalf("stop: %v\n%s", err, s.logs)
	}
	s.start()
}

// restartSameAddr stops the process cleanly and starts it again on the
// same address and data, as a service manager restarts it: clients see
// their connections drop and the same URL answer again.
func (s *server) restartSameAddr() {
	s.t.Helper()
	if err := s.stop(); err != nil {
		s.t.Fatalf("stop: %v\n%s", err, s.logs)
	}
	s.startAt(s.addr)
}

// do sends a request and returns the status and the body.
func do(t testing.TB, method, url, contentType string, body []byte) (int, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Patience)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

func postJSON(t testing.TB, url string, body string) (int, map[string]any) {
	t.Helper()
	code, b := do(t, http.MethodPost, url, "application/json", []byte(body))
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("POST %s: %d, body not JSON: %q", url, code, b)
	}
	return code, m
}

func getJSON(t testing.TB, url string) (int, map[string]any) {
	t.Helper()
	code, b := do(t, http.MethodGet, url, "", nil)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("GET %s: %d, body not JSON: %q", url, code, b)
	}
	return code, m
}

// metrics returns GET /api/v1/metrics decoded.
func (s *server) metrics(t testing.TB) map[string]any {
	t.Helper()
	code, m := getJSON(t, s.url("/api/v1/metrics"))
	if code != 200 {
		t.Fatalf("GET /api/v1/metrics: %d", code)
	}
	return m
}

// path reads a nested value like "summary.totalEvents".
func path(m map[string]any, p string) any {
	var cur any = m
	for _, k := range strings.Split(p, ".") {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[k]
	}
	return cur
}

// waitTotal polls the metrics until summary.totalEvents equals want.
func (s *server) waitTotal(t testing.TB, want float64) map[string]any {
	t.Helper()
	var m map[string]any
	testutil.WaitFor(t, testutil.Patience, fmt.Sprintf("totalEvents == %v", want), func() error {
		m = s.metrics(t)
		if got := path(m, "summary.totalEvents"); got != want {
			return fmt.Errorf("totalEvents = %v", got)
		}
		return nil
	})
	return m
}

// promSum is the sum of every sample of the Prometheus metric name in
// GET /metrics (all label sets), and whether there was one.
func (s *server) promSum(t testing.TB, name string) (float64, bool) {
	t.Helper()
	code, b := do(t, http.MethodGet, s.url("/metrics"), "", nil)
	if code != 200 {
		t.Fatalf("GET /metrics: %d", code)
	}
	sum, found := 0.0, false
	for _, line := range strings.Split(string(b), "\n") {
		rest, ok := strings.CutPrefix(line, name)
		if !ok || (rest != "" && rest[0] != ' ' && rest[0] != '{') {
			continue
		}
		f := strings.Fields(rest[strings.LastIndexByte(rest, '}')+1:])
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			t.Fatalf("/metrics line %q: %v", line, err)
		}
		sum, found = sum+v, true
	}
	return sum, found
}
