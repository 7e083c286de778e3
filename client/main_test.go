package client

import (
	"testing"

	"github.com/eventara/eventara/internal/testutil"
)

// TestMain fails the run when a goroutine outlives the tests: a
// Subscription must leave nothing behind once its context ends, nor a
// Client once its idle connections are closed.
func TestMain(m *testing.M) { testutil.VerifyNoLeaks(m) }
