package actors

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// The supervision tree (README, "Operating Eventara", has the diagram):
//
//	root (a protoactor guardian running supervisor)
//	├── ingest       restart, backoff 10ms→1s, never gives up
//	├── aggregator   restart, backoff 50ms→2s, never gives up; rebuilds
//	│   │            totals and windows from checkpoint + journal tail
//	│   └── window-* restart, backoff 10ms→1s; more than 5 failures in
//	│                30s escalate to the aggregator (which restarts)
//	├── scheduler    restart, backoff 10ms→1s, never gives up
//	├── topic        restart, backoff 10ms→1s, never gives up; its
//	│                subscriber registry is rebuilt from the live tree
//	├── topic-alerts the same, for /topic/alerts
//	├── rules        restart, backoff 50ms→2s, never gives up; rebuilds
//	│   │            rules and alerts from the state snapshot + log
//	│   └── rule-*   restart, 10ms→1s, from the journaled state; more than
//	│                5 failures in 30s stop it (the rule is not evaluated
//	│                until it is changed or enabled again)
//	└── sessions     restart (closes every client: 1011), 10ms→1s
//	    └── conn-*   stop: the client is closed with 1011 and reconnects
//	        └── sub-* restart, 10ms→1s; more than 3 failures in 10s stop it
//
// "Never gives up" is what keeps the process up: a top-level actor has no
// one to escalate to but protoactor's guardian, which cannot escalate and
// would panic; so its restarts go on at the capped delay, each one logged.

// RestartPolicy says how a supervisor treats the failures of one kind of
// child. Zero fields take the kind's documented default (see
// defaultPolicies).
type RestartPolicy struct {
	// MaxRestarts is how many failures within Within are restarted; one
	// more triggers the kind's exhaustion directive (escalate or stop).
	// Zero means the default; negative means no limit.
	MaxRestarts int
	// Within is the window in which failures are counted; a child quiet
	// for Within starts again from InitialBackoff.
	Within time.Duration
	// InitialBackoff is the delay before the first restart; each further
	// failure within Within doubles it, up to MaxBackoff.
	InitialBackoff time.Duration
	// MaxBackoff caps the delay.
	MaxBackoff time.Duration
}

// policy is a RestartPolicy with its kind's fixed directives.
type policy struct {
	RestartPolicy
	// stop: the kind is stopped on its first failure, never restarted.
	stop bool
	// exhausted is the directive once MaxRestarts is passed: escalate,
	// stop or (top-level kinds) restart at MaxBackoff.
	exhausted actor.Directive
}

// Kind is what an actor is, given where it is spawned (see props): it
// picks the actor's supervision policy and names it in logs, metrics,
// fault targets and GET /api/v1/system/actors.
type Kind string

// Actor kinds.
const (
	KindRoot         Kind = "root"
	KindIngest       Kind = "ingest"
	KindAggregator   Kind = "aggregator"
	KindWindow       Kind = "window"
	KindScheduler    Kind = "scheduler"
	KindApplier      Kind = "applier" // cluster mode: reads the stream (applier.go)
	KindTopic        Kind = "topic"
	KindSessions     Kind = "sessions"
	KindConnection   Kind = "connection"
	KindSubscription Kind = "subscription"
	KindRules        Kind = "rules"
	KindRule         Kind = "rule"
	KindNotifier     Kind = "notifier" // notification channels and the outbox (notifier_actor.go)
	KindChannel      Kind = "channel"  // one notification channel's deliveries
	KindOther        Kind = "other"
)

// kinds are the kinds of the tree's actors (KindRoot is the guardian,
// KindOther what was spawned without props).
var kinds = []Kind{KindIngest, KindAggregator, KindWindow, KindScheduler, KindApplier, KindTopic, KindSessions, KindConnection, KindSubscription,
	KindRules, KindRule, KindNotifier, KindChannel}

func defaultPolicies() map[Kind]policy {
	top := func(initial, max time.Duration) policy {
		return policy{RestartPolicy: RestartPolicy{MaxRestarts: -1, Within: time.Minute, InitialBackoff: initial, MaxBackoff: max},
			exhausted: actor.RestartDirective}
	}
	return map[Kind]policy{
		KindIngest:     top(10*time.Millisecond, time.Second),
		KindAggregator: top(50*time.Millisecond, 2*time.Second),
		KindScheduler:  top(10*time.Millisecond, time.Second),
		KindApplier:    top(10*time.Millisecond, time.Second),
		KindTopic:      top(10*time.Millisecond, time.Second),
		KindSessions:   top(10*time.Millisecond, time.Second),
		KindRules:      top(50*time.Millisecond, 2*time.Second),
		KindNotifier:   top(50*time.Millisecond, 2*time.Second),
		KindOther:      top(10*time.Millisecond, time.Second),
		KindWindow: {RestartPolicy: RestartPolicy{MaxRestarts: 5, Within: 30 * time.Second,
			InitialBackoff: 10 * time.Millisecond, MaxBackoff: time.Second}, exhausted: actor.EscalateDirective},
		KindConnection: {stop: true},
		KindRule: {RestartPolicy: RestartPolicy{MaxRestarts: 5, Within: 30 * time.Second,
			InitialBackoff: 10 * time.Millisecond, MaxBackoff: time.Second}, exhausted: actor.StopDirective},
		// A channel actor that keeps failing fails the notifier, which
		// rebuilds from its log.
		KindChannel: {RestartPolicy: RestartPolicy{MaxRestarts: 5, Within: 30 * time.Second,
			InitialBackoff: 10 * time.Millisecond, MaxBackoff: time.Second}, exhausted: actor.EscalateDirective},
		KindSubscription: {RestartPolicy: RestartPolicy{MaxRestarts: 3, Within: 10 * time.Second,
			InitialBackoff: 10 * time.Millisecond, MaxBackoff: time.Second}, exhausted: actor.StopDirective},
	}
}

// backoff is InitialBackoff·2^(n-1) for the n-th failure within the window,
// capped at MaxBackoff, less up to a tenth of jitter (so that siblings
// failing together do not restart in lockstep; never above the cap).
func (p RestartPolicy) backoff(n int) time.Duration {
	d := p.MaxBackoff
	if n < 1 {
		n = 1
	}
	if n <= 32 {
		if x := p.InitialBackoff << (n - 1); x > 0 && x < d {
			d = x
		}
	}
	if j := int64(d / 10); j > 0 {
		d -= time.Duration(rand.Int64N(j))
	}
	return d
}

// SupervisionEvent is one supervision decision, as logged.
type SupervisionEvent struct {
	At        time.Time
	Actor     string // the failed child's path
	Parent    string // its supervisor's path ("root" for top-level actors)
	Kind      Kind
	Reason    string
	Directive string // "restart", "stop" or "escalate"
	// Restarts is the number of failures of this child within its policy's
	// window, this one included.
	Restarts int
	// Backoff is the delay before a restart.
	Backoff time.Duration
	// MsgType is the type of the message being handled when it failed.
	MsgType string
}

// ErrRestarting answers a request whose actor failed while handling it, or
// while it waited in that actor's queue: nothing of it was applied (or, for
// events, nothing was journaled), and the caller may retry.
var ErrRestarting = errors.New("actor restarting")

// EscalatedFailure is the reason a supervisor sees when a child escalated
// a failure it could not absorb.
type EscalatedFailure struct {
	From   string // the path of the actor that failed first
	Reason any
	Stack  string
}

func (e *EscalatedFailure) Error() string {
	return fmt.Sprintf("escalated from %s: %v", e.From, e.Reason)
}

// supervisor is the one SupervisorStrategy of the tree: every parent (and
// the root guardian) uses it, and it picks the policy by the failed
// child's kind. It logs each decision once, at Warn, with the stack the
// panic catcher recorded.
type supervisor struct {
	sys      *System
	policies map[Kind]policy

	mu       sync.Mutex
	pending  map[*time.Timer]func() // restarts waiting out their backoff
	stopping bool
	events   []SupervisionEvent // the newest decisions, at most eventRing
}

const eventRing = 256

func newSupervisor(s *System, overrides map[Kind]RestartPolicy) *supervisor {
	ps := defaultPolicies()
	for kind, o := range overrides {
		p := ps[kind]
		if o.MaxRestarts != 0 {
			p.MaxRestarts = o.MaxRestarts
		}
		if o.Within > 0 {
			p.Within = o.Within
		}
		if o.InitialBackoff > 0 {
			p.InitialBackoff = o.InitialBackoff
		}
		if o.MaxBackoff > 0 {
			p.MaxBackoff = o.MaxBackoff
		}
		ps[kind] = p
	}
	return &supervisor{sys: s, policies: ps, pending: make(map[*time.Timer]func())}
}

func (sv *supervisor) policy(kind Kind) policy {
	if p, ok := sv.policies[kind]; ok {
		return p
	}
	return sv.policies[KindOther]
}

// HandleFailure implements actor.SupervisorStrategy.
func (sv *supervisor) HandleFailure(_ *actor.ActorSystem, sup actor.Supervisor, child *actor.PID,
	rs *actor.RestartStatistics, reason any, message any) {
	kind := sv.sys.reg.kind(child.Id)
	p := sv.policy(kind)
	msg := actor.UnwrapEnvelopeMessage(message)
	topLevel := !strings.Contains(child.Id, "/")

	rs.Fail()
	n := rs.NumberOfFailures(p.Within)
	directive := actor.RestartDirective
	switch {
	case p.stop:
		directive = actor.StopDirective
	case p.MaxRestarts >= 0 && n > p.MaxRestarts:
		directive = p.exhausted
		if directive == actor.EscalateDirective && topLevel {
			directive = actor.RestartDirective // the guardian cannot escalate
		}
	}
	var delay time.Duration
	if directive == actor.RestartDirective {
		delay = p.backoff(n)
	} else {
		rs.Reset()
	}

	stack := sv.sys.reg.takeStack(child.Id)
	if e, ok := reason.(*EscalatedFailure); ok && stack == "" {
		stack = e.Stack
	}
	sv.record(child, kind, reason, directive, n, delay, msg, stack)

	if a, ok := msg.(abandoner); ok && directive != actor.EscalateDirective {
		a.abandon(sv.sys, child)
	}
	switch directive {
	case actor.StopDirective:
		sup.StopChildren(child)
	case actor.EscalateDirective:
		sup.EscalateFailure(&EscalatedFailure{From: child.Id, Reason: reason, Stack: stack}, message)
	default:
		sv.sys.reg.restarted(child.Id)
		sv.sys.metrics.ActorRestarted(string(kind))
		sv.after(delay, func() { sup.RestartChildren(child) })
	}
}

// after runs restart after d, or at once when the system is stopping (so
// Stop never waits out a backoff).
func (sv *supervisor) after(d time.Duration, restart func()) {
	sv.mu.Lock()
	if sv.stopping || d <= 0 {
		sv.mu.Unlock()
		restart()
		return
	}
	var t *time.Timer
	t = time.AfterFunc(d, func() {
		sv.mu.Lock()
		_, ok := sv.pending[t]
		delete(sv.pending, t)
		sv.mu.Unlock()
		if ok {
			restart()
		}
	})
	sv.pending[t] = restart
	sv.mu.Unlock()
}

// stop runs every restart still waiting out its backoff, at once, and
// makes later ones immediate.
func (sv *supervisor) stop() {
	sv.mu.Lock()
	sv.stopping = true
	var due []func()
	for t, f := range sv.pending {
		if t.Stop() {
			due = append(due, f)
		}
		delete(sv.pending, t)
	}
	sv.mu.Unlock()
	for _, f := range due {
		f()
	}
}

func (sv *supervisor) record(child *actor.PID, kind Kind, reason any, d actor.Directive, n int, delay time.Duration, msg any, stack string) {
	ev := SupervisionEvent{At: time.Now(), Actor: child.Id, Parent: parentOf(child.Id), Kind: kind,
		Reason: fmt.Sprint(reason), Directive: directiveName(d), Restarts: n, Backoff: delay, MsgType: typeName(msg)}
	sv.mu.Lock()
	if len(sv.events) >= eventRing {
		copy(sv.events, sv.events[1:])
		sv.events = sv.events[:eventRing-1]
	}
	sv.events = append(sv.events, ev)
	sv.mu.Unlock()
	sv.sys.log.Warn().Str("actor", ev.Actor).Str("parent", ev.Parent).Str("kind", string(kind)).
		Str("reason", ev.Reason).Str("directive", ev.Directive).Int("restarts", n).
		Dur("backoff", delay).Str("msg_type", ev.MsgType).Str("stack", stack).Msg("supervision decision")
	sv.sys.as.EventStream.Publish(&actor.SupervisorEvent{Child: child, Reason: reason, Directive: d})
}

func (sv *supervisor) recent() []SupervisionEvent {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	return append([]SupervisionEvent(nil), sv.events...)
}

// SupervisionEvents returns the newest supervision decisions (at most 256),
// oldest first.
func (s *System) SupervisionEvents() []SupervisionEvent { return s.sup.recent() }

func directiveName(d actor.Directive) string {
	switch d {
	case actor.RestartDirective:
		return "restart"
	case actor.StopDirective:
		return "stop"
	case actor.EscalateDirective:
		return "escalate"
	case actor.ResumeDirective:
		return "resume"
	}
	return d.String()
}

// parentOf is the path of an actor's supervisor ("root" for top-level ones,
// whose protoactor parent is the guardian).
func parentOf(path string) string {
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		return path[:i]
	}
	return string(KindRoot)
}

// typeName is a message's type without the package ("applyBatch").
func typeName(msg any) string {
	if msg == nil {
		return ""
	}
	t := fmt.Sprintf("%T", msg)
	if i := strings.LastIndexByte(t, '.'); i >= 0 {
		t = t[i+1:]
	}
	return t
}
