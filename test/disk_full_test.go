//go:build linux

package test

// The disk tests mount tmpfs file systems: Linux only.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/eventara/eventara/internal/testutil"
)

// diskDeadline bounds every wait of the disk tests: the machine is shared,
// and nothing here has a known duration.
const diskDeadline = 30 * time.Second

// mountTmpfs mounts a tmpfs of size (mount's syntax: "12m") on a fresh
// directory and unmounts it when the test ends (after the server, whose
// cleanup is registered later, has stopped). It skips the test where
// mounting is not allowed.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs for the data directory (run as root, or in a container with CAP_SYS_ADMIN)")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v: %s); this test needs a small file system of its own", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() {
		var out []byte
		var err error
		for i := 0; i < 50; i++ {
			if out, err = exec.Command("umount", dir).CombinedOutput(); err == nil {
				return
			}
			time.Sleep(100 * time.Millisecond) // the process may still be closing its files
		}
		t.Errorf("umount %s: %v: %s", dir, err, out)
	})
	return dir
}

// remountTmpfs changes the size of the tmpfs at dir.
func remountTmpfs(t *testing.T, dir, size string) {
	t.Helper()
	if out, err := exec.Command("mount", "-o", "remount,size="+size, dir).CombinedOutput(); err != nil {
		t.Fatalf("remount %s to %s: %v: %s", dir, size, err, out)
	}
}

// startServerOn starts eventara with its data directory at dir.
func startServerOn(t *testing.T, dir string, args ...string) *server {
	t.Helper()
	s := &server{t: t, dataDir: dir, args: args, scheme: "http", client: healthClient}
	s.start()
	t.Cleanup(func() { s.stop() })
	return s
}

// ingestAnswer is one POST's outcome.
type ingestAnswer struct {
	code       int
	retryAfter string
	message    string
	ids        []string
}

// postEvents posts body (an event or a batch) and decodes the answer.
func postEvents(t *testing.T, s *server, path, body string) ingestAnswer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), diskDeadline)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url(path), strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v (the server is gone?)\n%s", path, err, tail(s.logs.String(), 30))
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var r struct {
		EventID  string   `json:"eventId"`
		EventIDs []string `json:"eventIds"`
		Message  string   `json:"message"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("POST %s: %d, body not JSON: %q", path, resp.StatusCode, b)
	}
	a := ingestAnswer{code: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), message: r.Message, ids: r.EventIDs}
	if r.EventID != "" {
		a.ids = []string{r.EventID}
	}
	if a.code == http.StatusAccepted && len(a.ids) == 0 {
		t.Fatalf("POST %s: 202 without ids: %s", path, b)
	}
	return a
}

// postUntilDiskFull posts body until it is refused with 503 "disk full",
// and returns the ids answered 202 on the way and the refusal. Any other
// answer fails the test.
func postUntilDiskFull(t *testing.T, s *server, path, body string) ([]string, ingestAnswer) {
	t.Helper()
	var acked []string
	deadline := time.Now().Add(4 * diskDeadline)
	for i := 0; time.Now().Before(deadline) && i < 20000; i++ {
		a := postEvents(t, s, path, body)
		switch {
		case a.code == http.StatusAccepted:
			acked = append(acked, a.ids...)
		case a.code == http.StatusServiceUnavailable && strings.HasPrefix(a.message, "disk full: "):
			return acked, a
		default:
			t.Fatalf("POST %d (after %d events accepted): %d %q\n%s", i, len(acked), a.code, a.message, tail(s.logs.String(), 30))
		}
	}
	t.Fatalf("no 503 disk full after %d events accepted\n%s", len(acked), tail(s.logs.String(), 30))
	return nil, ingestAnswer{}
}

// postUntilAccepted polls with body until it is answered 202.
func postUntilAccepted(t *testing.T, s *server, path, body string) []string {
	t.Helper()
	var ids []string
	testutil.WaitFor(t, diskDeadline, "ingestion to resume", func() error {
		a := postEvents(t, s, path, body)
		if a.code != http.StatusAccepted {
			return fmt.Errorf("%d %q", a.code, a.message)
		}
		ids = a.ids
		return nil
	})
	return ids
}

// health returns the health check's status code and body.
func health(t *testing.T, s *server) (int, map[string]any) {
	t.Helper()
	return getJSON(t, s.url("/api/v1/events/health"))
}

// checkReadsWork checks that the metrics, the event list and one event by
// id still answer.
func checkReadsWork(t *testing.T, s *server, id string) {
	t.Helper()
	s.metrics(t)
	if code, m := getJSON(t, s.url("/api/v1/events?size=5")); code != http.StatusOK {
		t.Fatalf("GET /api/v1/events on a full disk: %d %v", code, m)
	}
	if code, m := getJSON(t, s.url("/api/v1/events/"+id)); code != http.StatusOK || m["eventId"] != id {
		t.Fatalf("GET /api/v1/events/%s on a full disk: %d %v", id, code, m)
	}
}

// waitTotalEvents polls the metrics until summary.totalEvents is want.
func waitTotalEvents(t *testing.T, s *server, want int) {
	t.Helper()
	testutil.WaitFor(t, diskDeadline, fmt.Sprintf("totalEvents == %d", want), func() error {
		if got := path(s.metrics(t), "summary.totalEvents"); got != float64(want) {
			return fmt.Errorf("totalEvents = %v", got)
		}
		return nil
	})
}

// gauge reads an unlabelled metric from /metrics.
func gauge(t *testing.T, s *server, name string) (float64, bool) {
	t.Helper()
	code, body := do(t, http.MethodGet, s.url("/metrics"), "", nil)
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: %d", code)
	}
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			return f, err == nil
		}
	}
	return 0, false
}

// checkUnique fails on an id acknowledged twice.
func checkUnique(t *testing.T, ids []string) {
	t.Helper()
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if seen[id] {
			t.Fatalf("id %s acknowledged twice", id)
		}
		seen[id] = true
	}
}

// TestDiskFullRefusesWritesAndRecovers: on a 12 MiB tmpfs with a 4 MiB
// floor, batches are accepted until ingestion answers 503 "disk full" with
// Retry-After; health is DOWN with reason "disk" and the free bytes; reads,
// metrics and /metrics work; once the file system grows, ingestion and
// health come back by themselves; after a restart every event answered 202
// is counted exactly once.
func TestDiskFullRefusesWritesAndRecovers(t *testing.T) {
	t.Parallel()
	dir := mountTmpfs(t, "12m")
	const limit = 4 << 20
	s := startServerOn(t, dir, "--disk-free-limit", "4MiB")

	blob := strings.Repeat("x", 1000)
	ev := `{"eventType":"disk","source":"test","metadata":{"blob":"` + blob + `"}}`
	batch := "[" + strings.Repeat(ev+",", 99) + ev + "]"
	acked, refusal := postUntilDiskFull(t, s, "/api/v1/events/batch", batch)
	if len(acked) == 0 {
		t.Fatalf("refused before anything was accepted: %q", refusal.message)
	}
	if refusal.retryAfter == "" || !strings.Contains(refusal.message, fmt.Sprintf("limit %d bytes", limit)) ||
		!strings.Contains(refusal.message, "bytes free") {
		t.Fatalf("refusal: Retry-After %q, message %q", refusal.retryAfter, refusal.message)
	}
	t.Logf("%d events accepted, then %q", len(acked), refusal.message)
	// A single event is refused too, and nothing refused is counted.
	if a := postEvents(t, s, "/api/v1/events", ev); a.code != http.StatusServiceUnavailable || !strings.HasPrefix(a.message, "disk full: ") {
		t.Fatalf("single event on a full disk: %d %q", a.code, a.message)
	}

	testutil.WaitFor(t, diskDeadline, "health DOWN with reason disk", func() error {
		code, m := health(t, s)
		free, ok := m["diskFreeBytes"].(float64)
		if code != http.StatusServiceUnavailable || m["status"] != "DOWN" || m["reason"] != "disk" || !ok || free >= limit ||
			m["diskFreeLimitBytes"] != float64(limit) {
			return fmt.Errorf("%d %v", code, m)
		}
		return nil
	})
	checkReadsWork(t, s, acked[len(acked)-1])
	if free, ok := gauge(t, s, "eventara_disk_free_bytes"); !ok || free >= limit {
		t.Fatalf("eventara_disk_free_bytes = %v (present %v), want below %d", free, ok, limit)
	}
	if l, ok := gauge(t, s, "eventara_disk_free_limit_bytes"); !ok || l != limit {
		t.Fatalf("eventara_disk_free_limit_bytes = %v (present %v), want %d", l, ok, limit)
	}
	waitTotalEvents(t, s, len(acked))

	remountTmpfs(t, dir, "64m")
	acked = append(acked, postUntilAccepted(t, s, "/api/v1/events/batch", batch)...)
	testutil.WaitFor(t, diskDeadline, "health UP", func() error {
		if code, m := health(t, s); code != http.StatusOK || m["status"] != "UP" {
			return fmt.Errorf("%d %v", code, m)
		}
		return nil
	})
	logs := s.logs.String()
	for msg, n := range map[string]int{"free disk space below the limit; refusing writes": 1, "free disk space back above the limit; accepting writes": 1} {
		if got := strings.Count(logs, msg); got != n {
			t.Errorf("%d log lines %q, want %d (one per transition)", got, msg, n)
		}
	}

	s.restart()
	checkUnique(t, acked)
	waitTotalEvents(t, s, len(acked))
}

// TestDiskFullBallastAbsorbsENOSPC: with the floor off, another process
// fills the disk to the last byte; the write that hits ENOSPC releases the
// emergency ballast and succeeds, later ones are refused with 503 "disk
// full", the process lives on, and ingestion resumes by itself once space
// is freed and the ballast re-created. Every event answered 202 survives a
// restart, once.
func TestDiskFullBallastAbsorbsENOSPC(t *testing.T) {
	t.Parallel()
	dir := mountTmpfs(t, "12m")
	s := startServerOn(t, dir, "--disk-free-limit", "0")
	if _, err := os.Stat(filepath.Join(dir, "EMERGENCY_BALLAST")); err != nil {
		t.Fatalf("no emergency ballast: %v", err)
	}
	ev := `{"eventType":"ballast","source":"test","metadata":{"n":1}}`
	acked := postUntilAccepted(t, s, "/api/v1/events", ev)

	// Another process fills the file system completely.
	filler := filepath.Join(dir, "filler")
	fillDisk(t, filler)
	more, refusal := postUntilDiskFull(t, s, "/api/v1/events", ev)
	acked = append(acked, more...)
	t.Logf("%d events accepted after the disk filled, then %q", len(more), refusal.message)
	if !strings.Contains(refusal.message, "emergency ballast was released") {
		t.Fatalf("refusal %q does not say the ballast went", refusal.message)
	}
	if !strings.Contains(s.logs.String(), "released the emergency ballast") {
		t.Fatalf("no log of the ballast's release\n%s", tail(s.logs.String(), 30))
	}
	select {
	case <-s.exited:
		t.Fatalf("eventara exited: %v\n%s", s.exitErr, tail(s.logs.String(), 30))
	default:
	}
	if code, m := health(t, s); code != http.StatusServiceUnavailable || m["reason"] != "disk" {
		t.Fatalf("health after ENOSPC: %d %v", code, m)
	}
	checkReadsWork(t, s, acked[len(acked)-1])

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	acked = append(acked, postUntilAccepted(t, s, "/api/v1/events", ev)...)
	if _, err := os.Stat(filepath.Join(dir, "EMERGENCY_BALLAST")); err != nil {
		t.Fatalf("ingestion resumed without the ballast: %v", err)
	}
	s.restart()
	checkUnique(t, acked)
	waitTotalEvents(t, s, len(acked))
}

// fillDisk writes path until the file system has not one block left.
func fillDisk(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, chunk := range []int{1 << 20, 64 << 10, 4 << 10, 512} {
		buf := bytes.Repeat([]byte{0xa5}, chunk)
		for {
			if _, err := f.Write(buf); err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatalf("fill %s: %v", path, err)
				}
				break
			}
		}
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(filepath.Dir(path), &st); err != nil {
		t.Fatal(err)
	}
	if st.Bavail != 0 {
		t.Fatalf("%d blocks still free after filling", st.Bavail)
	}
}
