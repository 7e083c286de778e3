// Package snapshots is the metrics model of spec/metrics.md: pure aggregation
// state (totals, sliding windows, sketches) with no actors and no clock of its
// own, the immutable Snapshot built once per tick, and its JSON encoding.
//
// Three parts, each owned by one actor and not safe for concurrent use:
//
//   - Totals (totals.go): everything since the first start or the last
//     reset. Counts and per-severity counts are exact; latency percentiles
//     (nearest rank, percentile.go) come from a DDSketch (1% relative
//     accuracy, at most 2,048 bins) next to the exact sum, count, min and
//     max of latencies > 0, which answer the first and last rank. Types and
//     sources are tracked individually up to Config.MaxKeys each, users
//     up to Config.MaxUsers; the rest fold into "(other)" (types, sources)
//     or are only counted (users). Distinct counts are exact until then, and
//     afterwards HyperLogLog estimates (p = 16, ≈ 0.4% standard error). The
//     top 10 users are kept exactly as counts grow.
//   - Window (window.go): one sliding window at one-second resolution, a
//     ring of per-second counters with a running sum. Windows of up to
//     15 minutes also track errors and a subtractable latency histogram
//     (window_latency.go); windows of 1 hour or more estimate active users
//     with per-bucket HyperLogLogs (1-minute buckets for 1 h, 5-minute for
//     24 h) in a two-stack sliding union (window_users.go). View returns an
//     immutable WindowView.
//   - Build (build.go): Totals plus the five views make a Snapshot, whose
//     Metrics (metrics.go) encode exactly to the contract; the JSON is
//     encoded once. Its cost is bounded by the tracked keys, not by events.
//
// Totals and Window checkpoint themselves (checkpoint.go) with
// MarshalBinary/UnmarshalBinary, versioned, sketches included, so a restart
// continues exactly.
package snapshots
