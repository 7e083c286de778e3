package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eventara/eventara/internal/testutil"
)

// TestSystemdUnitVerifies: systemd-analyze verify accepts the shipped unit
// with nothing to say (an unknown key or a bad value is a warning it
// prints), its ExecStart pointed at the binary under test.
func TestSystemdUnitVerifies(t *testing.T) {
	t.Parallel()
	testutil.Require(t, "systemd-analyze", "apt-get install systemd", func() error {
		_, err := exec.LookPath("systemd-analyze")
		return err
	})
	unit, err := os.ReadFile("../deploy/systemd/eventara.service")
	if err != nil {
		t.Fatal(err)
	}
	const exe = "/usr/local/bin/eventara"
	if !strings.Contains(string(unit), "ExecStart="+exe+" ") {
		t.Fatalf("the unit's ExecStart is not %s", exe)
	}
	f := filepath.Join(t.TempDir(), "eventara.service")
	if err := os.WriteFile(f, []byte(strings.ReplaceAll(string(unit), exe, testutil.Binary())), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("systemd-analyze", "verify", f).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}
