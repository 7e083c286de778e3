package journal

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that Close stops every goroutine the store started.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
