package actors

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/eventara/eventara/internal/testutil"
	"github.com/eventara/eventara/journal"
	"github.com/eventara/eventara/snapshots"
)

// TestDiskFullRefusesIngestBeforeTheMailbox: while the journal refuses
// writes for lack of space, Ingest fails at once with an error that is
// both ErrJournal and journal.ErrDiskFull, health is DOWN with reason
// "disk", and snapshots go on.
func TestDiskFullRefusesIngestBeforeTheMailbox(t *testing.T) {
	// A floor of 99.99% of the file system: full from the start.
	j, err := journal.Open(journal.Config{Dir: t.TempDir(), Log: zerolog.Nop(),
		DiskFreeLimit: journal.DiskLimit{Percent: 99.99}, BallastSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if !j.DiskStatus().Full {
		t.Skipf("the temp directory's file system is almost empty (%+v): cannot be below a 99.99%% floor", j.DiskStatus())
	}
	sys, err := Start(Config{Log: zerolog.Nop(), Journal: j, Tick: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), testutil.Patience)
		defer cancel()
		_ = sys.Stop(ctx)
	}()
	_, err = sys.Ingest(context.Background(), newEvents(3, "a"))
	var full *journal.DiskFullError
	if !errors.Is(err, ErrJournal) || !errors.As(err, &full) {
		t.Fatalf("Ingest on a full disk: %v", err)
	}
	h := sys.Health()
	if h.Up || h.Reason != "disk" || !h.DiskFull || !h.DiskMeasured || h.DiskLimitBytes == 0 {
		t.Fatalf("health on a full disk: %+v", h)
	}
	waitSnapshot(t, sys, "a snapshot while the disk is full", func(*snapshots.Snapshot) bool { return true })
}
