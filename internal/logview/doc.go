// Package logview reads Eventara's JSON logs after the fact and tells the
// story of the supervision tree in them: every actor seen, nested under
// its parent, with its failures, restarts and whether it is stopped (the
// tree, at the end of the log or at a given moment); each supervision
// decision in order, escalations as the chains they are (the timeline);
// and the actors that failed in storms. It is `eventara logs`.
//
// Reading is tolerant, because a log left after an incident is messy:
// LineReader bounds a line's length and marks a last line cut short;
// lines that are not JSON, JSON of other programs, protoactor's own lines
// and lines of formats it cannot use are counted (Analysis.Skipped, with
// where the first was), never fatal; older field spellings it can use are
// read and counted too (Analysis.Read). Several logs (several nodes) are
// merged by time and told apart by a "node" field or by file name.
//
// The evidence it reads is what the actors log (actors/*.go): the Warn
// "supervision decision" line (actor, parent, kind, reason, directive,
// restarts, backoff, msg_type, stack), the Info "actor started" line of
// each (re)start (Debug for connections and subscriptions), a restart's
// "state recovered", a connection's "session closed" and "client went
// away", and the process's "state recovered" (start) and "stopped"
// (clean exit). The message texts are listed in record.go.
//
// Read, then Analyze, then WriteText or WriteJSON. Only the standard
// library is used.
package logview
