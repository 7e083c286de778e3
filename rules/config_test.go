package rules

import (
	"strings"
	"testing"
	"time"
)

func TestParseConfigValid(t *testing.T) {
	t.Parallel()
	cases := []struct {
		js     string
		kind   Kind
		window time.Duration // Terms[0].Window
		check  func(c *Config) bool
	}{
		{`{"metricType":"ERROR_RATE","condition":"GREATER_THAN","thresholdValue":5}`, KindThreshold, 30 * time.Minute,
			func(c *Config) bool {
				return c.Cooldown == 5*time.Minute && c.MinEvents == 1 && c.For == 0 && c.Tolerance == DefaultTolerance
			}},
		// Enum names in any case, numbers as strings (the original parsed them).
		{`{"metricType":"error_rate","condition":"greater_than","thresholdValue":"5.5","timeWindowMinutes":"10"}`, KindThreshold, 10 * time.Minute,
			func(c *Config) bool { return c.Terms[0].Threshold == 5.5 && c.Terms[0].Condition == GreaterThan }},
		{`{"metricType":"TOTAL_EVENTS","condition":"BETWEEN","thresholdValue":1,"thresholdValue2":1,"sourceFilter":["a","b","a"],"for":"1m30s","cooldownMinutes":0,"minEventsToEvaluate":0}`,
			KindThreshold, 30 * time.Minute,
			func(c *Config) bool {
				return len(c.Sources) == 2 && c.For == 90*time.Second && c.Cooldown == 0 && c.MinEvents == 0 && c.Terms[0].Threshold2 == 1
			}},
		{`{"metricType":"EVENTS_LAST_5_MINUTES","condition":"LESS_THAN","thresholdValue":1,"timeWindowMinutes":5}`, KindThreshold, 5 * time.Minute, nil},
		{`{"metricType":"EVENTS_LAST_1_HOUR","condition":"LESS_THAN","thresholdValue":1}`, KindThreshold, time.Hour, nil},
		{`{"metricType":"P95_LATENCY","condition":"GREATER_THAN","thresholdValue":1}`, KindThreshold, 0, nil},
		{`{"metricType":"P95_LATENCY","condition":"GREATER_THAN","thresholdValue":1,"timeWindowMinutes":15}`, KindThreshold, 15 * time.Minute, nil},
		{`{"metricType":"AVG_LATENCY","condition":"EQUALS","thresholdValue":1,"tolerance":0.5,"eventTypeFilter":["login"]}`, KindThreshold, 0,
			func(c *Config) bool { return c.Tolerance == 0.5 && c.Types[0] == "login" }},
		{`{"metricType":"SPIKE_DETECTION","condition":"GREATER_THAN","thresholdValue":100,"timeWindowMinutes":5,"eventTypeFilter":["x"]}`, KindRateOfChange, 5 * time.Minute, nil},
		{`{"metricType":"LATENCY_CHANGE","condition":"GREATER_THAN","thresholdValue":100}`, KindRateOfChange, 5 * time.Minute, nil},
		{`{"metricType":"EVENT_RATIO","numeratorEventType":"a","denominatorEventType":"b","condition":"GREATER_THAN","thresholdValue":0.5}`, KindRatio, 30 * time.Minute,
			func(c *Config) bool { return c.Numerator == "a" && c.Denominator == "b" && c.MinDenominator == 5 }},
		{`{"metricType":"NO_EVENTS","sourceFilter":["cron"],"timeWindowMinutes":90,"for":"0s"}`, KindAbsence, 90 * time.Minute, nil},
		// The original's composite example: AVG_LATENCY keeps its own scope
		// and takes the single source.
		{`{"operator":"AND","conditions":[{"metricType":"ERROR_RATE","condition":"GREATER_THAN","value":5.0},{"metricType":"AVG_LATENCY","condition":"GREATER_THAN","value":500}],"sourceFilter":["payment-service"]}`,
			KindComposite, 30 * time.Minute,
			func(c *Config) bool { return len(c.Terms) == 2 && c.Terms[1].Window == 0 && c.Operator == "AND" }},
		{`{"conditions":[{"metricType":"EVENTS_LAST_1_MINUTE","condition":"NOT_BETWEEN","value":1,"value2":9},{"metricType":"P95_LATENCY","condition":"LESS_THAN","value":1}],"operator":"or","timeWindowMinutes":5}`,
			KindComposite, time.Minute,
			func(c *Config) bool {
				return c.Operator == "OR" && c.Terms[1].Window == 0 && c.Terms[0].Threshold2 == 9
			}},
	}
	for _, tc := range cases {
		c, fe := ParseConfig([]byte(tc.js))
		if len(fe) > 0 {
			t.Errorf("%s: %s", tc.js, fe)
			continue
		}
		if c.Kind != tc.kind || c.Terms[0].Window != tc.window || (tc.check != nil && !tc.check(c)) {
			t.Errorf("%s: got %+v", tc.js, c)
		}
		if d := c.Describe(); !strings.HasPrefix(d, string(tc.kind)+": ") {
			t.Errorf("%s: Describe %q", tc.js, d)
		}
	}
}

func TestParseConfigInvalid(t *testing.T) {
	t.Parallel()
	cases := []struct {
		js, field, msg string
	}{
		{``, "ruleConfig", "Rule configuration is required"},
		{`null`, "ruleConfig", "Rule configuration is required"},
		{`{}`, "ruleConfig", "Rule configuration is required"},
		{`[1]`, "ruleConfig", "must be a JSON object"},
		{`{"metricType":`, "ruleConfig", "must be a JSON object"},
		{`{"condition":"GREATER_THAN","thresholdValue":1}`, "ruleConfig.metricType", "metricType is required in rule configuration"},
		{`{"metricType":"FOO","condition":"GREATER_THAN","thresholdValue":1}`, "ruleConfig.metricType", "Invalid metric type: FOO"},
		{`{"metricType":7}`, "ruleConfig.metricType", "metricType must be a string"},
		{`{"metricType":"SOURCE_ERROR_RATE","condition":"GREATER_THAN","thresholdValue":1}`, "ruleConfig.metricType", "use ERROR_RATE with sourceFilter"},
		{`{"metricType":"EVENT_TYPE_COUNT","condition":"GREATER_THAN","thresholdValue":1}`, "ruleConfig.metricType", "use TOTAL_EVENTS with eventTypeFilter"},
		{`{"metricType":"ERROR_RATE_VS_BASELINE","condition":"GREATER_THAN","thresholdValue":1}`, "ruleConfig.metricType", "no baseline is kept"},
		{`{"metricType":"ERROR_RATE","thresholdValue":1}`, "ruleConfig.condition", "condition is required in rule configuration"},
		{`{"metricType":"ERROR_RATE","condition":"ABOVE","thresholdValue":1}`, "ruleConfig.condition", "Invalid condition: ABOVE"},
		{`{"metricType":"ERROR_RATE","condition":"GREATER_THAN"}`, "ruleConfig.thresholdValue", "thresholdValue is required in rule configuration"},
		{`{"metricType":"ERROR_RATE","condition":"GREATER_THAN","thresholdValue":"abc"}`, "ruleConfig.thresholdValue", "thresholdValue must be a valid number"},
		{`{"metricType":"ERROR_RATE","condition":"GREATER_THAN","thresholdValue":"NaN"}`, "ruleConfig.thresholdValue", "thresholdValue must be a valid number"},
		{`{"metricType":"ERROR_RATE","condition":"GREATER_THAN","thresholdValue":true}`, "ruleConfig.thresholdValue", "thresholdValue must be a valid number"},
		{`{"metricType":"ERROR_RATE","condition":"GREATER_THAN","thresholdValue":1,"timeWindowMinutes":0}`, "ruleConfig.timeWindowMinutes", "timeWindowMinutes must be a positive integer"},
		{`{"metricType":"ERROR_RATE","condition":"GREATER_THAN","thresholdValue":1,"timeWindowMinutes":-5}`, "ruleConfig.timeWindowMinutes", "timeWindowMinutes must be a positive integer"},
		{`{"metricType":"ERROR_RATE","condition":"GREATER_THAN","thresholdValue":1,"timeWindowMinutes":1.5}`, "ruleConfig.timeWindowMinutes", "timeWindowMinutes must be a positive integer"},
		{`{"metricType":"ERROR_RATE","condition":"GREATER_THAN","thresholdValue":1,"timeWindowMinutes":1441}`, "ruleConfig.timeWindowMinutes", "at most 1440"},
		{`{"metricType":"ERROR_RATE","condition":"GREATER_THAN","thresholdValue":1,"windowMinutes":5}`, "ruleConfig.windowMinutes", "unknown ruleConfig key"},
		{`{"metricType":"ERROR_RATE","condition":"BETWEEN","thresholdValue":1}`, "ruleConfig.thresholdValue2", "thresholdValue2 is required for BETWEEN"},
		{`{"metricType":"ERROR_RATE","condition":"BETWEEN","thresholdValue":5,"thresholdValue2":1}`, "ruleConfig.thresholdValue2", "must be ≥ thresholdValue"},
		{`{"metricType":"ERROR_RATE","condition":"LESS_THAN","thresholdValue":5,"thresholdValue2":9}`, "ruleConfig.thresholdValue2", "applies only to BETWEEN and NOT_BETWEEN"},
		{`{"metricType":"ERROR_RATE","condition":"EQUALS","thresholdValue":5,"tolerance":-1}`, "ruleConfig.tolerance", "tolerance must be a number ≥ 0"},
		{`{"metricType":"ERROR_RATE","condition":"LESS_THAN","thresholdValue":5,"sourceFilter":["a"],"eventTypeFilter":["b"]}`, "ruleConfig.eventTypeFilter", "cannot be combined"},
		{`{"metricType":"ERROR_RATE","condition":"LESS_THAN","thresholdValue":5,"sourceFilter":"a"}`, "ruleConfig.sourceFilter", "must be a list of names"},
		{`{"metricType":"ERROR_RATE","condition":"LESS_THAN","thresholdValue":5,"sourceFilter":[" "]}`, "ruleConfig.sourceFilter", "non-blank names"},
		{`{"metricType":"UNIQUE_USERS","condition":"LESS_THAN","thresholdValue":5,"sourceFilter":["a"]}`, "ruleConfig.metricType", "no per-source or per-type figures"},
		{`{"metricType":"AVG_LATENCY","condition":"LESS_THAN","thresholdValue":5,"sourceFilter":["a","b"]}`, "ruleConfig.metricType", "takes one source or one event type"},
		{`{"metricType":"LATENCY_CHANGE","condition":"LESS_THAN","thresholdValue":5,"sourceFilter":["a"]}`, "ruleConfig.metricType", "no per-source or per-type figures"},
		{`{"metricType":"AVG_LATENCY","condition":"LESS_THAN","thresholdValue":5,"timeWindowMinutes":5}`, "ruleConfig.timeWindowMinutes", "since the last reset only"},
		{`{"metricType":"EVENTS_LAST_5_MINUTES","condition":"LESS_THAN","thresholdValue":5,"timeWindowMinutes":10}`, "ruleConfig.timeWindowMinutes", "always covers 5 minutes"},
		{`{"metricType":"ACTIVE_USERS_LAST_24_HOURS","condition":"LESS_THAN","thresholdValue":5,"timeWindowMinutes":60}`, "ruleConfig.timeWindowMinutes", "always covers 1 day"},
		{`{"metricType":"P95_LATENCY","condition":"LESS_THAN","thresholdValue":5,"timeWindowMinutes":30}`, "ruleConfig.timeWindowMinutes", "last 1, 5 or 15 minutes"},
		{`{"metricType":"LATENCY_CHANGE","condition":"LESS_THAN","thresholdValue":5,"timeWindowMinutes":30}`, "ruleConfig.timeWindowMinutes", "must be 1, 5 or 15"},
		{`{"metricType":"NO_EVENTS","eventTypeFilter":["hb"]}`, "ruleConfig.timeWindowMinutes", "timeWindowMinutes is required for NO_EVENTS"},
		{`{"metricType":"NO_EVENTS","condition":"EQUALS","thresholdValue":0,"timeWindowMinutes":5}`, "ruleConfig.condition", "does not apply to NO_EVENTS rules"},
		{`{"metricType":"EVENT_RATIO","denominatorEventType":"b","condition":"GREATER_THAN","thresholdValue":1}`, "ruleConfig.numeratorEventType", "numeratorEventType is required for EVENT_RATIO"},
		{`{"metricType":"EVENT_RATIO","numeratorEventType":"a","denominatorEventType":"b","condition":"GREATER_THAN","thresholdValue":1,"minDenominatorEvents":0}`, "ruleConfig.minDenominatorEvents", "positive integer"},
		{`{"metricType":"EVENT_RATIO","numeratorEventType":"a","denominatorEventType":"b","condition":"GREATER_THAN","thresholdValue":1,"sourceFilter":["x"]}`, "ruleConfig.sourceFilter", "does not apply to EVENT_RATIO rules"},
		{`{"metricType":"ERROR_RATE","condition":"GREATER_THAN","thresholdValue":1,"numeratorEventType":"a"}`, "ruleConfig.numeratorEventType", "does not apply to threshold rules"},
		{`{"metricType":"ERROR_RATE","conditions":[]}`, "ruleConfig.metricType", "cannot be combined with conditions"},
		{`{"conditions":[]}`, "ruleConfig.conditions", "list of 1 to 10 conditions"},
		{`{"conditions":{"metricType":"ERROR_RATE"}}`, "ruleConfig.conditions", "list of 1 to 10 conditions"},
		{`{"conditions":[1]}`, "ruleConfig.conditions[0]", "must be an object"},
		{`{"conditions":[{"metricType":"ERROR_RATE","condition":"GREATER_THAN","value":1}],"operator":"XOR"}`, "ruleConfig.operator", `"AND" or "OR"`},
		{`{"conditions":[{"metricType":"SPIKE_DETECTION","condition":"GREATER_THAN","value":1}]}`, "ruleConfig.conditions[0].metricType", "cannot be a composite's condition"},
		{`{"conditions":[{"metricType":"ERROR_RATE","condition":"GREATER_THAN","value":1,"thresholdValue":1}]}`, "ruleConfig.conditions[0].thresholdValue", "unknown key"},
		{`{"conditions":[{"metricType":"ERROR_RATE","condition":"GREATER_THAN","value":1},{"metricType":"ERROR_RATE","condition":"GREATER_THAN","value":"x"}]}`, "ruleConfig.conditions[1].value", "value must be a valid number"},
		{`{"conditions":[{"metricType":"ERROR_RATE","condition":"GREATER_THAN"}]}`, "ruleConfig.conditions[0].value", "value is required"},
		{`{"conditions":[{"metricType":"UNIQUE_USERS","condition":"GREATER_THAN","value":1}],"sourceFilter":["a"]}`, "ruleConfig.conditions[0].metricType", "no per-source or per-type figures"},
		{`{"metricType":"ERROR_RATE","condition":"GREATER_THAN","thresholdValue":1,"for":"5"}`, "ruleConfig.for", "for must be a duration"},
		{`{"metricType":"ERROR_RATE","condition":"GREATER_THAN","thresholdValue":1,"for":30}`, "ruleConfig.for", "for must be a duration"},
		{`{"metricType":"ERROR_RATE","condition":"GREATER_THAN","thresholdValue":1,"for":"-1s"}`, "ruleConfig.for", "for must be a duration"},
		{`{"metricType":"ERROR_RATE","condition":"GREATER_THAN","thresholdValue":1,"for":"25h"}`, "ruleConfig.for", "for must be a duration"},
		{`{"metricType":"ERROR_RATE","condition":"GREATER_THAN","thresholdValue":1,"for":"1.5s"}`, "ruleConfig.for", "whole seconds"},
		{`{"metricType":"ERROR_RATE","condition":"GREATER_THAN","thresholdValue":1,"cooldownMinutes":-1}`, "ruleConfig.cooldownMinutes", "integer from 0 to 1440"},
		{`{"metricType":"ERROR_RATE","condition":"GREATER_THAN","thresholdValue":1,"minEventsToEvaluate":"many"}`, "ruleConfig.minEventsToEvaluate", "integer ≥ 0"},
		{`{"metricType":"ERROR_RATE","condition":"GREATER_THAN","thresholdValue":1,"x":` + strings.Repeat(" ", MaxConfigBytes) + `1}`, "ruleConfig", "at most 16384 bytes"},
	}
	for _, tc := range cases {
		c, fe := ParseConfig([]byte(tc.js))
		name := tc.js
		if len(name) > 120 {
			name = name[:120]
		}
		if c != nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if got, ok := fe[tc.field]; !ok || !strings.Contains(got, tc.msg) {
			t.Errorf("%s: errors %s; want %s: …%s…", name, fe, tc.field, tc.msg)
		}
	}
}
