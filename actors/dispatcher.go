package actors

import (
	"sync"

	"github.com/asynkron/protoactor-go/actor"
)

// poolDispatcher runs the mailboxes of connection and subscription actors on
// a few long-lived goroutines instead of one new goroutine per activation
// (protoactor's default). A tick activates every subscription's mailbox
// once; a fresh goroutine for each starts on a small stack and grows it
// (runtime.copystack was ~8% of server CPU at 10,000 subscribers), while a
// pool worker's stack is grown once.
//
// Queue: the mailboxes waiting for a worker, in a FIFO.
// Bound: the number of mailboxes that use the pool, never more: a
// protoactor mailbox schedules itself only on its idle → running
// transition (defaultMailbox.schedule), so each is queued or running at
// most once. Those are the live connection and subscription actors,
// bounded by MaxSessions × (1 + MaxSubscriptions).
// At the bound: nothing to refuse; Schedule never blocks (a sender may be
// a worker itself) and never starts a goroutine while the pool runs, so a
// stalled actor holds one worker and the others go on. Guarded by
// TestPoolDispatcherQueuesWithoutGoroutines.
//
// After stop, the workers finish what is queued and exit; a mailbox
// scheduled after that (only while the system shuts its actors down) runs
// on a goroutine of its own, again at most one per mailbox.
type poolDispatcher struct {
	throughput int

	mu      sync.Mutex
	ready   sync.Cond // signalled when queue gains work or the pool stops
	queue   []func()  // queue[head:] waits; compacted as it drains
	head    int
	stopped bool
	exited  sync.WaitGroup
}

func newPoolDispatcher(workers, throughput int) *poolDispatcher {
	d := &poolDispatcher{throughput: throughput}
	d.ready.L = &d.mu
	d.exited.Add(workers)
	for range workers {
		go d.run()
	}
	return d
}

func (d *poolDispatcher) run() {
	defer d.exited.Done()
	for {
		fn, ok := d.take()
		if !ok {
			return
		}
		fn()
	}
}

// take waits for the next queued mailbox; false once the pool has
// stopped and nothing is left.
func (d *poolDispatcher) take() (func(), bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for d.head == len(d.queue) {
		if d.stopped {
			return nil, false
		}
		d.ready.Wait()
	}
	fn := d.queue[d.head]
	d.queue[d.head] = nil
	d.head++
	switch {
	case d.head == len(d.queue):
		d.queue, d.head = d.queue[:0], 0
	case d.head > 1024 && d.head*2 > len(d.queue):
		n := copy(d.queue, d.queue[d.head:])
		clear(d.queue[n:])
		d.queue, d.head = d.queue[:n], 0
	}
	return fn, true
}

// Schedule implements actor.Dispatcher.
func (d *poolDispatcher) Schedule(fn func()) {
	d.mu.Lock()
	if d.stopped {
		d.mu.Unlock()
		go fn()
		return
	}
	d.queue = append(d.queue, fn)
	d.mu.Unlock()
	d.ready.Signal()
}

// Throughput implements actor.Dispatcher.
func (d *poolDispatcher) Throughput() int { return d.throughput }

// queued is how many mailboxes wait for a worker.
func (d *poolDispatcher) queued() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.queue) - d.head
}

// stop lets the workers finish what is queued, then waits for them to exit.
func (d *poolDispatcher) stop() {
	d.mu.Lock()
	d.stopped = true
	d.mu.Unlock()
	d.ready.Broadcast()
	d.exited.Wait()
}

// pushProps adds the system's push dispatcher, when there is one, to the
// props of connection and subscription actors.
func (s *System) pushProps(opts ...actor.PropsOption) []actor.PropsOption {
	if s.pushDispatcher != nil {
		opts = append(opts, actor.WithDispatcher(s.pushDispatcher))
	}
	return opts
}
