package actors

import (
	"runtime"
	"sync"
	"testing"

	"github.com/eventara/eventara/internal/testutil"
)

// TestPoolDispatcherQueuesWithoutGoroutines: with every worker stalled,
// Schedule still returns at once, queues the work instead of starting a
// goroutine per call, and every piece runs once a worker is free;
// after stop, work still runs, and the workers are gone (goleak in
// TestMain).
func TestPoolDispatcherQueuesWithoutGoroutines(t *testing.T) {
	d := newPoolDispatcher(2, 10)
	release := make(chan struct{})
	var ran sync.WaitGroup
	ran.Add(2)
	for range 2 { // stall both workers
		d.Schedule(func() {
			defer ran.Done()
			<-release
		})
	}
	testutil.Eventually(t, "both workers to take their stalled work", func() bool { return d.queued() == 0 })

	before := runtime.NumGoroutine()
	const n = 5000
	var mu sync.Mutex
	seen := make(map[int]int)
	ran.Add(n)
	for i := range n {
		d.Schedule(func() {
			defer ran.Done()
			mu.Lock()
			seen[i]++
			mu.Unlock()
		})
	}
	if got := d.queued(); got != n {
		t.Fatalf("queued = %d, want %d", got, n)
	}
	if grew := runtime.NumGoroutine() - before; grew > 0 {
		t.Fatalf("Schedule started %d goroutines while the workers were stalled", grew)
	}
	close(release)
	ran.Wait()
	for i := range n {
		if seen[i] != 1 {
			t.Fatalf("work %d ran %d times", i, seen[i])
		}
	}

	d.stop()
	ran.Add(1)
	d.Schedule(func() { ran.Done() })
	ran.Wait()
	if d.Throughput() != 10 {
		t.Fatalf("throughput %d", d.Throughput())
	}
}

// TestPoolDispatcherStopRunsQueuedWork: what was queued when stop began
// runs before stop returns.
func TestPoolDispatcherStopRunsQueuedWork(t *testing.T) {
	d := newPoolDispatcher(1, 10)
	release := make(chan struct{})
	d.Schedule(func() { <-release })
	ran := 0
	for range 100 {
		d.Schedule(func() { ran++ }) // one worker: no race
	}
	close(release)
	d.stop()
	if ran != 100 {
		t.Fatalf("ran %d of 100 queued before stop returned", ran)
	}
}
