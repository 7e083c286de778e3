package actors

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/eventara/eventara/internal/testutil"
	"github.com/eventara/eventara/protocol/event"
	"github.com/eventara/eventara/snapshots"
)

func testKey(key, request string) IngestKey {
	return IngestKey{Key: key, Fingerprint: sha256.Sum256([]byte(request))}
}

func sameIDs(t *testing.T, a, b []event.Event) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%d events, then %d", len(a), len(b))
	}
	for i := range a {
		if a[i].ID != b[i].ID || !a[i].ReceivedAt.Equal(b[i].ReceivedAt) {
			t.Fatalf("event %d: %s at %s, then %s at %s", i, a[i].ID, a[i].ReceivedAt, b[i].ID, b[i].ReceivedAt)
		}
	}
}

// TestIngestKeyedRetryIsAnsweredFromTheFirst: a retry with the same key
// gets the first request's IDs and stores nothing; another key stores; the
// key with another request is refused; each survives a restart.
func TestIngestKeyedRetryIsAnsweredFromTheFirst(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	sys, j := startTestSystem(t, dir)
	first, replayed, err := sys.IngestKeyed(ctx, newEvents(3, "keyed"), testKey("k1", "a"))
	if err != nil || replayed {
		t.Fatalf("first: replayed %v, %v", replayed, err)
	}
	again, replayed, err := sys.IngestKeyed(ctx, newEvents(3, "keyed"), testKey("k1", "a"))
	if err != nil || !replayed {
		t.Fatalf("retry: replayed %v, %v", replayed, err)
	}
	sameIDs(t, first, again)
	if _, replayed, err := sys.IngestKeyed(ctx, newEvents(1, "other"), testKey("k2", "a")); err != nil || replayed {
		t.Fatalf("another key: replayed %v, %v", replayed, err)
	}
	var reused *KeyReusedError
	if _, _, err := sys.IngestKeyed(ctx, newEvents(3, "keyed"), testKey("k1", "b")); !errors.As(err, &reused) {
		t.Fatalf("k1 with another request: %v, want a KeyReusedError", err)
	}
	waitSnapshot(t, sys, "4 events", func(s *snapshots.Snapshot) bool { return total(s) == 4 })
	if evs, _, err := j.List(0, 100, time.Time{}); err != nil || len(evs) != 4 {
		t.Fatalf("journal holds %d events (%v), want 4", len(evs), err)
	}

	stopCtx, cancel := context.WithTimeout(ctx, testutil.Patience)
	defer cancel()
	if err := sys.Stop(stopCtx); err != nil {
		t.Fatal(err)
	}
	j.Close()
	sys2, _ := startTestSystem(t, dir)
	after, replayed, err := sys2.IngestKeyed(ctx, newEvents(3, "keyed"), testKey("k1", "a"))
	if err != nil || !replayed {
		t.Fatalf("retry after a restart: replayed %v, %v", replayed, err)
	}
	sameIDs(t, first, after)
	if _, err := sys2.Ingest(ctx, newEvents(1, "unkeyed")); err != nil {
		t.Fatal(err)
	}
	waitSnapshot(t, sys2, "5 events", func(s *snapshots.Snapshot) bool { return total(s) == 5 })
}

// TestIngestKeyedConcurrentRetriesStoreOnce: requests with one key sent
// together, pending together behind a paused journal with none stored
// before, store the events once; every other one is answered with the
// same IDs.
func TestIngestKeyedConcurrentRetriesStoreOnce(t *testing.T) {
	sys, j := startTestSystem(t, t.TempDir())
	ctx := context.Background()
	if err := sys.Faults().Arm(Fault{Actor: TargetJournal, Fault: FaultPause}); err != nil {
		t.Fatal(err)
	}
	// An unkeyed request holds the paused journal, so the keyed ones all
	// wait in one pending group, with no earlier one stored.
	blocker := make(chan error, 1)
	go func() {
		_, err := sys.Ingest(ctx, newEvents(1, "blocker"))
		blocker <- err
	}()
	testutil.WaitFor(t, testutil.Patience, "the blocker in flight", func() error {
		if n := sys.admission.pending.Load(); n != 1 {
			return fmt.Errorf("%d events admitted", n)
		}
		return nil
	})
	const retries, size = 6, 2
	results := make([][]event.Event, retries)
	replays := make([]bool, retries)
	errs := make([]error, retries)
	var wg sync.WaitGroup
	for i := range retries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], replays[i], errs[i] = sys.IngestKeyed(ctx, newEvents(size, "keyed"), testKey("same", "a"))
		}()
	}
	// Every request admitted (waiting for the journal) before it resumes.
	testutil.WaitFor(t, testutil.Patience, "every request pending", func() error {
		if n := sys.admission.pending.Load(); n != 1+retries*size {
			return fmt.Errorf("%d events admitted", n)
		}
		return nil
	})
	sys.Faults().Clear()
	wg.Wait()
	if err := <-blocker; err != nil {
		t.Fatal(err)
	}
	stored := 0
	for i := range retries {
		if errs[i] != nil {
			t.Fatalf("request %d: %v", i, errs[i])
		}
		if !replays[i] {
			stored++
		}
		sameIDs(t, results[0], results[i])
	}
	if stored != 1 {
		t.Fatalf("%d requests stored their events, want 1", stored)
	}
	waitSnapshot(t, sys, "3 events", func(s *snapshots.Snapshot) bool { return total(s) == 1+size })
	if evs, _, err := j.List(0, 100, time.Time{}); err != nil || len(evs) != 1+size {
		t.Fatalf("journal holds %d events (%v), want %d", len(evs), err, 1+size)
	}
}

// TestIngestKeyedFailedFirstLeavesTheKeyUnused: a request whose append
// failed stored nothing, so its retry stores the events.
func TestIngestKeyedFailedFirstLeavesTheKeyUnused(t *testing.T) {
	sys, _ := startTestSystem(t, t.TempDir())
	ctx := context.Background()
	if err := sys.Faults().Arm(Fault{Actor: TargetJournal, Fault: FaultFail, Count: -1}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := sys.IngestKeyed(ctx, newEvents(1, "keyed"), testKey("k", "a")); !errors.Is(err, ErrJournal) {
		t.Fatalf("append with the journal failing: %v", err)
	}
	sys.Faults().Clear()
	if _, replayed, err := sys.IngestKeyed(ctx, newEvents(1, "keyed"), testKey("k", "a")); err != nil || replayed {
		t.Fatalf("retry: replayed %v, %v", replayed, err)
	}
	waitSnapshot(t, sys, "1 event", func(s *snapshots.Snapshot) bool { return total(s) == 1 })
}
