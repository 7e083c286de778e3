// Package rules is Eventara's alerting engine as a library: the rule and
// alert model with the original Eventara's JSON shapes, validation of rule
// requests with field errors, the evaluation of every rule kind against the
// per-second metrics snapshot, and each rule's alert lifecycle as an
// event-sourced state machine. It has no actors, no HTTP and no clock: time
// comes from ticks and callers, so everything is table-tested with explicit
// times.
//
// # Model (model.go, request.go)
//
// Rule is the original's RuleResponse; CreateRuleRequest, UpdateRuleRequest
// and TestRuleRequest its request bodies. DecodeCreate/DecodeUpdate/
// DecodeTest decode strictly (unknown fields are errors); NewRule,
// (*Rule).Update, (*Rule).WithStatus and TestRule validate and build. Every
// validation failure is a *ValidationError whose Fields (FieldErrors) is
// the "errors" object of the repo's 400 answer, keyed by field:
// "name", "ruleConfig.metricType", "ruleConfig.conditions[1].value", …
//
// # ruleConfig (config.go, metric.go)
//
// ParseConfig validates a ruleConfig; unknown keys, and keys that do not
// apply to the rule's kind, are errors. Only ruleType THRESHOLD is accepted;
// the kind comes from the config, as in the original:
//
//	threshold       {"metricType":"ERROR_RATE","condition":"GREATER_THAN","thresholdValue":5,
//	                 "timeWindowMinutes":5,"sourceFilter":["api"]}
//	between         {"metricType":"P95_LATENCY","condition":"NOT_BETWEEN","thresholdValue":10,"thresholdValue2":500}
//	rate of change  {"metricType":"SPIKE_DETECTION","condition":"GREATER_THAN","thresholdValue":200,"timeWindowMinutes":5}
//	ratio           {"metricType":"EVENT_RATIO","numeratorEventType":"checkout_failed",
//	                 "denominatorEventType":"checkout","condition":"GREATER_THAN","thresholdValue":0.1,
//	                 "minDenominatorEvents":20}
//	composite       {"operator":"OR","conditions":[{"metricType":"ERROR_RATE","condition":"GREATER_THAN","value":5},
//	                 {"metricType":"AVG_LATENCY","condition":"GREATER_THAN","value":500}]}
//	absence         {"metricType":"NO_EVENTS","eventTypeFilter":["heartbeat"],"timeWindowMinutes":5}
//
// Common keys: "for" (a Go duration string of whole seconds, "0s" to "24h":
// how long the condition must hold before firing; default 0),
// cooldownMinutes (default 5), minEventsToEvaluate (default 1), tolerance
// (EQUALS/NOT_EQUALS, default 1e-4). Numbers may be JSON numbers or numeric
// strings; enum names are case-insensitive. BETWEEN is inclusive,
// NOT_BETWEEN its complement. sourceFilter and eventTypeFilter cannot be
// combined (the snapshot has per-source and per-type figures, not per
// pair). In a composite, timeWindowMinutes and the filters apply to the
// conditions whose metric takes them; latency and unique counts keep their
// since-reset scope, fixed-window metrics their window. Metrics the snapshot
// cannot answer are refused with the reason
// (metric.go lists what each metric means and which window it covers).
//
// # Evaluation (tick.go, eval.go, history.go)
//
// Tick is what a rule reads from one snapshot; FromSnapshot builds it from a
// *snapshots.Snapshot and the window views it was built from (the views add
// per-window p95 latency). An Evaluator per rule evaluates each tick and
// keeps a bounded history of readings, so counts over any window (and the
// window before, for rate of change) are differences of cumulative counts.
// A Result is Holds, Clear or NoData (unknown: warming up, too few events,
// a key folded into "(other)").
//
// # Alerts (machine.go)
//
// A Machine per rule turns results into alert transitions, returned as
// Records (journal them; notify those with Notify set) and applied only
// through Apply, so replaying the journaled records rebuilds the state.
// Policy documents For, cooldown, suppression and maxAlertsPerHour.
//
// # For the actors, the REST API and the notifier
//
// A rules actor owns the rules (journaling rule changes) and spawns one
// child per ACTIVE rule holding NewEvaluator(rule.Config) and
// NewMachine(rule). On each snapshot the parent builds one Tick with
// FromSnapshot and sends the pointer to every child (read-only); a child
// calls Evaluate, then Step, journals the records, applies them to the
// alert store and to the rule (Rule.ObserveAlert), and hands records with
// Notify to the notifier's durable outbox (RenderMessage fills a rule's
// messageTemplate). On restart, replay each rule's records into a new
// Machine with Apply; the Evaluator's history refills from ticks (a rule
// over W minutes needs W minutes before it can fire; Warnings says so).
// On disable, archive, delete or a ruleConfig change, call Stop and journal
// its records. The REST API maps Decode*/NewRule/Update/WithStatus/TestRule
// onto the original's paths and answers *ValidationError with 400.
package rules
