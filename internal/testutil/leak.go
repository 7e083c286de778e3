package testutil

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// VerifyNoLeaks is goleak.VerifyTestMain with patience: it runs m, then,
// if every test passed, fails the run when goroutines other than the
// runtime's and the testing package's are still alive. goleak alone gives
// goroutines on their way out about half a second, which a busy machine
// can exceed; this keeps asking for Patience before it calls one a leak.
// Use it as a package's TestMain:
//
//	func TestMain(m *testing.M) { testutil.VerifyNoLeaks(m) }
func VerifyNoLeaks(m *testing.M, opts ...goleak.Option) {
	code := m.Run()
	if code == 0 {
		if err := Poll(Patience, func() error { return goleak.Find(opts...) }); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: goroutines still running %s after the tests passed: %v\n", Patience, err)
			code = 1
		}
	}
	os.Exit(code)
}
