package actors

import (
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// Every actor of the tree is spawned through System.instrument, which gives
// its props (and, through its own spawn middleware, its children's):
//   - the supervisor (supervision.go), whatever the props said;
//   - a mailbox that registers itself, so the live tree can show lengths;
//   - the receiver middleware below: panic catcher (records the stack for
//     the supervisor's log line), per-message debug lines, counters, and
//     the fault injector (faults.go).

// registry is the live actor tree: one entry per running actor, added when
// its mailbox is registered, removed when it has stopped.
type registry struct {
	mu     sync.Mutex
	actors map[string]*actorEntry
}

type actorEntry struct {
	pid       *actor.PID
	kind      Kind
	mailbox   actor.Mailbox
	restarts  int
	stack     string // of the last panic, until the supervisor takes it
	transport string // connections: the client's transport
}

func newRegistry() *registry { return &registry{actors: make(map[string]*actorEntry)} }

func (r *registry) add(pid *actor.PID, kind Kind, mb actor.Mailbox) {
	r.mu.Lock()
	r.actors[pid.Id] = &actorEntry{pid: pid, kind: kind, mailbox: mb}
	r.mu.Unlock()
}

// kind is the kind the actor at path was spawned as (KindOther when it is
// not in the tree).
func (r *registry) kind(path string) Kind {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e, ok := r.actors[path]; ok {
		return e.kind
	}
	return KindOther
}

func (r *registry) remove(id string) {
	r.mu.Lock()
	delete(r.actors, id)
	r.mu.Unlock()
}

func (r *registry) update(id string, f func(*actorEntry)) {
	if r == nil {
		return // a bare test system keeps no registry
	}
	r.mu.Lock()
	if e, ok := r.actors[id]; ok {
		f(e)
	}
	r.mu.Unlock()
}

func (r *registry) restarted(id string) { r.update(id, func(e *actorEntry) { e.restarts++ }) }

func (r *registry) takeStack(id string) (stack string) {
	r.update(id, func(e *actorEntry) { stack, e.stack = e.stack, "" })
	return stack
}

// pids returns the running actors of one kind.
func (r *registry) pids(kind Kind) []*actor.PID {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var res []*actor.PID
	for _, e := range r.actors {
		if e.kind == kind {
			res = append(res, e.pid)
		}
	}
	return res
}

// trackedMailbox is protoactor's lock-free unbounded mailbox, registered
// with the registry once its actor's PID is known.
//
// Lock-free rather than actor.Unbounded: that one's ring buffer takes a
// mutex on every push and pop and never shrinks once a burst has grown it;
// this one is a linked queue (a swap and a store per push) whose nodes go
// back to the heap. At 10,000 subscribers (scripts/bench.sh fanout) one
// pair of runs gave 16.2 µs of server CPU per delivery before and 14.5
// after, a step about as large as the noise between runs there.
type trackedMailbox struct {
	actor.Mailbox
	reg *registry
}

func (m *trackedMailbox) RegisterHandlers(inv actor.MessageInvoker, d actor.Dispatcher) {
	if c, ok := inv.(actor.Context); ok && c.Self() != nil {
		m.reg.add(c.Self(), kindOf(c.Actor()), m.Mailbox)
	}
	m.Mailbox.RegisterHandlers(inv, d)
}

// kinded is an actor of the tree as protoactor holds it: the actor and the
// kind it was spawned as. props makes every one.
type kinded struct {
	actor.Actor
	kind Kind
}

// props describes an actor of the tree: kind, set here where it is
// spawned, picks its supervision policy and names it everywhere; produce
// makes each incarnation.
func props(kind Kind, produce func() actor.Actor, opts ...actor.PropsOption) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor { return &kinded{Actor: produce(), kind: kind} }, opts...)
}

// kindOf is the kind an actor was spawned as.
func kindOf(a actor.Actor) Kind {
	if k, ok := a.(*kinded); ok {
		return k.kind
	}
	return KindOther
}

// instrument is the spawn middleware of the root context and of every
// actor spawned through it. It copies the child's props, so props values
// reused by a caller are never changed.
func (s *System) instrument(next actor.SpawnFunc) actor.SpawnFunc {
	return func(as *actor.ActorSystem, id string, props *actor.Props, parent actor.SpawnerContext) (*actor.PID, error) {
		p := *props
		p.Configure(
			actor.WithSupervisor(s.sup),
			actor.WithMailbox(func() actor.Mailbox { return &trackedMailbox{Mailbox: actor.UnboundedLockfree()(), reg: s.reg} }),
			actor.WithReceiverMiddleware(s.receive),
			actor.WithSpawnMiddleware(s.instrument),
		)
		return next(as, id, &p, parent)
	}
}

// receive is the receiver middleware of every actor.
func (s *System) receive(next actor.ReceiverFunc) actor.ReceiverFunc {
	return func(ctx actor.ReceiverContext, env *actor.MessageEnvelope) {
		defer func() {
			if v := recover(); v != nil {
				stack := string(debug.Stack())
				s.reg.update(ctx.Self().Id, func(e *actorEntry) { e.stack = stack })
				panic(v) // on to the mailbox, which hands it to the supervisor
			}
		}()
		switch env.Message.(type) {
		case *actor.Started:
			s.logStarted(ctx)
		case *actor.Stopped:
			defer s.reg.remove(ctx.Self().Id)
		}
		if s.debugLog {
			id := ctx.Self().Id
			s.log.Debug().Str("actor", id).Str("parent", parentOf(id)).Str("msg_type", typeName(env.Message)).Msg("message")
		}
		if s.faults.armed() && !s.faults.intercept(ctx, env) {
			return
		}
		next(ctx, env)
	}
}

// logStarted writes the tree's one lifecycle line, "actor started", at
// each start of an actor: its first and every restart (a restarted actor
// gets Started again), and the children a restarted parent spawns anew.
// It is the evidence `eventara logs` has that a restart happened and that
// an actor exists while nothing fails. Per-client actors (connections,
// subscriptions: thousands) log it at Debug, the others at Info.
func (s *System) logStarted(ctx actor.ReceiverContext) {
	id, kind := ctx.Self().Id, kindOf(ctx.Actor())
	ev := s.log.Info()
	if kind == KindConnection || kind == KindSubscription {
		ev = s.log.Debug()
	}
	ev.Str("actor", id).Str("parent", parentOf(id)).Str("kind", string(kind)).Msg("actor started")
}

// ActorNode is one actor of the live tree (GET /api/v1/system/actors).
type ActorNode struct {
	Path     string       `json:"path"`
	Kind     Kind         `json:"kind"`
	Mailbox  int          `json:"mailbox"`
	Restarts int          `json:"restarts"`
	Children []*ActorNode `json:"children"`
}

// ActorTree returns the live supervision tree: the root with its running
// actors, each with its mailbox length and restart count.
func (s *System) ActorTree() *ActorNode {
	root := &ActorNode{Path: string(KindRoot), Kind: KindRoot, Children: []*ActorNode{}}
	s.reg.mu.Lock()
	nodes := make(map[string]*ActorNode, len(s.reg.actors))
	for id, e := range s.reg.actors {
		n := &ActorNode{Path: id, Kind: e.kind, Restarts: e.restarts, Children: []*ActorNode{}}
		if e.mailbox != nil {
			n.Mailbox = e.mailbox.UserMessageCount()
		}
		nodes[id] = n
	}
	s.reg.mu.Unlock()
	for id, n := range nodes {
		parent := root
		if p := parentOf(id); p != string(KindRoot) {
			if pn, ok := nodes[p]; ok {
				parent = pn
			}
		}
		parent.Children = append(parent.Children, n)
	}
	var sortTree func(n *ActorNode)
	sortTree = func(n *ActorNode) {
		sort.Slice(n.Children, func(i, j int) bool { return n.Children[i].Path < n.Children[j].Path })
		for _, c := range n.Children {
			sortTree(c)
		}
	}
	sortTree(root)
	return root
}

// Connections counts the client sessions by transport, for metrics.
func (s *System) Connections() map[string]int {
	s.reg.mu.Lock()
	defer s.reg.mu.Unlock()
	res := make(map[string]int)
	for _, e := range s.reg.actors {
		if e.kind == KindConnection {
			res[e.transport]++
		}
	}
	return res
}

// Subscriptions counts the live subscription actors, for metrics.
func (s *System) Subscriptions() int {
	s.reg.mu.Lock()
	defer s.reg.mu.Unlock()
	n := 0
	for _, e := range s.reg.actors {
		if e.kind == KindSubscription {
			n++
		}
	}
	return n
}

// CheckpointAge is the time since the last checkpoint was written; false
// before the first one.
func (s *System) CheckpointAge() (time.Duration, bool) {
	ms := s.checkpointAt.Load()
	if ms <= 0 {
		return 0, false
	}
	return s.now().Sub(time.UnixMilli(ms)), true
}

// isPrefixPath reports whether path is prefix or below it.
func isPrefixPath(path, prefix string) bool {
	rest, ok := strings.CutPrefix(path, prefix)
	return ok && (rest == "" || rest[0] == '/' || prefix[len(prefix)-1] == '/')
}
