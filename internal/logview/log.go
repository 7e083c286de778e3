package logview

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// Input is one log to read.
type Input struct {
	// Name names the input in what is printed ("-" or "" for stdin); the
	// node its lines came from is named after it unless a line has a
	// "node" field.
	Name string
	R    io.Reader
}

// ReadOptions says what Read keeps.
type ReadOptions struct {
	// MaxLine bounds a line's length (DefaultMaxLine when zero).
	MaxLine int
	// MinLevel drops the lines below it (none when LevelUnknown).
	MinLevel Level
	// Stacks keeps the supervision decisions' stacks (they are most of a
	// decision's bytes).
	Stacks bool
}

// Log is what was read from the inputs: the records that matter for the
// tree, merged by time, and what was skipped.
type Log struct {
	// Records are the lines with an actor and the process's own start and
	// stop lines, in time order across inputs; the lines of one input keep
	// their order.
	Records []Record
	// Inputs are the inputs' display names, in the order given.
	Inputs []string
	// Lines counts every line read, records or not.
	Lines int

	skips [numSkips]tally
	notes [numNotes]tally
}

// tally counts the lines of one kind and remembers where the first was.
type tally struct {
	count int
	first string // input:line
}

func (t *tally) add(where func() string) {
	if t.count == 0 {
		t.first = where()
	}
	t.count++
}

// Read reads every input to its end, tolerating whatever is not an
// Eventara log line (it is counted, see Analysis.Skipped). An error is an
// input that could not be read; what was read before it is kept.
func Read(inputs []Input, opts ReadOptions) (*Log, error) {
	l := &Log{}
	names := nodeNames(inputs)
	interned := map[string]string{}
	intern := func(s string) string {
		if v, ok := interned[s]; ok {
			return v
		}
		interned[s] = s
		return s
	}
	per := make([][]Record, len(inputs))
	var errs []error
	for i, in := range inputs {
		l.Inputs = append(l.Inputs, displayName(in.Name))
		recs, err := l.readOne(in, names[i], opts, intern)
		per[i] = recs
		if err != nil {
			errs = append(errs, fmt.Errorf("read %s: %w", displayName(in.Name), err))
		}
	}
	l.Records = merge(per)
	if len(errs) > 0 {
		return l, errs[0]
	}
	return l, nil
}

func (l *Log) readOne(in Input, node string, opts ReadOptions, intern func(string) string) ([]Record, error) {
	name := displayName(in.Name)
	lr := NewLineReader(in.R, opts.MaxLine)
	var recs []Record
	for {
		line, err := lr.Next()
		if err == io.EOF {
			return recs, nil
		}
		if err != nil {
			return recs, err
		}
		l.Lines++
		where := func() string { return name + ":" + itoa(line.N) }
		if line.TooLong {
			l.skips[skipTooLong].add(where)
			continue
		}
		r, why, ns := parseLine(line.Text, intern)
		if why == skipNotJSON && line.Unterminated {
			why = skipTruncated
		}
		if why != skipNone {
			l.skips[why].add(where)
			continue
		}
		ns.each(func(n note) { l.notes[n].add(where) })
		if opts.MinLevel != LevelUnknown && r.Level < opts.MinLevel {
			continue
		}
		if r.Actor == "" && !processLine(r.Msg) {
			continue // a line of the process's other parts: nothing for the tree
		}
		if !opts.Stacks {
			r.Stack = ""
		}
		r.Source, r.Line = name, line.N
		if r.Node == "" {
			r.Node = node
		}
		recs = append(recs, r)
	}
}

// processLine reports whether a line without an actor tells something of
// the process: a start (state recovered before the actors are spawned),
// its address and version, its shutdown.
func processLine(msg string) bool {
	switch msg {
	case msgRecovered, msgListening, msgShuttingDown, msgStopped:
		return true
	}
	return false
}

func displayName(name string) string {
	if name == "" || name == "-" {
		return "stdin"
	}
	return name
}

// nodeNames names each input's node: its file name, or the name as given
// when two inputs share a file name.
func nodeNames(inputs []Input) []string {
	names := make([]string, len(inputs))
	seen := map[string]int{}
	for i, in := range inputs {
		names[i] = filepath.Base(displayName(in.Name))
		seen[names[i]]++
	}
	for i, in := range inputs {
		if seen[names[i]] > 1 {
			names[i] = strings.TrimPrefix(displayName(in.Name), "./")
		}
	}
	return names
}

// merge merges each input's records by time, keeping the order of each
// input's own (a line written later can carry a slightly earlier time:
// zerolog stamps a line when it starts it).
func merge(per [][]Record) []Record {
	n := 0
	for _, p := range per {
		n += len(p)
	}
	out := make([]Record, 0, n)
	heads := make([]int, len(per))
	for len(out) < n {
		best := -1
		for i, p := range per {
			if heads[i] < len(p) && (best < 0 || p[heads[i]].Time.Before(per[best][heads[best]].Time)) {
				best = i
			}
		}
		out = append(out, per[best][heads[best]])
		heads[best]++
	}
	return out
}
