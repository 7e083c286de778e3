// Package browser runs the dashboard's browser tests (dashboard.test.mjs,
// node's test runner driving Debian's chromium through playwright-core)
// from `go test`, so `make test` runs them with everything else.
//
// They need the real binary with the dashboard built in, so they run only
// when EVENTARA_BIN is set (make test sets it after `make build`); a plain
// `go test ./...` skips them. When they do run, a missing node_modules
// (make test-deps) or chromium is a failure, not a skip.
package browser

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

func TestDashboardInChromium(t *testing.T) {
	bin := os.Getenv("EVENTARA_BIN")
	if bin == "" {
		t.Skip("EVENTARA_BIN not set: the browser tests need bin/eventara built with the dashboard (make test)")
	}
	bin, err := filepath.Abs(bin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("node_modules/playwright-core"); err != nil {
		t.Fatalf("test/browser/node_modules missing (run make test-deps, or npm ci in test/browser): %v", err)
	}
	chromium := os.Getenv("CHROMIUM_PATH")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("chromium missing (apt-get install -y chromium): %v", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "--test", "--test-concurrency=1", "--test-reporter=spec", "dashboard.test.mjs")
	cmd.Env = append(os.Environ(), "EVENTARA_BIN="+bin, "CHROMIUM_PATH="+chromium)
	out, err := cmd.CombinedOutput()
	t.Logf("node --test dashboard.test.mjs:\n%s", out)
	if err != nil {
		t.Fatalf("browser tests failed: %v", err)
	}
}
