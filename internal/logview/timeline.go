package logview

import (
	"fmt"
	"sort"
	"time"
)

// Decision is one supervision decision.
type Decision struct {
	Seq    int // its place in the timeline, from 1
	Node   string
	Source string
	Line   int
	Time   time.Time
	Actor  string
	Parent string
	Kind   string
	Reason string
	// Directive is restart, stop, escalate (or resume).
	Directive string
	// Failure is the failure's number within its policy's window (the
	// log's "restarts" field; 0 when the line lacks it).
	Failure int
	Backoff time.Duration
	MsgType string
	Stack   string
	// EscalatedFrom is the child whose escalation this decision handles.
	EscalatedFrom string
	// Escalation links the decisions of one escalation: From is the
	// child's escalate, To the parent's decision on it.
	From, To *Decision

	chain []string
}

// Chain is the escalation a decision is part of, from the actor that
// failed first to the supervisor that decided: nil when it is none. The
// decisions of one chain share the slice.
func (d *Decision) Chain() []string { return d.chain }

// String is a short description, for test failures.
func (d *Decision) String() string {
	return fmt.Sprintf("%s %s %s %s", d.Time.Format(time.RFC3339Nano), d.Actor, d.Directive, d.Reason)
}

// Storm is an actor that failed more than the threshold within the window.
type Storm struct {
	Node     string
	Actor    string
	Kind     string
	Failures int // within the window, from From to To
	From, To time.Time
	// Directives counts its supervisor's decisions in the storm.
	Directives map[string]int
}

// linkEscalations pairs each escalate with its parent's decision on it
// (the next decision of the parent whose reason names the child).
func linkEscalations(all []*Decision) {
	type key struct{ node, parent, child string }
	pending := map[key]*Decision{}
	for _, d := range all {
		if d.EscalatedFrom != "" {
			k := key{d.Node, d.Actor, d.EscalatedFrom}
			if from, ok := pending[k]; ok {
				from.To, d.From = d, from
				delete(pending, k)
			}
		}
		if d.Directive == "escalate" {
			pending[key{d.Node, parentOf(d.Actor), d.Actor}] = d
		}
	}
	for _, d := range all {
		if d.From != nil || d.To == nil {
			continue // not the head of a chain
		}
		var chain []string
		for x := d; x != nil; x = x.To {
			chain = append(chain, x.Actor)
		}
		for x := d; x != nil; x = x.To {
			x.chain = chain
		}
	}
}

// storms finds, for each actor, the window of the given length with the
// most failures, and keeps the actors with more than limit.
func storms(timeline []*Decision, limit int, window time.Duration, prefix string) []*Storm {
	type key struct{ node, actor string }
	by := map[key][]*Decision{}
	var order []key
	for _, d := range timeline {
		if prefix != "" && !underPath(d.Actor, prefix) {
			continue
		}
		k := key{d.Node, d.Actor}
		if _, ok := by[k]; !ok {
			order = append(order, k)
		}
		by[k] = append(by[k], d)
	}
	var res []*Storm
	for _, k := range order {
		ds := by[k]
		best, bestFrom := 0, 0
		for i, j := 0, 0; j < len(ds); j++ {
			for ds[j].Time.Sub(ds[i].Time) > window {
				i++
			}
			if j-i+1 > best {
				best, bestFrom = j-i+1, i
			}
		}
		if best <= limit {
			continue
		}
		s := &Storm{Node: k.node, Actor: k.actor, Kind: ds[0].Kind, Failures: best,
			From: ds[bestFrom].Time, To: ds[bestFrom+best-1].Time, Directives: map[string]int{}}
		for _, d := range ds[bestFrom : bestFrom+best] {
			s.Directives[d.Directive]++
		}
		res = append(res, s)
	}
	sort.SliceStable(res, func(i, j int) bool {
		if res[i].Failures != res[j].Failures {
			return res[i].Failures > res[j].Failures
		}
		return res[i].From.Before(res[j].From)
	})
	return res
}
