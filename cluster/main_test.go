package cluster

import (
	"testing"

	"github.com/eventara/eventara/internal/testutil"
)

// TestMain checks that Node.Shutdown and Consumer.Stop leave no goroutine
// behind.
func TestMain(m *testing.M) {
	testutil.VerifyNoLeaks(m)
}
