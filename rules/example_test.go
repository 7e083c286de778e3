package rules_test

import (
	"fmt"
	"time"

	"github.com/eventara/eventara/rules"
)

// A rule actor's loop: evaluate each tick, step the machine, journal the
// records and notify those marked so.
func Example() {
	req, _ := rules.DecodeCreate([]byte(`{"name":"errors","ruleType":"THRESHOLD","severity":"CRITICAL",
		"ruleConfig":{"metricType":"TOTAL_ERRORS","condition":"GREATER_THAN","thresholdValue":5,
		              "timeWindowMinutes":1,"for":"1m"}}`))
	t0 := time.Date(2026, 11, 28, 14, 0, 0, 0, time.UTC)
	rule, err := rules.NewRule(req, "r1", t0)
	if err != nil {
		fmt.Println(err)
		return
	}
	eval, machine := rules.NewEvaluator(rule.Config), rules.NewMachine(rule)

	// Cumulative errors, one tick a minute: 0, 10, 20, 30, 30.
	for i, errs := range []uint64{0, 10, 20, 30, 30} {
		tick := &rules.Tick{At: t0.Add(time.Duration(i) * time.Minute), Events: 100 * uint64(i), Errors: errs}
		res := eval.Evaluate(tick)
		for _, rec := range machine.Step(res) {
			fmt.Printf("%s %s notify=%v: %s\n", tick.At.Format("15:04"), rec.Kind, rec.Notify, rec.Alert.Message)
		}
	}
	// Output:
	// 14:01 ALERT_PENDING notify=false: TOTAL_ERRORS over 1m = 10 > 5
	// 14:02 ALERT_FIRING notify=true: TOTAL_ERRORS over 1m = 10 > 5
	// 14:04 ALERT_RESOLVED notify=true: TOTAL_ERRORS over 1m = 10 > 5
}
