package journal

import (
	"testing"

	"github.com/eventara/eventara/internal/testutil"
)

// TestMain checks that Close stops every goroutine the store started.
func TestMain(m *testing.M) {
	testutil.VerifyNoLeaks(m)
}
