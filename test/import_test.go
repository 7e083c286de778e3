package test

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/eventara/eventara/internal/testutil"
)

// runImport runs `eventara import args...` and returns its exit code and
// its combined output.
func runImport(t *testing.T, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*testutil.Patience)
	defer cancel()
	out, err := exec.CommandContext(ctx, testutil.Binary(), append([]string{"import"}, args...)...).CombinedOutput()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), string(out)
		}
		t.Fatalf("eventara import: %v\n%s", err, out)
	}
	return 0, string(out)
}

// TestImportSingleNodeIntoCluster: a single node's data directory (events
// and a reset) is refused while the node runs, then imported into a
// cluster: every event readable there under its ID, totalEvents the
// number of events (the reset is not imported). A second import publishes
// nothing, and a live event after it makes the total exactly one more.
//
// The cluster is one node (R1): the import talks to the stream through
// NATS alone, whatever its replication, and the 3-node paths (quorum,
// retries under the same IDs) are TestClusterThreeNodes'.
func TestImportSingleNodeIntoCluster(t *testing.T) {
	single := startServer(t)
	var ids []string
	post := func(n int) {
		for i := range n {
			code, body := postJSON(t, single.url("/api/v1/events"), fmt.Sprintf(`{"eventType":"imp%d","source":"s","userId":"u%d"}`, i%3, i))
			if code != 202 {
				t.Fatalf("POST: %d %v", code, body)
			}
			ids = append(ids, body["eventId"].(string))
		}
	}
	post(7)
	if code, b := postJSON(t, single.url("/api/v1/metrics/reset"), ""); code != 200 {
		t.Fatalf("reset: %d %v", code, b)
	}
	post(1230) // more than two batches of 500
	const n = 1237

	// While the node runs, its journal is refused.
	if code, out := runImport(t, "--from", single.dataDir, "--nats-url", "nats://127.0.0.1:1"); code != 1 || !strings.Contains(out, "is in use") {
		t.Fatalf("import of a running node's directory: exit %d\n%s", code, out)
	}
	if err := single.stop(); err != nil {
		t.Fatalf("stop the single node: %v\n%s", err, single.logs)
	}

	nats := freePort(t)
	c := startCluster(t, 1, "--nats-listen", nats)
	node := c.nodes[0]
	code, out := runImport(t, "--from", single.dataDir, "--nats-url", "nats://"+nats, "--batch", "500")
	if code != 0 || !strings.Contains(out, fmt.Sprintf("done: read %d events, published %d, already present 0; resets not imported: 1", n, n)) {
		t.Fatalf("first import: exit %d\n%s", code, out)
	}
	node.waitTotal(t, n)
	for _, id := range ids {
		if code, body := getJSON(t, node.url("/api/v1/events/"+id)); code != 200 || body["eventId"] != id {
			t.Fatalf("GET imported event %s: %d %v", id, code, body)
		}
	}

	// A cluster node's own directory is not a source.
	if code, out := runImport(t, "--from", node.dataDir, "--nats-url", "nats://"+nats); code != 1 || !strings.Contains(out, "cluster node's data directory") {
		t.Fatalf("import of a cluster node's directory: exit %d\n%s", code, out)
	}

	// Again: the stream holds every ID, nothing is published.
	code, out = runImport(t, "--from", single.dataDir, "--nats-url", "nats://"+nats)
	if code != 0 || !strings.Contains(out, fmt.Sprintf("the stream holds %d events already", n)) ||
		!strings.Contains(out, fmt.Sprintf("done: read %d events, published 0, already present %d", n, n)) {
		t.Fatalf("second import: exit %d\n%s", code, out)
	}
	// A live event goes after anything the import stored: a total of
	// exactly n+1 once it is counted means the second import added none.
	if code, body := postJSON(t, node.url("/api/v1/events"), `{"eventType":"live","source":"s"}`); code != 202 {
		t.Fatalf("POST to the cluster: %d %v", code, body)
	}
	node.waitTotal(t, n+1)
}

// TestImportUsage: the subcommand's bad input is a usage error (exit 2)
// that says what is wrong, and its help lists its flags.
func TestImportUsage(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--nats-url", "nats://127.0.0.1:1"}, 2, "--from is required"},
		{[]string{"--from", dir}, 2, "--nats-url is required"},
		{[]string{"--from", dir, "--nats-url", "nats://x:1", "--batch", "0"}, 2, "--batch 0"},
		{[]string{"--from", dir, "--nats-url", "nats://127.0.0.1:1"}, 1, "holds no Eventara journal"},
		{[]string{"--help"}, 0, "-connect-timeout duration"},
	} {
		code, out := runImport(t, tc.args...)
		if code != tc.code || !strings.Contains(out, tc.want) {
			t.Errorf("eventara import %v: exit %d, want %d and %q\n%s", tc.args, code, tc.code, tc.want, out)
		}
	}
}
