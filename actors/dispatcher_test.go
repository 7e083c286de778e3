package actors

import (
	"sync"
	"testing"
)

// TestPoolDispatcherNeverBlocks: with every worker stalled and the queue
// full, Schedule still returns and the work still runs (on a goroutine of
// its own); after stop, work runs too, and the workers are gone (goleak in
// TestMain).
func TestPoolDispatcherNeverBlocks(t *testing.T) {
	d := newPoolDispatcher(2, 2, 10)
	release := make(chan struct{})
	var ran sync.WaitGroup
	const n = 10 // 2 stalled workers + 2 queued + 6 overflow
	ran.Add(n)
	for range n {
		d.Schedule(func() {
			defer ran.Done()
			<-release
		})
	}
	close(release)
	ran.Wait()

	d.stop()
	ran.Add(1)
	d.Schedule(func() { ran.Done() })
	ran.Wait()
	if d.Throughput() != 10 {
		t.Fatalf("throughput %d", d.Throughput())
	}
}
