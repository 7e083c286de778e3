package notify

import (
	"testing"

	"github.com/eventara/eventara/internal/testutil"
)

// Senders hold HTTP and SMTP connections: none may outlive the tests.
func TestMain(m *testing.M) { testutil.VerifyNoLeaks(m) }
