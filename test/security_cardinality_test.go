package test

// Cardinality attack: a million events, each with a new eventType, source
// and userId, must leave memory bounded and the snapshot small.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
)

// rssKiB reads VmRSS of pid from /proc.
func rssKiB(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return n
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

func distinctBatch(start, n int) []byte {
	var b bytes.Buffer
	b.WriteByte('[')
	for i := start; i < start+n; i++ {
		if i > start {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"eventType":"type-%d","source":"source-%d","userId":"user-%d"}`, i, i, i)
	}
	b.WriteByte(']')
	return b.Bytes()
}

func TestSecurityCardinality(t *testing.T) {
	if testing.Short() {
		t.Skip("a million events")
	}
	s := startServer(t)
	const batch, total = 10_000, 1_000_000
	send := func(from, to int) {
		for i := from; i < to; i += batch {
			code, b := do(t, http.MethodPost, s.url("/api/v1/events/batch"), "application/json", distinctBatch(i, batch))
			if code != http.StatusAccepted {
				t.Fatalf("batch at %d: %d %.200q", i, code, b)
			}
		}
	}
	snapshot := func() (int, map[string]any) {
		code, b := do(t, http.MethodGet, s.url("/api/v1/metrics"), "", nil)
		if code != 200 {
			t.Fatalf("metrics %d", code)
		}
		validateSnapshot(t, b)
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return len(b), m
	}
	pid := s.cmd.Process.Pid

	send(0, total/5)
	s.waitTotal(t, total/5)
	rssFifth := rssKiB(t, pid)
	sizeFifth, _ := snapshot()

	send(total/5, total)
	s.waitTotal(t, total)
	rssAll := rssKiB(t, pid)
	size, m := snapshot()

	t.Logf("after %d distinct keys: RSS %d MiB, snapshot %d bytes; after %d: RSS %d MiB, snapshot %d bytes",
		total/5, rssFifth>>10, sizeFifth, total, rssAll>>10, size)
	if size > 64<<10 {
		t.Errorf("snapshot is %d bytes with a million distinct keys; want it within the seed's 10-50 KB (64 KiB allowed)", size)
	}
	for _, k := range []string{"eventsByType", "eventsBySource"} {
		if mm, ok := m[k].(map[string]any); !ok || len(mm) > 101 {
			t.Errorf("%s has %d entries; want at most 100 plus (other)", k, len(mm))
		}
	}
	// Five times the keys may not cost five times the memory: per-key state
	// is capped, so growth past the first fifth is the journal's caches.
	if rssAll > rssFifth+256<<10 {
		t.Errorf("RSS grew from %d MiB to %d MiB between %d and %d distinct keys", rssFifth>>10, rssAll>>10, total/5, total)
	}
	if u, _ := path(m, "summary.uniqueUsers").(float64); u < total*0.97 || u > total*1.03 {
		t.Errorf("uniqueUsers %v, want about %d", u, total)
	}
}
