package actors

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/eventara/eventara/journal"
	"github.com/eventara/eventara/protocol/event"
)

// Fault kinds.
const (
	// FaultPanic makes the actor panic before it handles the message.
	FaultPanic = "panic"
	// FaultStall blocks the actor for Fault.Stall (or until the faults are
	// cleared), then lets it handle the message.
	FaultStall = "stall"
	// FaultDrop makes the actor ignore the message. A request is answered
	// as if its actor had failed on it (ErrRestarting), so no caller waits.
	FaultDrop = "drop"
	// FaultFail (target "journal") makes every journal append fail.
	FaultFail = "fail"
	// FaultPause (target "journal") holds every journal append until the
	// faults are cleared.
	FaultPause = "pause"
)

// TargetJournal is the Fault.Actor that aims a fail or pause at the journal.
const TargetJournal = "journal"

// ErrInjected is the error of an injected journal failure.
var ErrInjected = errors.New("injected fault")

// Fault is one armed fault. It matches the user messages (not lifecycle
// messages) of the actors it targets; the first After matching messages
// pass, then the next Count ones (every one when Count is negative) get the
// fault. Counting is over every targeted actor together.
type Fault struct {
	// Actor is a kind ("window", "aggregator", "subscription", ...: that
	// kind only), or a path prefix ("aggregator/window-last1Minute",
	// "sessions/conn-2": that actor and its subtree), or "journal".
	Actor string `json:"actor"`
	// Fault is panic, stall or drop (fail or pause for the journal).
	Fault string `json:"fault"`
	// Message, when set, is the message type to act on ("applyBatch",
	// "deliver", "inbound", "ingestRequest", ...); empty means any.
	Message string `json:"message,omitempty"`
	// After is how many matching messages pass first.
	After int `json:"after,omitempty"`
	// Count is how many messages get the fault. Zero means 1; negative
	// means every one until the faults are cleared.
	Count int `json:"count,omitempty"`
	// Stall is how long a stall lasts. Zero means until cleared.
	Stall time.Duration `json:"stall,omitempty"`
}

func (f *Fault) validate() error {
	if f.Actor == "" {
		return errors.New("fault: actor is required")
	}
	if f.Actor == TargetJournal {
		if f.Fault != FaultFail && f.Fault != FaultPause {
			return fmt.Errorf("fault: the journal takes %q or %q, not %q", FaultFail, FaultPause, f.Fault)
		}
		return nil
	}
	switch f.Fault {
	case FaultPanic, FaultStall, FaultDrop:
	default:
		return fmt.Errorf("fault: want %q, %q or %q, not %q", FaultPanic, FaultStall, FaultDrop, f.Fault)
	}
	if f.After < 0 {
		return errors.New("fault: after must not be negative")
	}
	return nil
}

type armedFault struct {
	Fault
	byKind bool         // Actor names a kind, not a path
	seen   atomic.Int64 // matching messages so far
}

// targets reports whether the fault aims at the actor at path: by kind
// when Actor is a kind name ("aggregator" is the aggregator alone, not its
// windows), else by path prefix.
func (a *armedFault) targets(kind Kind, path string) bool {
	if a.byKind {
		return string(kind) == a.Actor
	}
	return isPrefixPath(path, a.Actor)
}

// Faults holds the armed faults of a System. It is safe for concurrent use.
type Faults struct {
	sys *System

	mu      sync.Mutex
	list    atomic.Pointer[[]*armedFault]
	cleared chan struct{} // closed (and replaced) by Clear: ends stalls and pauses
	paused  bool
}

func newFaults(s *System) *Faults { return &Faults{sys: s, cleared: make(chan struct{})} }

// Faults returns the fault injector (for tests, and for /debug/faults when
// the binary runs with --fault-injection).
func (s *System) Faults() *Faults { return s.faults }

// Arm adds a fault.
func (f *Faults) Arm(spec Fault) error {
	if err := spec.validate(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if spec.Actor == TargetJournal {
		if spec.Fault == FaultFail {
			f.sys.cfg.Journal.SetFault(fmt.Errorf("%w: journal failure", ErrInjected))
		} else {
			f.paused = true
		}
		return nil
	}
	if spec.Count == 0 {
		spec.Count = 1
	}
	var next []*armedFault
	if cur := f.list.Load(); cur != nil {
		next = append(next, *cur...)
	}
	next = append(next, &armedFault{Fault: spec, byKind: isKind(spec.Actor)})
	f.list.Store(&next)
	return nil
}

// Clear disarms every fault, ends stalls and journal pauses, and lets the
// journal take writes again.
func (f *Faults) Clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.list.Store(nil)
	f.paused = false
	if f.sys.cfg.Journal != nil {
		f.sys.cfg.Journal.SetFault(nil)
	}
	close(f.cleared)
	f.cleared = make(chan struct{})
}

// Armed lists the armed actor faults.
func (f *Faults) Armed() []Fault {
	var res []Fault
	if cur := f.list.Load(); cur != nil {
		for _, a := range *cur {
			res = append(res, a.Fault)
		}
	}
	return res
}

func (f *Faults) armed() bool {
	cur := f.list.Load()
	return cur != nil && len(*cur) > 0
}

func (f *Faults) clearedCh() chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cleared
}

// intercept applies the first fault that fires on this message; false
// means the message is dropped.
func (f *Faults) intercept(ctx actor.ReceiverContext, env *actor.MessageEnvelope) bool {
	switch env.Message.(type) {
	case actor.SystemMessage, actor.AutoReceiveMessage, *actor.Terminated:
		return true
	}
	cur := f.list.Load()
	if cur == nil {
		return true
	}
	id, kind := ctx.Self().Id, kindOf(ctx.Actor())
	for _, a := range *cur {
		if !a.targets(kind, id) {
			continue
		}
		if a.Message != "" && a.Message != typeName(env.Message) {
			continue
		}
		n := a.seen.Add(1)
		if n <= int64(a.After) || (a.Count > 0 && n > int64(a.After+a.Count)) {
			continue
		}
		switch a.Fault.Fault {
		case FaultPanic:
			panic(fmt.Sprintf("injected fault: panic in %s on %s (message %d)", id, typeName(env.Message), n))
		case FaultDrop:
			// A dropped message is lost as if its actor had failed on it:
			// a request's sender is answered, a bounded queue's place freed.
			if m, ok := env.Message.(abandoner); ok {
				m.abandon(f.sys, ctx.Self())
			}
			return false
		case FaultStall:
			var timeout <-chan time.Time
			if a.Stall > 0 {
				t := time.NewTimer(a.Stall)
				defer t.Stop()
				timeout = t.C
			}
			select {
			case <-f.clearedCh():
			case <-timeout:
			}
			return true
		}
	}
	return true
}

// waitJournal holds a journal append while the journal is paused.
func (f *Faults) waitJournal() {
	for {
		f.mu.Lock()
		paused, ch := f.paused, f.cleared
		f.mu.Unlock()
		if !paused {
			return
		}
		<-ch
	}
}

// faultyAppender is the journal as the ingest actor sees it: appends wait
// while the journal is paused.
type faultyAppender struct {
	Appender
	faults *Faults
}

// unwrap returns the journal it wraps (claimKey looks for a keyClaimer).
func (a faultyAppender) unwrap() Appender { return a.Appender }

func (a faultyAppender) Append(recs []event.Record, keys ...journal.Idempotency) error {
	a.faults.waitJournal()
	return a.Appender.Append(recs, keys...)
}

func isKind(name string) bool {
	for _, k := range kinds {
		if string(k) == name {
			return true
		}
	}
	return false
}
