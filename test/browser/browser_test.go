// Package browser runs the dashboard's browser tests (dashboard.test.mjs,
// node's test runner driving Debian's chromium through playwright-core)
// from `go test`, so `make test` runs them with everything else.
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

func TestDashboardInChromium(t *testing.T) {
	testutil.RequireNode(t)
	testutil.RequireNodeModules(t, ".", "test/browser", "playwright-core")
	chromium := os.Getenv("CHROMIUM_PATH")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	testutil.RequireExecutable(t, "chromium", chromium, "apt-get install -y chromium (.ci/run does it), or set CHROMIUM_PATH")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "--test", "--test-concurrency=1", "--test-reporter=spec", "dashboard.test.mjs")
	cmd.Env = append(os.Environ(), "EVENTARA_BIN="+testutil.Binary(), "CHROMIUM_PATH="+chromium)
	out, err := cmd.CombinedOutput()
	t.Logf("node --test dashboard.test.mjs:\n%s", out)
	if err != nil {
		t.Fatalf("browser tests failed: %v", err)
	}
}
