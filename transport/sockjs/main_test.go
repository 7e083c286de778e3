package sockjs

import (
	"testing"

	"github.com/eventara/eventara/internal/testutil"
)

// TestMain checks that no session leaves a goroutine behind: each
// WebSocket has its reader, an on-demand writer and a heart-beat timer,
// each HTTP transport its polling or streaming request.
func TestMain(m *testing.M) {
	testutil.VerifyNoLeaks(m)
}
