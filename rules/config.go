package rules

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Kind is how a THRESHOLD rule is evaluated, read from its ruleConfig as
// the original did: "conditions" makes a composite rule, metricType
// EVENT_RATIO a ratio rule, a *_CHANGE metric or SPIKE_DETECTION a
// rate-of-change rule, NO_EVENTS an absence rule; any other metric a plain
// threshold rule.
type Kind string

// Rule kinds.
const (
	KindThreshold    Kind = "THRESHOLD"
	KindRateOfChange Kind = "RATE_OF_CHANGE"
	KindRatio        Kind = "RATIO"
	KindComposite    Kind = "COMPOSITE"
	KindAbsence      Kind = "ABSENCE"
)

// Limits on a ruleConfig.
const (
	MaxConfigBytes     = 16 << 10 // the ruleConfig object, raw bytes
	MaxFilterEntries   = 50       // sourceFilter, eventTypeFilter
	MaxNameLen         = 100      // an event type or source name (as events')
	MaxConditions      = 10       // a composite's conditions
	MaxFor             = 24 * time.Hour
	MaxCooldownMinutes = 24 * 60
	DefaultCooldown    = 5 * time.Minute
	DefaultMinEvents   = 1
	DefaultMinDenom    = 5
	// DefaultChangeWindowMinutes is LATENCY_CHANGE's window when none is
	// given (it must be one the window views carry).
	DefaultChangeWindowMinutes = 5
)

// Term is one comparison: a metric over its window against a threshold.
type Term struct {
	Metric    Metric
	Condition Condition
	// Threshold is the threshold, or the low bound of BETWEEN/NOT_BETWEEN;
	// Threshold2 is then the high bound (Threshold ≤ Threshold2).
	Threshold  float64
	Threshold2 float64
	// Window is the length of the window the metric covers; 0 means since
	// the last metrics reset (latency and unique counts).
	Window time.Duration
}

// Config is a validated ruleConfig. It is immutable once parsed: share it.
type Config struct {
	Kind Kind
	// Terms holds one term, or a composite's conditions in order.
	Terms []Term
	// Operator is a composite's "AND" or "OR".
	Operator string
	// Window is timeWindowMinutes as a duration (the default applied).
	Window time.Duration
	// Sources and Types are sourceFilter and eventTypeFilter (at most one
	// of them is set): figures are summed over the listed keys.
	Sources, Types []string
	// Tolerance is EQUALS/NOT_EQUALS's tolerance.
	Tolerance float64
	// MinEvents is minEventsToEvaluate: a window with fewer events (after
	// filtering) has no data rather than a value.
	MinEvents int
	// Cooldown is cooldownMinutes: see Machine.
	Cooldown time.Duration
	// For is how long the condition must hold before the alert fires.
	For time.Duration
	// Numerator, Denominator and MinDenominator configure EVENT_RATIO.
	Numerator, Denominator string
	MinDenominator         int
}

// configKeys are the ruleConfig keys, in the order errors are reported.
var configKeys = []string{
	"metricType", "condition", "thresholdValue", "thresholdValue2", "tolerance",
	"timeWindowMinutes", "sourceFilter", "eventTypeFilter", "minEventsToEvaluate",
	"operator", "conditions", "numeratorEventType", "denominatorEventType",
	"minDenominatorEvents", "cooldownMinutes", "for",
}

// kindKeys are the keys each kind accepts besides "for" and "cooldownMinutes".
var kindKeys = map[Kind][]string{
	KindThreshold:    {"metricType", "condition", "thresholdValue", "thresholdValue2", "tolerance", "timeWindowMinutes", "sourceFilter", "eventTypeFilter", "minEventsToEvaluate"},
	KindRateOfChange: {"metricType", "condition", "thresholdValue", "thresholdValue2", "tolerance", "timeWindowMinutes", "sourceFilter", "eventTypeFilter", "minEventsToEvaluate"},
	KindRatio:        {"metricType", "condition", "thresholdValue", "thresholdValue2", "tolerance", "timeWindowMinutes", "numeratorEventType", "denominatorEventType", "minDenominatorEvents"},
	KindAbsence:      {"metricType", "timeWindowMinutes", "sourceFilter", "eventTypeFilter"},
	KindComposite:    {"operator", "conditions", "tolerance", "timeWindowMinutes", "sourceFilter", "eventTypeFilter", "minEventsToEvaluate"},
}

const cfgField = "ruleConfig"

// ParseConfig decodes and validates a ruleConfig JSON object. Either the
// field errors are empty and the config is valid, or the config is nil.
// Field names are "ruleConfig.<key>" ("ruleConfig.conditions[i].<key>"
// inside a composite).
func ParseConfig(raw []byte) (*Config, FieldErrors) {
	var fe FieldErrors
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return nil, FieldErrors{cfgField: "Rule configuration is required"}
	case len(raw) > MaxConfigBytes:
		return nil, FieldErrors{cfgField: fmt.Sprintf("must be at most %d bytes", MaxConfigBytes)}
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, FieldErrors{cfgField: "must be a JSON object"}
	}
	if len(m) == 0 {
		return nil, FieldErrors{cfgField: "Rule configuration is required"}
	}
	unknown := make([]string, 0)
	for k := range m {
		if !slices.Contains(configKeys, k) {
			unknown = append(unknown, k)
		}
	}
	slices.Sort(unknown)
	for _, k := range unknown {
		fe.Add(cfgField+"."+k, "unknown ruleConfig key")
	}

	c := &Config{Tolerance: DefaultTolerance, MinEvents: DefaultMinEvents, Cooldown: DefaultCooldown, MinDenominator: DefaultMinDenom}
	c.Kind = kindOf(m, &fe)
	if c.Kind == "" {
		return nil, fe
	}
	for _, k := range configKeys {
		if _, ok := m[k]; ok && k != "for" && k != "cooldownMinutes" && !slices.Contains(kindKeys[c.Kind], k) {
			fe.Add(cfgField+"."+k, fmt.Sprintf("%s does not apply to %s rules", k, kindName(c.Kind)))
		}
	}

	if v, ok := m["for"]; ok {
		c.For = parseFor(v, &fe)
	}
	if v, ok := m["cooldownMinutes"]; ok {
		if n, ok := integer(v); ok && n >= 0 && n <= MaxCooldownMinutes {
			c.Cooldown = time.Duration(n) * time.Minute
		} else {
			fe.Add(cfgField+".cooldownMinutes", fmt.Sprintf("cooldownMinutes must be an integer from 0 to %d", MaxCooldownMinutes))
		}
	}
	if v, ok := m["tolerance"]; ok {
		if f, ok := number(v); ok && f >= 0 {
			c.Tolerance = f
		} else {
			fe.Add(cfgField+".tolerance", "tolerance must be a number ≥ 0")
		}
	}
	if v, ok := m["minEventsToEvaluate"]; ok {
		if n, ok := integer(v); ok && n >= 0 && n <= math.MaxInt32 {
			c.MinEvents = int(n)
		} else {
			fe.Add(cfgField+".minEventsToEvaluate", "minEventsToEvaluate must be an integer ≥ 0")
		}
	}
	c.Sources = filterList(m, "sourceFilter", &fe)
	c.Types = filterList(m, "eventTypeFilter", &fe)
	if len(c.Sources) > 0 && len(c.Types) > 0 {
		fe.Add(cfgField+".eventTypeFilter", "sourceFilter and eventTypeFilter cannot be combined: "+
			"the snapshot has per-source and per-type figures, not per pair")
	}
	windowSet, windowMin := false, int64(0)
	if v, ok := m["timeWindowMinutes"]; ok {
		windowSet = true
		if n, ok := integer(v); ok && n > 0 && n <= MaxWindowMinutes {
			windowMin = n
		} else {
			fe.Add(cfgField+".timeWindowMinutes", fmt.Sprintf("timeWindowMinutes must be a positive integer (at most %d)", MaxWindowMinutes))
			windowSet = false
		}
	}
	c.Window = time.Duration(DefaultWindowMinutes) * time.Minute
	if windowSet {
		c.Window = time.Duration(windowMin) * time.Minute
	}

	switch c.Kind {
	case KindComposite:
		c.parseComposite(m, &fe)
	case KindRatio:
		t := parseTerm(cfgField, EventRatio, m, "thresholdValue", "thresholdValue2", &fe)
		t.Window = c.Window
		c.Terms = []Term{t}
		c.Numerator = eventType(m, "numeratorEventType", &fe)
		c.Denominator = eventType(m, "denominatorEventType", &fe)
		if v, ok := m["minDenominatorEvents"]; ok {
			if n, ok := integer(v); ok && n >= 1 && n <= math.MaxInt32 {
				c.MinDenominator = int(n)
			} else {
				fe.Add(cfgField+".minDenominatorEvents", "minDenominatorEvents must be a positive integer")
			}
		}
	case KindAbsence:
		if !windowSet {
			fe.Add(cfgField+".timeWindowMinutes", "timeWindowMinutes is required for NO_EVENTS: how long without events")
		}
		c.Terms = []Term{{Metric: NoEvents, Window: c.Window}}
	default:
		metric := Metric(upper(m["metricType"]))
		t := parseTerm(cfgField, metric, m, "thresholdValue", "thresholdValue2", &fe)
		t.Window = c.termWindow(cfgField, metric, windowSet, false, &fe)
		c.Terms = []Term{t}
		c.checkFilters(cfgField+".metricType", metric, &fe)
	}
	if len(fe) > 0 {
		return nil, fe
	}
	return c, nil
}

// kindOf reads the kind from metricType and conditions.
func kindOf(m map[string]json.RawMessage, fe *FieldErrors) Kind {
	_, composite := m["conditions"]
	raw, hasMetric := m["metricType"]
	if composite {
		if hasMetric {
			fe.Add(cfgField+".metricType", "metricType cannot be combined with conditions: a composite rule's metrics are in conditions")
			return ""
		}
		return KindComposite
	}
	if !hasMetric {
		fe.Add(cfgField+".metricType", "metricType is required in rule configuration")
		return ""
	}
	name, ok := str(raw)
	if !ok {
		fe.Add(cfgField+".metricType", "metricType must be a string")
		return ""
	}
	metric := Metric(strings.ToUpper(strings.TrimSpace(name)))
	info, known := metrics[metric]
	if !known {
		if why := refusal(metric); why != "" {
			fe.Add(cfgField+".metricType", why)
		} else {
			fe.Add(cfgField+".metricType", "Invalid metric type: "+clip(name))
		}
		return ""
	}
	switch info.fam {
	case famChange:
		return KindRateOfChange
	case famRatio:
		return KindRatio
	case famAbsence:
		return KindAbsence
	}
	return KindThreshold
}

func kindName(k Kind) string {
	switch k {
	case KindRateOfChange:
		return "rate-of-change"
	case KindRatio:
		return "EVENT_RATIO"
	case KindAbsence:
		return "NO_EVENTS"
	case KindComposite:
		return "composite"
	}
	return "threshold"
}

// parseTerm reads condition and the threshold keys (thresholdValue and
// thresholdValue2, or a composite's value and value2) under prefix.
func parseTerm(prefix string, metric Metric, m map[string]json.RawMessage, key, key2 string, fe *FieldErrors) Term {
	t := Term{Metric: metric}
	raw, ok := m["condition"]
	if !ok {
		fe.Add(prefix+".condition", "condition is required in rule configuration")
	} else if name, ok := str(raw); !ok {
		fe.Add(prefix+".condition", "condition must be a string")
	} else if t.Condition = Condition(strings.ToUpper(strings.TrimSpace(name))); !t.Condition.Valid() {
		fe.Add(prefix+".condition", "Invalid condition: "+clip(name))
	}
	if raw, ok := m[key]; !ok {
		fe.Add(prefix+"."+key, key+" is required in rule configuration")
	} else if t.Threshold, ok = number(raw); !ok {
		fe.Add(prefix+"."+key, key+" must be a valid number")
	}
	raw2, has2 := m[key2]
	switch {
	case t.Condition.ranged() && !has2:
		fe.Add(prefix+"."+key2, fmt.Sprintf("%s is required for %s: %s is the low bound, %s the high bound", key2, t.Condition, key, key2))
	case !t.Condition.ranged() && has2 && t.Condition.Valid():
		fe.Add(prefix+"."+key2, key2+" applies only to BETWEEN and NOT_BETWEEN")
	case has2:
		if t.Threshold2, ok = number(raw2); !ok {
			fe.Add(prefix+"."+key2, key2+" must be a valid number")
		} else if t.Threshold2 < t.Threshold {
			fe.Add(prefix+"."+key2, fmt.Sprintf("%s must be ≥ %s (the low bound)", key2, key))
		}
	}
	return t
}

// termWindow validates timeWindowMinutes for metric and returns the window
// the metric covers. In a composite (shared), the rule's window applies to
// the metrics over the rule's window and the others keep their own scope.
func (c *Config) termWindow(prefix string, metric Metric, set, shared bool, fe *FieldErrors) time.Duration {
	info := metrics[metric]
	wkey := cfgField + ".timeWindowMinutes"
	switch {
	case metric == P95Latency && !shared:
		if !set {
			return 0
		}
		if !slices.Contains(p95Windows, c.Window) {
			fe.Add(wkey, "P95_LATENCY covers the last 1, 5 or 15 minutes (the windows the snapshot keeps latency for), or since the last reset when timeWindowMinutes is left out")
		}
		return c.Window
	case metric == LatencyChange:
		if !set {
			c.Window = DefaultChangeWindowMinutes * time.Minute
		} else if !slices.Contains(p95Windows, c.Window) {
			fe.Add(wkey, "LATENCY_CHANGE compares the p95 latency of the last 1, 5 or 15 minutes with the window before: timeWindowMinutes must be 1, 5 or 15")
		}
		return c.Window
	case info.fixed != 0:
		if set && !shared && c.Window != info.fixed {
			fe.Add(wkey, fmt.Sprintf("%s always covers %s: leave timeWindowMinutes out", metric, minutes(info.fixed)))
		}
		return info.fixed
	case info.fam == famGauge:
		if set && !shared {
			fe.Add(wkey, fmt.Sprintf("timeWindowMinutes does not apply to %s: the snapshot has it since the last reset only", metric))
		}
		return 0
	}
	return c.Window
}

// checkFilters refuses a filter on a metric without per-key figures.
func (c *Config) checkFilters(field string, metric Metric, fe *FieldErrors) {
	keys := len(c.Sources) + len(c.Types)
	if keys == 0 {
		return
	}
	info := metrics[metric]
	if info.fam == famChange {
		info = metrics[info.base]
	}
	switch {
	case metric == AvgLatency:
		if keys != 1 {
			fe.Add(field, "AVG_LATENCY takes one source or one event type (its own average), not several")
		}
	case info.fam != famCounter:
		fe.Add(field, fmt.Sprintf("%s has no per-source or per-type figures: sourceFilter and eventTypeFilter do not apply", metric))
	}
}

func (c *Config) parseComposite(m map[string]json.RawMessage, fe *FieldErrors) {
	c.Operator = "AND"
	if raw, ok := m["operator"]; ok {
		op, _ := str(raw)
		op = strings.ToUpper(strings.TrimSpace(op))
		if op != "AND" && op != "OR" {
			fe.Add(cfgField+".operator", `operator must be "AND" or "OR"`)
		}
		c.Operator = op
	}
	var list []json.RawMessage
	if err := json.Unmarshal(m["conditions"], &list); err != nil || len(list) == 0 || len(list) > MaxConditions {
		fe.Add(cfgField+".conditions", fmt.Sprintf("conditions must be a list of 1 to %d conditions", MaxConditions))
		return
	}
	_, windowSet := m["timeWindowMinutes"]
	for i, raw := range list {
		prefix := fmt.Sprintf("%s.conditions[%d]", cfgField, i)
		var sub map[string]json.RawMessage
		if err := json.Unmarshal(raw, &sub); err != nil || sub == nil {
			fe.Add(prefix, `must be an object {"metricType", "condition", "value"}`)
			continue
		}
		for k := range sub {
			if k != "metricType" && k != "condition" && k != "value" && k != "value2" {
				fe.Add(prefix+"."+clip(k), "unknown key (a condition has metricType, condition, value and value2)")
			}
		}
		name, ok := str(sub["metricType"])
		metric := Metric(strings.ToUpper(strings.TrimSpace(name)))
		info, known := metrics[metric]
		switch {
		case !ok:
			fe.Add(prefix+".metricType", "metricType is required in rule configuration")
			continue
		case !known && refusal(metric) != "":
			fe.Add(prefix+".metricType", refusal(metric))
			continue
		case !known:
			fe.Add(prefix+".metricType", "Invalid metric type: "+clip(name))
			continue
		case info.fam != famCounter && info.fam != famGauge:
			fe.Add(prefix+".metricType", fmt.Sprintf("%s cannot be a composite's condition: use threshold metrics", metric))
			continue
		}
		t := parseTerm(prefix, metric, sub, "value", "value2", fe)
		t.Window = c.termWindow(prefix, metric, windowSet, true, fe)
		c.checkFilters(prefix+".metricType", metric, fe)
		c.Terms = append(c.Terms, t)
	}
}

// parseFor reads "for": a duration string of whole seconds ("90s", "5m",
// "1h30m"), from 0 to MaxFor.
func parseFor(raw json.RawMessage, fe *FieldErrors) time.Duration {
	s, ok := str(raw)
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if !ok || err != nil || d < 0 || d > MaxFor || d%time.Second != 0 {
		fe.Add(cfgField+".for", `for must be a duration of whole seconds from "0s" to "24h", such as "30s", "5m" or "1h30m"`)
		return 0
	}
	return d
}

// filterList reads sourceFilter or eventTypeFilter: names as events carry
// them, deduplicated, in order.
func filterList(m map[string]json.RawMessage, key string, fe *FieldErrors) []string {
	raw, ok := m[key]
	if !ok {
		return nil
	}
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil || list == nil {
		fe.Add(cfgField+"."+key, key+" must be a list of names")
		return nil
	}
	if len(list) > MaxFilterEntries {
		fe.Add(cfgField+"."+key, fmt.Sprintf("%s holds at most %d names", key, MaxFilterEntries))
		return nil
	}
	out := make([]string, 0, len(list))
	for _, r := range list {
		s, ok := str(r)
		if !ok || !validName(s) {
			fe.Add(cfgField+"."+key, fmt.Sprintf("%s must be a list of non-blank names of at most %d characters", key, MaxNameLen))
			return nil
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func eventType(m map[string]json.RawMessage, key string, fe *FieldErrors) string {
	raw, ok := m[key]
	if !ok {
		fe.Add(cfgField+"."+key, key+" is required for EVENT_RATIO")
		return ""
	}
	s, ok := str(raw)
	if !ok || !validName(s) {
		fe.Add(cfgField+"."+key, fmt.Sprintf("%s must be a non-blank event type of at most %d characters", key, MaxNameLen))
	}
	return s
}

func validName(s string) bool {
	return strings.TrimSpace(s) != "" && utf8.ValidString(s) && utf8.RuneCountInString(s) <= MaxNameLen
}

// str reads a JSON string.
func str(raw json.RawMessage) (string, bool) {
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// upper reads a JSON string as an upper-case enum name ("" if not a string).
func upper(raw json.RawMessage) string {
	s, _ := str(raw)
	return strings.ToUpper(strings.TrimSpace(s))
}

// number reads a finite number, given as a JSON number or a numeric string
// (the original parsed either).
func number(raw json.RawMessage) (float64, bool) {
	var f float64
	if s, ok := str(raw); ok {
		v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return 0, false
		}
		f = v
	} else if json.Unmarshal(raw, &f) != nil {
		return 0, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// integer reads a whole number, given as a JSON number without fraction or
// an integer string, within ±2^53.
func integer(raw json.RawMessage) (int64, bool) {
	f, ok := number(raw)
	if !ok || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, false
	}
	return int64(f), true
}

// clip shortens user text quoted in an error message.
func clip(s string) string {
	const max = 64
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "?")
	}
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max]) + "…"
}

func minutes(d time.Duration) string {
	n := int64(d / time.Minute)
	switch {
	case n%1440 == 0:
		return plural(n/1440, "day")
	case n%60 == 0:
		return plural(n/60, "hour")
	}
	return plural(n, "minute")
}

func plural(n int64, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.FormatInt(n, 10) + " " + unit + "s"
}
