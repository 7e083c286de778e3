package actors

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/eventara/eventara/internal/testutil"
)

func TestMain(m *testing.M) {
	testutil.VerifyNoLeaks(m,
		// protoactor's dead-letter throttle starts a goroutine that waits
		// one throttle interval (1 s by default) after a dead letter; it
		// ends by itself. Dead letters are normal here (a timer firing
		// for a stopped connection, a delivery racing an UNSUBSCRIBE).
		goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/actor.NewDeadLetter.NewThrottle.func4.1"),
	)
}
