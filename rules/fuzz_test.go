package rules

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// addSeeds adds every file in testdata/<dir> to f's seed corpus. Crashers
// found by fuzzing are kept by the go tool under testdata/fuzz/<FuzzName>.
func addSeeds(f *testing.F, dir string) {
	f.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", dir, "*"))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no seeds in testdata/%s: %v", dir, err)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// fuzzTicks are a few ticks that exercise every reading path.
var fuzzTicks = func() []*Tick {
	var out []*Tick
	for i, sec := range []int{0, 60, 300, 301, 900} {
		n := uint64(i * 50)
		t := &Tick{At: at(sec), Events: n, Errors: n / 5, PeakPerSecond: 3, UniqueUsers: n,
			Latency: Latency{Recorded: i > 0, Avg: 10, P50: 5, P95: 50, P99: 90, Min: 1, Max: 100},
			Types:   map[string]KeyFigures{"checkout": {Events: n}, "heartbeat": {Events: 1}},
			Sources: map[string]KeyFigures{"api": {Events: n, Errors: n / 3, AvgLatency: 12}}}
		for _, size := range standardWindows {
			t.Windows = append(t.Windows, WindowFigures{Size: size, Events: n, HasLatency: size <= latencyWindowMax, LatencyCount: n, P95: 40})
		}
		out = append(out, t)
	}
	return out
}()

// The config validator never panics, accepts only what it can evaluate,
// and a config it accepts evaluates and drives a machine without surprises.
func FuzzValidateConfig(f *testing.F) {
	addSeeds(f, "configs")
	f.Fuzz(func(t *testing.T, data []byte) {
		c, fe := ParseConfig(data)
		if (c == nil) == (len(fe) == 0) {
			t.Fatalf("config %v with errors %v", c, fe)
		}
		if len(fe) > MaxFieldErrors {
			t.Fatalf("%d field errors", len(fe))
		}
		if c == nil {
			return
		}
		if len(c.Terms) == 0 || len(c.Terms) > MaxConditions || (c.Kind == KindComposite) != (c.Operator != "") {
			t.Fatalf("bad shape: %+v", c)
		}
		if c.Window <= 0 || c.Window > MaxWindowMinutes*time.Minute || c.For < 0 || c.For > MaxFor || len(c.Sources)*len(c.Types) != 0 {
			t.Fatalf("bounds not enforced: %+v", c)
		}
		for _, term := range c.Terms {
			if _, ok := metrics[term.Metric]; !ok || math.IsNaN(term.Threshold) || math.IsInf(term.Threshold, 0) ||
				(term.Condition.ranged() && term.Threshold2 < term.Threshold) || term.Window < 0 {
				t.Fatalf("bad term %+v", term)
			}
			if term.Metric != NoEvents && !term.Condition.Valid() {
				t.Fatalf("bad condition %+v", term)
			}
		}
		_ = c.Describe()
		_ = Warnings(c)
		e := NewEvaluator(c)
		m := NewMachine(&Rule{ID: "f", Config: c, MaxAlertsPerHour: 2, SuppressionWindowMinutes: 1})
		for _, tk := range fuzzTicks {
			r := e.Evaluate(tk)
			if math.IsNaN(r.Value) || math.IsInf(r.Value, 0) {
				t.Fatalf("value %v at %v: %s", r.Value, tk.At, r.Message)
			}
			for _, rec := range m.Step(r) {
				if _, err := json.Marshal(rec); err != nil {
					t.Fatalf("record does not encode: %v", err)
				}
			}
		}
	})
}

// The request decoder and NewRule never panic; an accepted rule's stored
// ruleConfig parses back to the same evaluation.
func FuzzValidateCreateRequest(f *testing.F) {
	addSeeds(f, "requests")
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := DecodeCreate(data)
		var ve *ValidationError
		if err != nil {
			if !errors.As(err, &ve) || len(ve.Fields) == 0 {
				t.Fatalf("decode error %v is no field error", err)
			}
			return
		}
		r, err := NewRule(req, "id", t0)
		if err != nil {
			if !errors.As(err, &ve) || len(ve.Fields) == 0 || len(ve.Fields) > MaxFieldErrors {
				t.Fatalf("NewRule error %v", err)
			}
			return
		}
		if r.Status != StatusDraft || r.Version != 1 || r.RuleType != TypeThreshold || !r.Severity.Valid() || r.Config == nil {
			t.Fatalf("bad rule %+v", r)
		}
		back, fe := ParseConfig(r.RuleConfig)
		if len(fe) > 0 || back.Describe() != r.Config.Describe() {
			t.Fatalf("stored ruleConfig %s parses to %v (%v), want %s", r.RuleConfig, back, fe, r.Config.Describe())
		}
		if _, err := json.Marshal(r); err != nil {
			t.Fatal(err)
		}
	})
}
