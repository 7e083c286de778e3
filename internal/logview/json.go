package logview

import (
	"encoding/json"
	"io"
	"time"
)

// The --json document. Times are RFC 3339 with nanoseconds as logged,
// absent when unknown; durations are milliseconds, as the log has them.
type (
	jsonDoc struct {
		Inputs   []string       `json:"inputs"`
		Lines    int            `json:"lines"`
		First    string         `json:"first,omitempty"`
		Last     string         `json:"last,omitempty"`
		Filters  jsonFilters    `json:"filters"`
		Storms   []jsonStorm    `json:"storms"`
		Nodes    []jsonNode     `json:"nodes"`
		Timeline []jsonDecision `json:"timeline"`
		Skipped  []Tally        `json:"skipped"`
		Read     []Tally        `json:"read_older_formats"`
	}
	jsonFilters struct {
		Since         string  `json:"since,omitempty"`
		Until         string  `json:"until,omitempty"`
		At            string  `json:"at,omitempty"`
		Actor         string  `json:"actor,omitempty"`
		StormFailures int     `json:"storm_failures"`
		StormWindowMs float64 `json:"storm_window_ms"`
	}
	jsonStorm struct {
		Node       string         `json:"node"`
		Actor      string         `json:"actor"`
		Kind       string         `json:"kind"`
		Failures   int            `json:"failures"`
		From       string         `json:"from"`
		To         string         `json:"to"`
		Directives map[string]int `json:"directives"`
	}
	jsonNode struct {
		Node       string     `json:"node"`
		Runs       int        `json:"runs"`
		Version    string     `json:"version,omitempty"`
		First      string     `json:"first,omitempty"`
		Last       string     `json:"last,omitempty"`
		ShutdownAt string     `json:"shutdown_at,omitempty"`
		StoppedAt  string     `json:"stopped_at,omitempty"`
		At         string     `json:"at,omitempty"`
		Tree       *jsonActor `json:"tree"`
	}
	jsonActor struct {
		Path        string       `json:"path"`
		Name        string       `json:"name"`
		Kind        string       `json:"kind"`
		State       State        `json:"state"`
		Cause       string       `json:"cause,omitempty"`
		Failures    int          `json:"failures"`
		Restarts    int          `json:"restarts"`
		Stops       int          `json:"stops"`
		Escalations int          `json:"escalations"`
		FirstSeen   string       `json:"first_seen,omitempty"`
		LastSeen    string       `json:"last_seen,omitempty"`
		LastFailure *jsonFailure `json:"last_failure,omitempty"`
		Children    []*jsonActor `json:"children"`
	}
	jsonFailure struct {
		Seq       int    `json:"seq,omitempty"`
		Time      string `json:"time"`
		Directive string `json:"directive"`
		Reason    string `json:"reason"`
	}
	jsonDecision struct {
		Seq           int      `json:"seq"`
		Node          string   `json:"node"`
		Time          string   `json:"time"`
		Actor         string   `json:"actor"`
		Parent        string   `json:"parent"`
		Kind          string   `json:"kind"`
		Directive     string   `json:"directive"`
		Failure       int      `json:"failure"`
		BackoffMs     float64  `json:"backoff_ms"`
		MsgType       string   `json:"msg_type"`
		Reason        string   `json:"reason"`
		EscalatedFrom string   `json:"escalated_from,omitempty"`
		EscalatedTo   int      `json:"escalated_to,omitempty"` // the seq of the parent's decision on this escalate
		Chain         []string `json:"chain,omitempty"`        // on an escalation's first decision: the actors from it to the supervisor that decided
		Source        string   `json:"source"`
		Stack         string   `json:"stack,omitempty"`
	}
)

// WriteJSON prints the analysis as one JSON document (for machines): the
// storms, each node's tree, the timeline and what was skipped.
func (a *Analysis) WriteJSON(w io.Writer) error {
	doc := jsonDoc{Inputs: a.Inputs, Lines: a.Lines, First: stamp(a.First), Last: stamp(a.Last),
		Filters: jsonFilters{Since: stamp(a.Since), Until: stamp(a.Until), At: stamp(a.At), Actor: a.Actor,
			StormFailures: a.StormFailures, StormWindowMs: ms(a.StormWindow)},
		Storms: []jsonStorm{}, Nodes: []jsonNode{}, Timeline: []jsonDecision{}, Skipped: a.Skipped, Read: a.Read}
	if doc.Inputs == nil {
		doc.Inputs = []string{}
	}
	if doc.Skipped == nil {
		doc.Skipped = []Tally{}
	}
	if doc.Read == nil {
		doc.Read = []Tally{}
	}
	for _, s := range a.Storms {
		doc.Storms = append(doc.Storms, jsonStorm{Node: s.Node, Actor: s.Actor, Kind: s.Kind, Failures: s.Failures,
			From: stamp(s.From), To: stamp(s.To), Directives: s.Directives})
	}
	for _, n := range a.Nodes {
		doc.Nodes = append(doc.Nodes, jsonNode{Node: n.Name, Runs: n.Runs, Version: n.Version, First: stamp(n.First),
			Last: stamp(n.Last), ShutdownAt: stamp(n.ShutdownAt), StoppedAt: stamp(n.StoppedAt), At: stamp(n.At),
			Tree: jsonTree(n.Root)})
	}
	for _, d := range a.Timeline {
		j := jsonDecision{Seq: d.Seq, Node: d.Node, Time: stamp(d.Time), Actor: d.Actor,
			Parent: d.Parent, Kind: d.Kind, Directive: d.Directive, Failure: d.Failure, BackoffMs: ms(d.Backoff),
			MsgType: d.MsgType, Reason: d.Reason, EscalatedFrom: d.EscalatedFrom,
			Source: d.Source + ":" + itoa(d.Line), Stack: d.Stack}
		if d.To != nil {
			j.EscalatedTo = d.To.Seq // 0, so absent, when the filters left it out
		}
		if d.From == nil {
			j.Chain = d.Chain() // once per chain: a chain's length times its decisions could be large
		}
		doc.Timeline = append(doc.Timeline, j)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

func jsonTree(a *Actor) *jsonActor {
	j := &jsonActor{Path: a.Path, Name: a.Name, Kind: a.Kind, State: a.State, Cause: a.Cause, Failures: a.Failures,
		Restarts: a.Restarts, Stops: a.Stops, Escalations: a.Escalations, FirstSeen: stamp(a.FirstSeen),
		LastSeen: stamp(a.LastSeen), Children: make([]*jsonActor, 0, len(a.Children))}
	if d := a.LastFailure; d != nil {
		j.LastFailure = &jsonFailure{Seq: d.Seq, Time: stamp(d.Time), Directive: d.Directive, Reason: d.Reason}
	}
	for _, c := range a.Children {
		j.Children = append(j.Children, jsonTree(c))
	}
	return j
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339Nano)
}

// ms is a duration in milliseconds, to the microsecond.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
