package transport

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/rs/zerolog"

	"github.com/eventara/eventara/actors"
	"github.com/eventara/eventara/internal/testutil"
	"github.com/eventara/eventara/journal"
)

// startService starts an actor system on j and serves the REST API of it;
// both stop when the test ends (j is closed by its opener).
func startService(tb testing.TB, j *journal.Journal) *httptest.Server {
	tb.Helper()
	sys, err := actors.Start(actors.Config{Log: zerolog.Nop(), Journal: j})
	if err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewServer(NewHandler(sys, Config{Log: zerolog.Nop()}))
	tb.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), testutil.Patience)
		defer cancel()
		_ = sys.Stop(ctx)
	})
	return srv
}
