package rules

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Outcome is what one evaluation found.
type Outcome int8

// Outcomes.
const (
	// NoData: the figure is unknown at this tick (not enough history yet,
	// too few events, a key folded into "(other)", no latency recorded).
	// It neither starts nor resolves an alert (see Machine.Step).
	NoData Outcome = iota
	// Clear: the condition does not hold.
	Clear
	// Holds: the condition holds.
	Holds
)

func (o Outcome) String() string {
	switch o {
	case Clear:
		return "clear"
	case Holds:
		return "holds"
	}
	return "no data"
}

// Result is one rule's evaluation at one tick: the input of Machine.Step.
type Result struct {
	At      time.Time
	Outcome Outcome
	// Value and Threshold (Threshold2 for BETWEEN/NOT_BETWEEN) of the term
	// that decided: a composite reports its first deciding condition.
	Value      float64
	Threshold  float64
	Threshold2 *float64
	// Message says what was evaluated and found, or why there is no data.
	Message string
}

// Evaluator evaluates one rule's Config tick after tick. It keeps a bounded
// history of the readings the rule needs, so figures over any window (and
// the window before, for rate of change) come from cumulative counts:
//
//   - Counts over a window are cumulative(now) − cumulative(now − window),
//     each reading taken from a tick. Event counts of an unfiltered rule
//     whose window the snapshot carries (1, 5, 15, 60 or 1440 minutes) are
//     read directly from that tick instead.
//   - Until the history reaches back a whole window (after a start, a
//     restart, or a metrics reset, detected as counts going down) the
//     figure has no data: a rule over W minutes can fire W minutes after it
//     starts observing, at the earliest.
//   - History is sampled at 1 s, or coarser for long spans (at most 1,024
//     readings per series): a window may then be up to one sample step
//     longer than asked.
//
// An Evaluator is not safe for concurrent use: one rule actor owns it. It
// reads the clock only from ticks.
type Evaluator struct {
	cfg   *Config
	terms []*termEval
	now   time.Time
}

// termEval evaluates one Term.
type termEval struct {
	t    Term
	info metricInfo
	s    *series
	// value turns the series' figures into the term's value.
	value func(e *Evaluator) (float64, string, bool)
}

// NewEvaluator returns an evaluator of c with no history.
func NewEvaluator(c *Config) *Evaluator {
	e := &Evaluator{cfg: c}
	for _, t := range c.Terms {
		e.terms = append(e.terms, e.newTerm(t))
	}
	return e
}

// Config returns the evaluated config.
func (e *Evaluator) Config() *Config { return e.cfg }

// series is one reading a term needs from each tick, and its past.
type series struct {
	direct bool // readings are the window's own figures, not cumulative counts
	window time.Duration
	read   func(t *Tick) (x, y float64, ok bool)
	hist   *history // nil when no past is needed

	cur   sample
	curOK bool
}

// observe takes this tick's reading.
func (s *series) observe(t *Tick) {
	x, y, ok := s.read(t)
	s.cur, s.curOK = sample{at: t.At.UnixNano(), x: x, y: y}, ok
	if !ok || s.hist == nil {
		return
	}
	if last, had := s.hist.newest(); had && !s.direct && (x < last.x || y < last.y) {
		s.hist.reset() // counts went down: the metrics were reset
	}
	s.hist.push(t.At, x, y)
}

// figures returns the figures of the window that ended k windows before now
// (0: the current window), or why they are unknown.
func (s *series) figures(now time.Time, k int) (x, y float64, why string) {
	end, ok := s.cur, s.curOK
	if !ok {
		return 0, 0, "no reading at this tick"
	}
	if k > 0 {
		end, ok = s.hist.lookup(now.Add(-time.Duration(k) * s.window))
		if !ok {
			return 0, 0, "not enough history yet for the previous window"
		}
	}
	if s.direct {
		return end.x, end.y, ""
	}
	start, ok := s.hist.lookup(now.Add(-time.Duration(k+1) * s.window))
	if !ok {
		return 0, 0, fmt.Sprintf("not enough history yet: needs %s", dur((time.Duration(k+1))*s.window))
	}
	return end.x - start.x, end.y - start.y, ""
}

// standardWindows are the windows every snapshot carries event counts for.
var standardWindows = []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour, 24 * time.Hour}

// counterSeries reads events and errors over window; keep is how many
// windows before the current one are needed.
func (e *Evaluator) counterSeries(info metricInfo, window time.Duration, keep int) *series {
	c := e.cfg
	s := &series{window: window}
	if !info.errors && len(c.Sources) == 0 && len(c.Types) == 0 && slices.Contains(standardWindows, window) {
		s.direct = true
		s.read = func(t *Tick) (float64, float64, bool) {
			w, ok := t.window(window)
			return float64(w.Events), 0, ok
		}
		if keep > 0 {
			s.hist = newHistory(time.Duration(keep) * window)
		}
		return s
	}
	s.read = func(t *Tick) (float64, float64, bool) { return t.cumulative(c.Sources, c.Types) }
	s.hist = newHistory(time.Duration(keep+1) * window)
	return s
}

// gaugeSeries reads a gauge; keep > 0 keeps its past for rate of change.
func (e *Evaluator) gaugeSeries(metric Metric, window time.Duration, keep int) *series {
	c := e.cfg
	s := &series{direct: true, window: window}
	switch {
	case metric == P95Latency && window > 0:
		s.read = func(t *Tick) (float64, float64, bool) {
			w, ok := t.window(window)
			if !ok || !w.HasLatency || w.LatencyCount == 0 {
				return 0, 0, false
			}
			return w.P95, float64(w.LatencyCount), true
		}
	case metric == AvgLatency && len(c.Sources)+len(c.Types) == 1:
		s.read = func(t *Tick) (float64, float64, bool) {
			v, ok := t.keyAvgLatency(c.Sources, c.Types)
			return v, 0, ok
		}
	default:
		gauge := metrics[metric].gauge
		s.read = func(t *Tick) (float64, float64, bool) {
			v, ok := gauge(t)
			return v, 0, ok
		}
	}
	if keep > 0 {
		s.hist = newHistory(time.Duration(keep) * window)
	}
	return s
}

func (e *Evaluator) newTerm(t Term) *termEval {
	c := e.cfg
	te := &termEval{t: t, info: metrics[t.Metric]}
	switch te.info.fam {
	case famCounter, famAbsence:
		te.s = e.counterSeries(te.info, t.Window, 0)
		te.value = func(e *Evaluator) (float64, string, bool) { return te.counterValue(e, te.info, 0) }
	case famGauge:
		te.s = e.gaugeSeries(t.Metric, t.Window, 0)
		te.value = func(e *Evaluator) (float64, string, bool) {
			v, _, why := te.s.figures(e.now, 0)
			return v, why, why == ""
		}
	case famChange:
		base := metrics[te.info.base]
		if base.fam == famGauge {
			te.s = e.gaugeSeries(te.info.base, t.Window, 1)
		} else {
			te.s = e.counterSeries(base, t.Window, 1)
		}
		te.value = func(e *Evaluator) (float64, string, bool) { return te.changeValue(e, base) }
	case famRatio:
		num, den := c.Numerator, c.Denominator
		te.s = &series{window: t.Window, hist: newHistory(t.Window)}
		te.s.read = func(tk *Tick) (float64, float64, bool) {
			n, _, ok1 := tk.cumulative(nil, []string{num})
			d, _, ok2 := tk.cumulative(nil, []string{den})
			return n, d, ok1 && ok2
		}
		te.value = func(e *Evaluator) (float64, string, bool) {
			n, d, why := te.s.figures(e.now, 0)
			switch {
			case why != "":
				return 0, why, false
			case d < float64(c.MinDenominator) || d == 0:
				return 0, fmt.Sprintf("%s %s events in the window, fewer than minDenominatorEvents %d", num2(d), den, c.MinDenominator), false
			}
			return n / d, "", true
		}
	}
	return te
}

// counterValue computes a counter metric over window k back.
func (te *termEval) counterValue(e *Evaluator, info metricInfo, k int) (float64, string, bool) {
	ev, er, why := te.s.figures(e.now, k)
	if why != "" {
		return 0, why, false
	}
	if info.fam != famAbsence && k == 0 && ev < float64(e.cfg.MinEvents) {
		return 0, fmt.Sprintf("%s events in the window, fewer than minEventsToEvaluate %d", num2(ev), e.cfg.MinEvents), false
	}
	v, ok := info.counter(ev, er, te.s.window.Seconds())
	if !ok {
		return 0, "no events in the window", false
	}
	return v, "", true
}

// changeValue is the % change of the base metric from the previous window.
func (te *termEval) changeValue(e *Evaluator, base metricInfo) (float64, string, bool) {
	var cur, prev float64
	if base.fam == famGauge {
		var why string
		if cur, _, why = te.s.figures(e.now, 0); why != "" {
			return 0, why, false
		}
		if prev, _, why = te.s.figures(e.now, 1); why != "" {
			return 0, why, false
		}
	} else {
		var ok bool
		var why string
		if cur, why, ok = te.counterValue(e, base, 0); !ok {
			return 0, why, false
		}
		if prev, why, ok = te.counterValue(e, base, 1); !ok {
			return 0, "previous window: " + why, false
		}
	}
	switch {
	case prev == 0 && cur == 0:
		return 0, "", true
	case prev == 0:
		return FromZeroChange, "", true
	}
	return (cur - prev) / math.Abs(prev) * 100, "", true
}

// Evaluate reads one tick and evaluates the rule at t.At. Call it once per
// tick, in time order.
func (e *Evaluator) Evaluate(t *Tick) Result {
	e.now = t.At
	for _, te := range e.terms {
		te.s.observe(t)
	}
	if e.cfg.Kind != KindComposite {
		o, r := e.terms[0].eval(e)
		r.Outcome = o
		return r
	}
	// Three-valued AND/OR: a missing figure decides nothing on its own.
	and := e.cfg.Operator == "AND"
	var parts []string
	decided, first := -1, Result{}
	holds, clears := 0, 0
	for i, te := range e.terms {
		o, r := te.eval(e)
		mark := " ✗"
		switch o {
		case Holds:
			holds++
			mark = " ✓"
		case Clear:
			clears++
		default:
			mark = " ?"
		}
		parts = append(parts, r.Message+mark)
		if i == 0 {
			first = r
		}
		if decided < 0 && ((and && o == Clear) || (!and && o == Holds)) {
			decided, first = i, r
		}
	}
	res := first
	res.At = t.At
	switch {
	case and && clears > 0, !and && holds == 0 && clears == len(e.terms):
		res.Outcome = Clear
	case and && holds == len(e.terms), !and && holds > 0:
		res.Outcome = Holds
	default:
		res.Outcome = NoData
	}
	res.Message = e.cfg.Operator + ": " + strings.Join(parts, " | ")
	return res
}

// eval evaluates one term.
func (te *termEval) eval(e *Evaluator) (Outcome, Result) {
	r := Result{At: e.now, Threshold: te.t.Threshold}
	if te.t.Condition.ranged() {
		hi := te.t.Threshold2
		r.Threshold2 = &hi
	}
	label := te.label(e.cfg)
	v, why, ok := te.value(e)
	if !ok {
		r.Message = label + ": no data (" + why + ")"
		return NoData, r
	}
	r.Value = v
	var holds bool
	if te.info.fam == famAbsence {
		holds = v == 0
		r.Message = fmt.Sprintf("%s = %s", label, num2(v))
	} else {
		holds = te.t.Condition.Holds(v, te.t.Threshold, te.t.Threshold2, e.cfg.Tolerance)
		r.Message = fmt.Sprintf("%s = %s %s %s", label, num2(v), te.t.Condition.symbol(), te.threshold())
	}
	if holds {
		return Holds, r
	}
	return Clear, r
}

func (te *termEval) threshold() string {
	if te.t.Condition.ranged() {
		return "[" + num2(te.t.Threshold) + ", " + num2(te.t.Threshold2) + "]"
	}
	return num2(te.t.Threshold)
}

// label names the term's figure, e.g. "ERROR_RATE over 5m (sources: api)".
func (te *termEval) label(c *Config) string {
	var b strings.Builder
	switch te.info.fam {
	case famRatio:
		fmt.Fprintf(&b, "EVENT_RATIO %s/%s over %s", c.Numerator, c.Denominator, dur(te.t.Window))
		return b.String()
	case famAbsence:
		b.WriteString("events over " + dur(te.t.Window))
	default:
		b.WriteString(string(te.t.Metric))
		switch {
		case te.info.fam == famChange:
			b.WriteString(" vs the previous " + dur(te.t.Window))
		case te.t.Window > 0 && te.info.fixed == 0:
			b.WriteString(" over " + dur(te.t.Window))
		case te.info.fam == famGauge && te.info.fixed == 0:
			b.WriteString(" since reset")
		}
	}
	if te.info.fam == famCounter || te.info.fam == famAbsence || te.info.fam == famChange || te.t.Metric == AvgLatency {
		if len(c.Sources) > 0 {
			b.WriteString(" (sources: " + strings.Join(c.Sources, ", ") + ")")
		} else if len(c.Types) > 0 {
			b.WriteString(" (types: " + strings.Join(c.Types, ", ") + ")")
		}
	}
	return b.String()
}

// Describe says in one line how the rule is evaluated (the /rules/test
// answer's description, in place of the original's generated DRL).
func (c *Config) Describe() string {
	e := NewEvaluator(c)
	parts := make([]string, len(e.terms))
	for i, te := range e.terms {
		if te.info.fam == famAbsence {
			parts[i] = "no " + te.label(c)
			continue
		}
		parts[i] = te.label(c) + " " + te.t.Condition.symbol() + " " + te.threshold()
	}
	s := string(c.Kind) + ": " + strings.Join(parts, " "+c.Operator+" ")
	if c.For > 0 {
		s += ", for " + dur(c.For)
	}
	return s
}

// num2 formats v with at most 2 decimals.
func num2(v float64) string {
	return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64)
}

// dur formats d compactly: 90s, 5m, 1h30m.
func dur(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
