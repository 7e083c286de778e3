package rules

import (
	"math"
	"testing"
	"time"
)

// t0 is the fake clock's origin; tests pass explicit times.
var t0 = time.Date(2026, 11, 28, 14, 0, 0, 0, time.UTC)

func at(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }

// mustConfig parses a ruleConfig that must be valid.
func mustConfig(t *testing.T, js string) *Config {
	t.Helper()
	c, fe := ParseConfig([]byte(js))
	if len(fe) > 0 {
		t.Fatalf("ParseConfig(%s): %s", js, fe)
	}
	return c
}

// point is the cumulative state at one tick: events and errors since reset,
// per-type counts, and anything else a test sets.
type point struct {
	sec            int
	events, errors uint64
	types          map[string]uint64
	set            func(*Tick)
}

// ticks builds one tick per point. Window event counts are derived from the
// cumulative counts (the newest point at or before the window's start; all
// events when there is none), so direct and differenced reads agree.
func ticks(points ...point) []*Tick {
	out := make([]*Tick, len(points))
	for i, p := range points {
		t := &Tick{At: at(p.sec), Events: p.events, Errors: p.errors, Types: map[string]KeyFigures{}, Sources: map[string]KeyFigures{}}
		for k, n := range p.types {
			t.Types[k] = KeyFigures{Events: n}
		}
		for _, size := range standardWindows {
			var base uint64
			for _, q := range points[:i+1] {
				if at(q.sec).Add(size).After(at(p.sec)) {
					break
				}
				base = q.events
			}
			t.Windows = append(t.Windows, WindowFigures{Size: size, Events: p.events - base})
		}
		if p.set != nil {
			p.set(t)
		}
		out[i] = t
	}
	return out
}

// evaluate runs an evaluator of cfg over the ticks and returns every result.
func evaluate(cfg *Config, ts []*Tick) []Result {
	e := NewEvaluator(cfg)
	out := make([]Result, len(ts))
	for i, t := range ts {
		out[i] = e.Evaluate(t)
	}
	return out
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }
