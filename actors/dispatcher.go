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
// Bounded and never blocking: Schedule hands the mailbox to a worker
// through a buffered queue; when the queue is full, or after stop, it falls
// back to a new goroutine, so a stalled actor can never starve the others.
type poolDispatcher struct {
	work       chan func()
	done       chan struct{}
	throughput int
	// mu orders Schedule against stop: once stop has marked the pool
	// stopped, nothing more is queued, so its drain sees every queued fn.
	mu      sync.RWMutex
	stopped bool
}

func newPoolDispatcher(workers, queue, throughput int) *poolDispatcher {
	d := &poolDispatcher{work: make(chan func(), queue), done: make(chan struct{}), throughput: throughput}
	for range workers {
		go d.run()
	}
	return d
}

func (d *poolDispatcher) run() {
	for {
		select {
		case fn := <-d.work:
			fn()
		case <-d.done:
			return
		}
	}
}

// Schedule implements actor.Dispatcher.
func (d *poolDispatcher) Schedule(fn func()) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.stopped {
		go fn()
		return
	}
	select {
	case d.work <- fn:
	default:
		go fn()
	}
}

// Throughput implements actor.Dispatcher.
func (d *poolDispatcher) Throughput() int { return d.throughput }

// stop ends the workers; mailboxes scheduled after it get a goroutine each,
// and so does work still queued.
func (d *poolDispatcher) stop() {
	d.mu.Lock()
	d.stopped = true
	close(d.done)
	d.mu.Unlock()
	for {
		select {
		case fn := <-d.work:
			go fn()
		default:
			return
		}
	}
}

// pushProps adds the system's push dispatcher, when there is one, to the
// props of connection and subscription actors.
func (s *System) pushProps(opts ...actor.PropsOption) []actor.PropsOption {
	if s.pushDispatcher != nil {
		opts = append(opts, actor.WithDispatcher(s.pushDispatcher))
	}
	return opts
}
