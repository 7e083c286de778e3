package testutil

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The one rule for what a test needs, in every package:
//
//   - Unit tests need Go alone.
//   - The black-box packages (test and test/browser) run the real binary
//     that EVENTARA_BIN names; `make test` builds bin/eventara and sets it.
//     Without EVENTARA_BIN such a package is skipped as a whole, with one
//     line saying so (go test -v shows it): a plain `go test ./...` runs
//     the unit tests.
//   - With EVENTARA_BIN set, everything those tests use must be there. A
//     missing tool (Node, a node_modules, Debian's chromium or
//     python3-websocket) or an EVENTARA_BIN that is no executable file
//     FAILS, with a message naming it and how to install it. Nothing
//     skips for a missing tool.
//
// BlackBoxMain implements the first half, Require the second.

// BinaryEnv names the binary under test.
const BinaryEnv = "EVENTARA_BIN"

var binary string

// BlackBoxMain is the TestMain of a black-box package (pkg is its path,
// such as "test/browser"): it runs the tests when EVENTARA_BIN names an
// executable file, skips the package with one line when EVENTARA_BIN is
// unset, and fails it when EVENTARA_BIN names nothing runnable.
func BlackBoxMain(m *testing.M, pkg string) {
	bin := os.Getenv(BinaryEnv)
	if bin == "" {
		fmt.Printf("%s: skipped: %s is not set. These tests run the real binary: `make test`, or "+
			"`make build && %s=$PWD/bin/eventara go test ./%s/`.\n", pkg, BinaryEnv, BinaryEnv, pkg)
		os.Exit(0)
	}
	abs, err := executable(bin)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %s=%s: %v (`make build` writes bin/eventara)\n", pkg, BinaryEnv, bin, err)
		os.Exit(1)
	}
	binary = abs
	os.Exit(m.Run())
}

// Binary is the absolute path of the eventara binary under test, as
// BlackBoxMain found it.
func Binary() string { return binary }

func executable(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return "", err
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return "", errors.New("not an executable file")
	}
	return abs, nil
}

// Require fails t unless check passes, naming what is missing (what),
// why (check's error) and how to install it.
func Require(t testing.TB, what, install string, check func() error) {
	t.Helper()
	if err := check(); err != nil {
		t.Fatalf("%s is missing: %v\n    install it: %s\n    (a black-box test fails, never skips, when something it needs is missing: README, Development)", what, err, install)
	}
}

// RequireNode wants Node 20 or later as `node` on PATH.
func RequireNode(t testing.TB) {
	t.Helper()
	Require(t, "Node ≥ 20 (node on PATH)", "Node 20 or later from https://nodejs.org/ or your distribution", func() error {
		out, err := exec.Command("node", "--version").Output()
		if err != nil {
			return err
		}
		v := strings.TrimSpace(string(out))
		major, _, _ := strings.Cut(strings.TrimPrefix(v, "v"), ".")
		if n, err := strconv.Atoi(major); err != nil || n < 20 {
			return fmt.Errorf("node --version says %q", v)
		}
		return nil
	})
}

// RequireNodeModules wants each of pkgs installed in dir/node_modules
// (dir as the test sees it, relative to its package; shown as repoDir).
func RequireNodeModules(t testing.TB, dir, repoDir string, pkgs ...string) {
	t.Helper()
	for _, p := range pkgs {
		Require(t, repoDir+"/node_modules/"+p, "make test-deps (npm ci in "+repoDir+")", func() error {
			_, err := os.Stat(filepath.Join(dir, "node_modules", p, "package.json"))
			return err
		})
	}
}

// RequirePythonModule wants python to import module, which the Debian
// package debPkg provides.
func RequirePythonModule(t testing.TB, python, module, debPkg string) {
	t.Helper()
	Require(t, python+" with the "+module+" module", "apt-get install -y "+debPkg+" (.ci/run does it)", func() error {
		out, err := exec.Command(python, "-c", "import "+module).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%v: %s", err, strings.TrimSpace(string(out)))
		}
		return nil
	})
}

// RequireExecutable wants an executable file at path.
func RequireExecutable(t testing.TB, what, path, install string) {
	t.Helper()
	Require(t, what+" ("+path+")", install, func() error {
		_, err := executable(path)
		return err
	})
}
