// Package browser runs the browser tests of the dashboard
// (dashboard.test.mjs), its Alerts view (alerts.test.mjs) and the API docs
// page (docs.test.mjs), node's test
// runner driving Debian's chromium through playwright-core, from `go test`,
// so `make test` runs them with everything else.
//
// They need the real binary with the dashboard built in, so they follow the
// black-box rule (internal/testutil, tools.go): they run when EVENTARA_BIN
// is set (make test sets it after `make build`) and a plain `go test ./...`
// skips them; when they run, a missing Node, node_modules (make test-deps)
// or chromium is a failure, not a skip.
package browser

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/eventara/eventara/internal/testutil"
)

func TestMain(m *testing.M) {
	testutil.BlackBoxMain(m, "test/browser")
}

func TestDashboardInChromium(t *testing.T) { runInChromium(t, "dashboard.test.mjs") }

// TestAlertsViewInChromium: a rule created and enabled in the Alerts view
// fires while errors flow (a little over a minute: its window's history),
// its alert arrives over /topic/alerts without a reload, and is acknowledged
// and resolved in the page as the API then reports; the rule form shows the
// server's field errors.
func TestAlertsViewInChromium(t *testing.T) { runInChromium(t, "alerts.test.mjs") }

// TestAPIDocsInChromium: /docs renders the OpenAPI document with every
// path, under its Content-Security-Policy, with no request leaving the
// server; try it out works, also behind a path prefix.
func TestAPIDocsInChromium(t *testing.T) { runInChromium(t, "docs.test.mjs") }

// TestDashboardClusterInChromium: the dashboard and sockjs-client over
// every browser transport (iframe ones included) through the balancer of
// scripts/cluster.sh's 3 nodes; the dashboard's node SIGKILLed.
func TestDashboardClusterInChromium(t *testing.T) {
	haproxy, err := exec.LookPath("haproxy")
	if err != nil {
		haproxy = "/usr/sbin/haproxy" // Debian's, often not on a user's PATH
	}
	testutil.RequireExecutable(t, "haproxy, the balancer of scripts/cluster.sh", haproxy, "apt-get install -y haproxy (.ci/run does it)")
	testutil.Require(t, "curl (scripts/cluster.sh)", "apt-get install -y curl", func() error {
		_, err := exec.LookPath("curl")
		return err
	})
	testutil.RequireNodeModules(t, "../js", "test/js", "@stomp/stompjs")
	t.Setenv("HAPROXY", haproxy)
	runInChromium(t, "cluster.test.mjs")
}

// runInChromium runs one node test file against the binary in chromium.
func runInChromium(t *testing.T, file string) {
	testutil.RequireNode(t)
	testutil.RequireNodeModules(t, ".", "test/browser", "playwright-core")
	chromium := os.Getenv("CHROMIUM_PATH")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	testutil.RequireExecutable(t, "chromium", chromium, "apt-get install -y chromium (.ci/run does it), or set CHROMIUM_PATH")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "--test", "--test-concurrency=1", "--test-reporter=spec", file)
	cmd.Env = append(os.Environ(), "EVENTARA_BIN="+testutil.Binary(), "CHROMIUM_PATH="+chromium)
	out, err := cmd.CombinedOutput()
	t.Logf("node --test %s:\n%s", file, out)
	if err != nil {
		t.Fatalf("browser tests failed: %v", err)
	}
}
