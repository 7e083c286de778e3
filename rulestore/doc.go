// Package rulestore is the alerting state the rules actor owns: the rules,
// each rule's alert machine as the journal has it, and the alerts, changed
// only by applying log entries (rule put, rule deleted, alert transition),
// with the queries the REST API answers (alert filters and pages,
// statistics) and a compacted snapshot of the whole.
//
// It is pure (no actors, no I/O, no clock): package actors journals each
// entry in the journal's state log before applying it, and rebuilds the
// store on start from the state snapshot plus the log after it.
package rulestore
