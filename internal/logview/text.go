package logview

import (
	"bufio"
	"io"
	"sort"
	"strings"
	"time"
)

// TextOptions says what WriteText prints and how.
type TextOptions struct {
	// Timeline prints the supervision decisions in order instead of the
	// tree.
	Timeline bool
	// Color marks directives, states and storms with ANSI colours (for a
	// terminal).
	Color bool
	// Stacks prints each decision's stack under it in the timeline (when
	// Read kept them).
	Stacks bool
}

// maxIndent bounds the indentation of an escalation chain in the
// timeline (Eventara's tree is three deep; a log can claim anything).
const maxIndent = 8

// reasonWidth bounds a reason in the tree, where it is a reminder; the
// timeline and --json have it whole.
const reasonWidth = 60

// WriteText prints the analysis for people: a summary of what was read,
// the storms first, then each node's tree (or the timeline), then what
// was skipped.
func (a *Analysis) WriteText(w io.Writer, o TextOptions) error {
	bw := bufio.NewWriter(w)
	p := &printer{w: bw, color: o.Color, multiNode: len(a.Nodes) > 1, multiDay: !sameDay(a.First, a.Last)}
	p.summary(a)
	p.storms(a)
	if o.Timeline {
		p.line()
		for _, n := range a.Nodes {
			p.line(p.nodeHeader(n))
		}
		p.timeline(a, o.Stacks)
	} else {
		for _, n := range a.Nodes {
			p.tree(n)
		}
	}
	p.skipped(a)
	return bw.Flush()
}

type printer struct {
	w         *bufio.Writer
	color     bool
	multiNode bool
	multiDay  bool
}

// ANSI styles.
const (
	styleBold    = "1"
	styleDim     = "2"
	styleRed     = "31"
	styleGreen   = "32"
	styleYellow  = "33"
	styleMagenta = "35"
	styleBoldRed = "1;31"
)

// paint wraps s in an ANSI style when colour is on; blanks stay bare, so
// that a row's trailing spaces can be trimmed.
func (p *printer) paint(style, s string) string {
	if !p.color || style == "" || strings.TrimSpace(s) == "" {
		return s
	}
	return "\x1b[" + style + "m" + s + "\x1b[0m"
}

func (p *printer) line(parts ...string) {
	for _, s := range parts {
		p.w.WriteString(s)
	}
	p.w.WriteByte('\n')
}

// when is a time as the tree and the timeline show it: the time of day,
// with the date when the log spans more than one day.
func (p *printer) when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	if p.multiDay {
		return t.Format("01-02 15:04:05.000")
	}
	return t.Format("15:04:05.000")
}

func sameDay(a, b time.Time) bool {
	ay, am, ad := a.Date()
	by, bm, bd := b.In(a.Location()).Date()
	return ay == by && am == bm && ad == bd
}

func (p *printer) summary(a *Analysis) {
	inputs := strings.Join(cleanAll(a.Inputs), ", ")
	if a.First.IsZero() {
		p.line(p.paint(styleBold, "eventara logs"), ": ", plural(a.Lines, "line"), " from ", inputs, "; no Eventara actor lines in them")
		return
	}
	p.line(p.paint(styleBold, "eventara logs"), ": ", plural(a.Lines, "line"), " from ", inputs, ", ",
		a.First.Format("2006-01-02 15:04:05.000"), " → ", p.whenFull(a.First, a.Last), " ", zoneName(a.First),
		" (", humanDuration(a.Last.Sub(a.First)), ")")
	var filters []string
	if !a.Since.IsZero() {
		filters = append(filters, "since "+p.when(a.Since))
	}
	if !a.Until.IsZero() {
		filters = append(filters, "until "+p.when(a.Until))
	}
	if !a.At.IsZero() {
		filters = append(filters, "tree at "+p.when(a.At))
	}
	if a.Actor != "" {
		filters = append(filters, "actors at and below "+clean(a.Actor))
	}
	if len(filters) > 0 {
		p.line("showing ", strings.Join(filters, ", "))
	}
}

// whenFull is t as the summary's end: with the date when it differs from
// the start's.
func (p *printer) whenFull(first, t time.Time) string {
	if sameDay(first, t) {
		return t.Format("15:04:05.000")
	}
	return t.Format("2006-01-02 15:04:05.000")
}

func zoneName(t time.Time) string {
	name, _ := t.Zone()
	return name
}

func (p *printer) storms(a *Analysis) {
	p.line()
	head := "Storms: more than " + plural(a.StormFailures, "failure") + " within " + humanDuration(a.StormWindow)
	if len(a.Storms) == 0 {
		p.line(p.paint(styleBold, head), ": none")
		return
	}
	p.line(p.paint(styleBoldRed, head))
	rows := make([][]string, 0, len(a.Storms))
	for _, s := range a.Storms {
		var ds []string
		for _, d := range directiveOrder(s.Directives) {
			ds = append(ds, d+" ×"+count(s.Directives[d]))
		}
		row := []string{}
		if p.multiNode {
			row = append(row, clean(s.Node))
		}
		row = append(row, s.Actor, clean(s.Kind), plural(s.Failures, "failure")+" in "+humanDuration(s.To.Sub(s.From)),
			p.when(s.From)+" → "+p.when(s.To), strings.Join(ds, ", "))
		rows = append(rows, row)
	}
	widths := columnWidths(rows)
	for _, r := range rows {
		p.line("  ", p.paint(styleRed, p.joinRow(r, widths, nil)))
	}
}

// directiveOrder lists a storm's directives: restart, escalate, stop,
// then any other, by name.
func directiveOrder(m map[string]int) []string {
	rank := map[string]int{"restart": 0, "escalate": 1, "stop": 2}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		ri, oki := rank[keys[i]]
		rj, okj := rank[keys[j]]
		if oki != okj {
			return oki
		}
		if ri != rj {
			return ri < rj
		}
		return keys[i] < keys[j]
	})
	for i, k := range keys {
		keys[i] = clean(k)
	}
	return keys
}

func (p *printer) nodeHeader(n *Node) string {
	var b strings.Builder
	b.WriteString(p.paint(styleBold, "Node "+clean(n.Name)) + ": ")
	switch n.Runs {
	case 0:
		b.WriteString("the log starts while the process runs")
	default:
		b.WriteString(plural(n.Runs, "process start"))
	}
	if n.Version != "" {
		b.WriteString(" (version " + clean(n.Version) + ")")
	}
	switch {
	case !n.StoppedAt.IsZero():
		b.WriteString("; stopped cleanly at " + p.when(n.StoppedAt))
	case !n.ShutdownAt.IsZero():
		b.WriteString("; a shutdown began at " + p.when(n.ShutdownAt) + " and did not finish in the log")
	default:
		b.WriteString("; its log ends at " + p.when(n.Last) + " with no shutdown: killed, crashed or still running")
	}
	return b.String()
}

func (p *printer) tree(n *Node) {
	p.line()
	p.line(p.nodeHeader(n))
	p.line("Tree at ", p.when(n.At), ":")
	var rows [][]string
	var styles []string
	var walk func(a *Actor, prefix, branch string)
	walk = func(a *Actor, prefix, branch string) {
		rows = append(rows, []string{prefix + branch + clean(a.Name), clean(a.Kind), string(a.State), actorCounts(a), actorNote(a, p)})
		styles = append(styles, stateStyle(a.State))
		childPrefix := prefix
		switch branch {
		case "├── ":
			childPrefix += "│   "
		case "└── ":
			childPrefix += "    "
		}
		for i, c := range a.Children {
			b := "├── "
			if i == len(a.Children)-1 {
				b = "└── "
			}
			walk(c, childPrefix, b)
		}
	}
	walk(n.Root, "", "")
	// The root is the guardian: no kind nor state to show.
	rows[0] = []string{rows[0][0], "", "", "", ""}
	widths := columnWidths(rows)
	for i, r := range rows {
		p.line(p.joinRow(r, widths, func(c int) string {
			switch c {
			case 1:
				return styleDim
			case 2:
				return styles[i]
			}
			return ""
		}))
	}
}

func stateStyle(s State) string {
	switch s {
	case StateStopped:
		return styleRed
	case StateRestarting, StateEscalated:
		return styleYellow
	}
	return styleGreen
}

// actorCounts is "6 failures: 5 restarts, 1 escalation".
func actorCounts(a *Actor) string {
	if a.Failures == 0 {
		return ""
	}
	var by []string
	if a.Restarts > 0 {
		by = append(by, plural(a.Restarts, "restart"))
	}
	if a.Escalations > 0 {
		by = append(by, plural(a.Escalations, "escalation"))
	}
	if a.Stops > 0 {
		by = append(by, plural(a.Stops, "stop"))
	}
	s := plural(a.Failures, "failure")
	if len(by) > 0 {
		s += ": " + strings.Join(by, ", ")
	}
	return s
}

// actorNote says why an actor is not running, or what its last failure
// was.
func actorNote(a *Actor, p *printer) string {
	if a.State != StateRunning {
		return shorten(clean(a.Cause), reasonWidth+40)
	}
	if d := a.LastFailure; d != nil {
		return "last " + p.when(d.Time) + " " + clean(d.Directive) + ": " + shorten(clean(d.Reason), reasonWidth)
	}
	return ""
}

func (p *printer) timeline(a *Analysis, stacks bool) {
	p.line()
	if len(a.Timeline) == 0 {
		p.line(p.paint(styleBold, "Timeline"), ": no supervision decisions")
		return
	}
	p.line(p.paint(styleBold, "Timeline"), ": ", plural(len(a.Timeline), "supervision decision"))
	in := map[*Decision]bool{}
	for _, d := range a.Timeline {
		in[d] = true
	}
	head := []string{"TIME", "ACTOR", "PARENT", "DIRECTIVE", "#", "BACKOFF", "MESSAGE", "REASON"}
	if p.multiNode {
		head = append([]string{"NODE"}, head...)
	}
	rows := [][]string{head}
	var decided []*Decision // per row, nil for the header and notes
	decided = append(decided, nil)
	shown := map[*Decision]bool{}
	add := func(d *Decision, branch string) {
		failure, backoff := "-", "-"
		if d.Failure > 0 {
			failure = itoa(d.Failure)
		}
		if d.Directive == "restart" {
			backoff = humanDuration(d.Backoff)
		}
		r := []string{p.when(d.Time), branch + d.Actor, clean(d.Parent), clean(d.Directive), failure, backoff, orDash(clean(d.MsgType)), clean(d.Reason)}
		if p.multiNode {
			r = append([]string{clean(d.Node)}, r...)
		}
		rows = append(rows, r)
		decided = append(decided, d)
		shown[d] = true
	}
	for _, d := range a.Timeline {
		if shown[d] {
			continue
		}
		add(d, "")
		// An escalation is shown as the chain it is: each supervisor's
		// decision under the child's escalate.
		for x, depth := d, 0; x.Directive == "escalate"; depth++ {
			indent := strings.Repeat("  ", min(depth, maxIndent))
			if x.To == nil || !in[x.To] {
				r := make([]string, len(head))
				r[len(head)-1] = "(no decision of " + clean(parentOf(x.Actor)) + " on it in the log)"
				r[indexOf(head, "ACTOR")] = indent + "└▶ ?"
				rows = append(rows, r)
				decided = append(decided, nil)
				break
			}
			x = x.To
			add(x, indent+"└▶ ")
		}
	}
	widths := columnWidths(rows)
	dirCol := indexOf(head, "DIRECTIVE")
	for i, r := range rows {
		p.line(p.joinRow(r, widths, func(c int) string {
			switch {
			case i == 0:
				return styleBold
			case c == dirCol:
				return directiveStyle(r[c])
			}
			return ""
		}))
		if d := decided[i]; stacks && d != nil && d.Stack != "" {
			for _, l := range strings.Split(strings.TrimRight(d.Stack, "\n"), "\n") {
				p.line("      ", p.paint(styleDim, clean(l)))
			}
		}
	}
}

func directiveStyle(d string) string {
	switch d {
	case "stop":
		return styleRed
	case "escalate":
		return styleMagenta
	case "restart":
		return styleYellow
	}
	return ""
}

func (p *printer) skipped(a *Analysis) {
	if len(a.Skipped) == 0 && len(a.Read) == 0 {
		return
	}
	p.line()
	if len(a.Skipped) > 0 {
		total := 0
		for _, t := range a.Skipped {
			total += t.Count
		}
		p.line(p.paint(styleBold, "Skipped "+plural(total, "line")), ":")
		for _, t := range a.Skipped {
			p.line("  ", count(t.Count), " × ", t.What, "; the first at ", clean(t.First))
		}
	}
	if len(a.Read) > 0 {
		p.line(p.paint(styleBold, "Read, though in an older or foreign format"), ":")
		for _, t := range a.Read {
			p.line("  ", count(t.Count), " × ", t.What, "; the first at ", clean(t.First))
		}
	}
}

// joinRow pads each cell but the last to its column's width, paints it
// in its column's style (none when style is nil or says ""), and joins the
// cells with two spaces.
func (p *printer) joinRow(r []string, widths []int, style func(col int) string) string {
	var b strings.Builder
	for c, cell := range r {
		if c > 0 {
			b.WriteString("  ")
		}
		if c < len(r)-1 {
			cell = pad(cell, widths[c])
		}
		if style != nil {
			cell = p.paint(style(c), cell)
		}
		b.WriteString(cell)
	}
	return strings.TrimRight(b.String(), " ")
}

func columnWidths(rows [][]string) []int {
	var widths []int
	for _, r := range rows {
		for c, cell := range r {
			if c >= len(widths) {
				widths = append(widths, 0)
			}
			if n := len([]rune(cell)); n > widths[c] {
				widths[c] = n
			}
		}
	}
	return widths
}

func indexOf(xs []string, x string) int {
	for i, s := range xs {
		if s == x {
			return i
		}
	}
	return -1
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func cleanAll(xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = clean(x)
	}
	return out
}
