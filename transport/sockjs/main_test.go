package sockjs

import (
	"os"
	"os/exec"
	"runtime"
	"testing"

	"github.com/eventara/eventara/internal/testutil"
)

// portableWireEnv set to "portable" forces coderWire (forcePortableWire)
// for the whole test binary.
const portableWireEnv = "EVENTARA_SOCKJS_WIRE"

// TestMain also checks that no session leaves a goroutine behind: each
// WebSocket has its reader, an on-demand writer and a heart-beat timer,
// each HTTP transport its polling or streaming request.
func TestMain(m *testing.M) {
	forcePortableWire = os.Getenv(portableWireEnv) == "portable"
	testutil.VerifyNoLeaks(m)
}

// TestPortableWire runs this package's tests again, in a child process,
// with coderWire forced: the writer of builds other than Linux, so that
// path is tested wherever these tests run on Linux. Tests that depend on
// socketWire skip themselves there; `go test -run TestPortableWire -v`
// shows the child's run.
func TestPortableWire(t *testing.T) {
	if forcePortableWire {
		t.Skip("this is the portable run")
	}
	if runtime.GOOS != "linux" {
		t.Skip("coderWire is the only wire on " + runtime.GOOS)
	}
	args := []string{"-test.count=1", "-test.skip=^TestPortableWire$", "-test.timeout=5m"}
	if testing.Short() {
		args = append(args, "-test.short")
	}
	if testing.Verbose() {
		args = append(args, "-test.v")
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), portableWireEnv+"=portable")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the package's tests with the portable wire: %v\n%s", err, out)
	}
	if testing.Verbose() {
		t.Logf("the package's tests with the portable wire:\n%s", out)
	}
}
