package logview

import (
	"sort"
	"strings"
	"time"
)

// Options are an analysis' filters and thresholds. The zero value shows
// everything, with the default storm threshold.
type Options struct {
	// Since and Until bound the decisions counted, listed and searched for
	// storms; lines before Since still tell the tree's state.
	Since, Until TimeSpec
	// At is the moment the tree shows (default: Until, else the end of the
	// log); lines after it are not read.
	At TimeSpec
	// Actor keeps the actors at this path and below (and their
	// ancestors, for the shape), as a fault's path prefix does.
	Actor string
	// A storm is an actor that failed more than StormFailures times within
	// StormWindow (zero: 3 and one minute).
	StormFailures int
	StormWindow   time.Duration
}

// Defaults of Options.
const (
	DefaultStormFailures = 3
	DefaultStormWindow   = time.Minute
)

// State is an actor's state at the moment the tree shows.
type State string

// States.
const (
	// StateRunning: started, or restarted after a failure.
	StateRunning State = "running"
	// StateRestarting: its supervisor decided to restart it and the backoff
	// had not passed yet.
	StateRestarting State = "restarting"
	// StateEscalated: it escalated a failure and no decision of its parent
	// followed (the log ends there).
	StateEscalated State = "escalated"
	// StateStopped: stopped by its supervisor, closed, stopped with an
	// ancestor, or gone with its process.
	StateStopped State = "stopped"
)

// Analysis is what a log says about the supervision tree.
type Analysis struct {
	// Nodes are the processes whose logs were read, by name.
	Nodes []*Node
	// Timeline is every supervision decision in the view, in time order.
	Timeline []*Decision
	// Storms are the actors that failed more than StormFailures times
	// within StormWindow, worst first.
	Storms []*Storm
	// Skipped are the kinds of lines not read, Read the older formats that
	// were read.
	Skipped, Read []Tally

	Inputs []string
	Lines  int
	// First and Last are the times of the first and the last record.
	First, Last time.Time
	// Since, Until and At are the options' times, resolved (zero: none).
	Since, Until, At time.Time
	Actor            string
	StormFailures    int
	StormWindow      time.Duration
}

// Tally is a kind of line and how many there were.
type Tally struct {
	What  string `json:"what"`
	Count int    `json:"count"`
	First string `json:"first"` // where the first was: input:line
}

// Node is one process (one node of a cluster): its tree and its runs.
type Node struct {
	Name string
	// First and Last are the times of its first and last record.
	First, Last time.Time
	// Runs counts the process starts in its log.
	Runs    int
	Version string
	// ShutdownAt is when it began a clean shutdown, StoppedAt when it
	// finished one (zero: the log shows none; killed, crashed or still
	// running).
	ShutdownAt, StoppedAt time.Time
	// At is the moment Root shows.
	At   time.Time
	Root *Actor

	actors    map[string]*Actor
	active    bool // actor lines since the last process start
	lifecycle bool // its current run writes "actor started" lines
}

// Actor is one actor path of a node's tree.
type Actor struct {
	Path string
	Name string
	Kind string
	// State and, unless running, why (Cause).
	State State
	Cause string
	// Failures counts the supervision decisions about it (in the view);
	// Restarts, Stops and Escalations count them by directive.
	Failures, Restarts, Stops, Escalations int
	FirstSeen, LastSeen                    time.Time
	LastFailure                            *Decision
	Children                               []*Actor

	restartDue    time.Time
	byProcessExit bool // stopped because its process ended
}

// Analyze builds the tree, the timeline and the storms from a log.
func Analyze(l *Log, opts Options) *Analysis {
	a := &Analysis{Inputs: l.Inputs, Lines: l.Lines, Actor: opts.Actor,
		StormFailures: opts.StormFailures, StormWindow: opts.StormWindow}
	if a.StormFailures <= 0 {
		a.StormFailures = DefaultStormFailures
	}
	if a.StormWindow <= 0 {
		a.StormWindow = DefaultStormWindow
	}
	for i := range l.Records {
		t := l.Records[i].Time
		if a.First.IsZero() || t.Before(a.First) {
			a.First = t
		}
		if t.After(a.Last) {
			a.Last = t
		}
	}
	a.Since = opts.Since.resolve(a.First, a.Last)
	a.Until = opts.Until.resolve(a.First, a.Last)
	a.At = opts.At.resolve(a.First, a.Last)
	end := a.Until
	if !a.At.IsZero() && (end.IsZero() || a.At.Before(end)) {
		end = a.At
	}

	nodes := map[string]*Node{}
	var all []*Decision
	for i := range l.Records {
		r := &l.Records[i]
		if !end.IsZero() && r.Time.After(end) {
			continue
		}
		n := nodes[r.Node]
		if n == nil {
			n = &Node{Name: r.Node, First: r.Time, actors: map[string]*Actor{}}
			n.Root = &Actor{Path: rootPath, Name: rootPath, Kind: rootPath, State: StateRunning}
			nodes[r.Node] = n
		}
		if r.Time.After(n.Last) {
			n.Last = r.Time
		}
		if d := n.apply(r, a.Since); d != nil {
			all = append(all, d)
		}
	}
	for _, n := range nodes {
		n.At = end
		if n.At.IsZero() {
			n.At = n.Last
		}
		n.settle()
		a.Nodes = append(a.Nodes, n)
	}
	sort.Slice(a.Nodes, func(i, j int) bool { return a.Nodes[i].Name < a.Nodes[j].Name })

	linkEscalations(all)
	chains := map[*string]bool{} // whether a chain matches the actor filter, by its first element
	for _, d := range all {
		if d.Time.Before(a.Since) || !a.matches(d, chains) {
			continue
		}
		d.Seq = len(a.Timeline) + 1
		a.Timeline = append(a.Timeline, d)
	}
	a.Storms = storms(a.Timeline, a.StormFailures, a.StormWindow, a.Actor)
	if a.Actor != "" {
		for _, n := range a.Nodes {
			if pruned := prune(n.Root, a.Actor); pruned != nil {
				n.Root = pruned
			} else {
				n.Root = &Actor{Path: rootPath, Name: rootPath, Kind: rootPath, State: StateRunning}
			}
		}
	}
	for k := skip(1); k < numSkips; k++ {
		if t := l.skips[k]; t.count > 0 {
			a.Skipped = append(a.Skipped, Tally{What: skipNames[k], Count: t.count, First: t.first})
		}
	}
	for k := note(0); k < numNotes; k++ {
		if t := l.notes[k]; t.count > 0 {
			a.Read = append(a.Read, Tally{What: noteNames[k], Count: t.count, First: t.first})
		}
	}
	return a
}

// matches reports whether a decision is in the actor filter: its actor, or
// one of its escalation chain, is at or below the filter's path. chains
// remembers the answer for each chain.
func (a *Analysis) matches(d *Decision, chains map[*string]bool) bool {
	if a.Actor == "" || underPath(d.Actor, a.Actor) {
		return true
	}
	chain := d.Chain()
	if len(chain) == 0 {
		return false
	}
	m, ok := chains[&chain[0]]
	if !ok {
		for _, p := range chain {
			if m = underPath(p, a.Actor); m {
				break
			}
		}
		chains[&chain[0]] = m
	}
	return m
}

// apply reads one record into the node's tree; a supervision decision is
// returned. Decisions before since change the state but are not counted.
func (n *Node) apply(r *Record, since time.Time) *Decision {
	if r.Actor == "" {
		switch r.Msg {
		case msgRecovered: // before the actors are spawned: a process starts
			if n.active {
				n.processEnded(r.Time)
			}
			if n.Runs == 0 || n.active {
				n.Runs++
			}
			n.active, n.lifecycle = false, false
			n.ShutdownAt, n.StoppedAt = time.Time{}, time.Time{}
		case msgListening:
			n.Version = r.Version
		case msgShuttingDown:
			n.ShutdownAt = r.Time
		case msgStopped:
			n.StoppedAt = r.Time
		}
		return nil
	}
	n.active = true
	a := n.actor(r.Actor)
	if r.Kind != "" {
		a.Kind = r.Kind
	}
	if a.FirstSeen.IsZero() {
		a.FirstSeen = r.Time
	}
	if r.Time.After(a.LastSeen) {
		a.LastSeen = r.Time
	}
	switch {
	case r.Msg == msgDecision:
		return n.decide(a, r, !r.Time.Before(since))
	case r.Msg == msgStarted:
		n.lifecycle = true
		n.start(a)
	case r.Msg == msgRecovered:
		n.start(a)
	case r.Msg == msgClientGone:
		n.stop(a, "client went away")
	case strings.HasPrefix(r.Msg, msgSessionClosed):
		why := r.Msg
		if r.Code != 0 {
			why += " " + itoa(r.Code)
		}
		if r.Reason != "" {
			why += " (" + r.Reason + ")"
		}
		n.stop(a, why)
	default:
		n.revive(a) // a line from an actor whose process had ended: a new run's
	}
	return nil
}

func (n *Node) decide(a *Actor, r *Record, counted bool) *Decision {
	d := &Decision{Node: n.Name, Source: r.Source, Line: r.Line, Time: r.Time, Actor: r.Actor, Parent: r.Parent,
		Kind: r.Kind, Reason: r.Reason, Directive: r.Directive, Failure: r.Failure, Backoff: r.Backoff,
		MsgType: r.MsgType, Stack: r.Stack, EscalatedFrom: escalatedFrom(r.Reason)}
	n.revive(a) // it failed: it was there
	if counted {
		a.Failures++
		a.LastFailure = d
	}
	nth := ""
	if d.Failure > 0 {
		nth = " on failure " + itoa(d.Failure)
	}
	switch d.Directive {
	case "restart":
		if counted {
			a.Restarts++
		}
		a.State, a.Cause, a.restartDue = StateRestarting, "restart decided at "+clock(d.Time)+nth, d.Time.Add(d.Backoff)
		// protoactor stops a restarting actor's children; a parent that
		// spawns them again logs their "actor started".
		n.stopBelow(a, "stopped with the restart of "+a.Path)
	case "stop":
		if counted {
			a.Stops++
		}
		n.stop(a, "stopped by "+d.Parent+nth+": "+d.Reason)
	case "escalate":
		if counted {
			a.Escalations++
		}
		a.State, a.Cause = StateEscalated, "escalated to "+d.Parent+nth
	default:
		a.State, a.Cause = StateRunning, ""
	}
	return d
}

// actor returns the actor at path, adding it (and its ancestors) to the
// tree when it is new.
func (n *Node) actor(path string) *Actor {
	if path == rootPath {
		return n.Root
	}
	if a, ok := n.actors[path]; ok {
		return a
	}
	parent := n.Root
	if p := parentOf(path); p != rootPath {
		parent = n.actor(p)
	}
	a := &Actor{Path: path, Name: path[strings.LastIndexByte(path, '/')+1:], Kind: inferKind(path), State: StateRunning}
	if parent.State == StateStopped {
		a.State, a.Cause, a.byProcessExit = StateStopped, parent.Cause, parent.byProcessExit
	}
	n.actors[path] = a
	parent.Children = append(parent.Children, a)
	return a
}

// start: a (re)start line; it runs.
func (n *Node) start(a *Actor) {
	n.revive(a)
	a.State, a.Cause, a.restartDue = StateRunning, "", time.Time{}
}

// revive brings back an actor (and its ancestors) that was taken as gone
// with an earlier process, when a line shows it in a new one. An actor
// stopped by its supervisor or closed stays stopped: a stopping actor
// still logs (a connection its "session closed").
func (n *Node) revive(a *Actor) {
	for x := a; x != nil && x != n.Root; x = n.parent(x) {
		if x.State == StateStopped && x.byProcessExit {
			x.State, x.Cause, x.byProcessExit = StateRunning, "", false
		}
	}
}

func (n *Node) parent(a *Actor) *Actor {
	p := parentOf(a.Path)
	if p == rootPath {
		return n.Root
	}
	return n.actors[p]
}

// stop stops a and everything below it.
func (n *Node) stop(a *Actor, cause string) {
	if a.State != StateStopped || a.byProcessExit {
		a.State, a.Cause, a.byProcessExit = StateStopped, cause, false
	}
	n.stopBelow(a, "stopped with "+a.Path)
}

func (n *Node) stopBelow(a *Actor, cause string) {
	for _, c := range a.Children {
		if c.State != StateStopped {
			c.State, c.Cause = StateStopped, cause
		}
		n.stopBelow(c, cause)
	}
}

// processEnded: a new process starts in the same log; the actors of the
// one before are gone unless lines show them again.
func (n *Node) processEnded(at time.Time) {
	for _, a := range n.actors {
		if a.State != StateStopped {
			a.State, a.Cause, a.byProcessExit = StateStopped, "gone with its process (a new one started at "+clock(at)+")", true
		}
	}
}

// settle orders the tree and turns restarts whose backoff passed before
// the moment shown into running actors.
func (n *Node) settle() {
	var walk func(a *Actor)
	walk = func(a *Actor) {
		if a.State == StateRestarting && !n.At.Before(a.restartDue) {
			a.State, a.Cause = StateRunning, ""
		}
		sort.Slice(a.Children, func(i, j int) bool { return a.Children[i].Path < a.Children[j].Path })
		for _, c := range a.Children {
			walk(c)
		}
	}
	walk(n.Root)
}

// prune keeps the actors at or below prefix and their ancestors; nil when
// none is.
func prune(a *Actor, prefix string) *Actor {
	if underPath(a.Path, prefix) {
		return a
	}
	var kept []*Actor
	for _, c := range a.Children {
		if p := prune(c, prefix); p != nil {
			kept = append(kept, p)
		}
	}
	if len(kept) == 0 {
		return nil
	}
	cp := *a
	cp.Children = kept
	return &cp
}

// underPath reports whether path is prefix or below it (a fault's path
// prefix: "sessions/conn-1" is not "sessions/conn-12"'s).
func underPath(path, prefix string) bool {
	prefix = strings.TrimSuffix(prefix, "/")
	rest, ok := strings.CutPrefix(path, prefix)
	return ok && (rest == "" || rest[0] == '/' || prefix == "")
}

// clock is a time as the causes print it.
func clock(t time.Time) string { return t.Format("15:04:05.000") }
