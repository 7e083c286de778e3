package snapshots_test

import (
	"fmt"
	"time"

	"github.com/eventara/eventara/protocol/event"
	"github.com/eventara/eventara/snapshots"
)

// The aggregator applies each event to the totals and every window; on a
// tick it collects the views and builds one snapshot.
func Example() {
	totals := snapshots.NewTotals(snapshots.Config{})
	var windows []*snapshots.Window
	for _, spec := range snapshots.StandardWindows() {
		windows = append(windows, snapshots.NewWindow(spec))
	}
	now := time.Date(2026, 11, 28, 14, 48, 12, 0, time.UTC)
	for i, sev := range []event.Severity{event.SeverityInfo, event.SeverityInfo, event.SeverityError} {
		e := &event.Event{ReceivedAt: now, Timestamp: now, Type: "login", Source: "auth",
			UserID: fmt.Sprint("user", i), Severity: sev, MetaLatency: 120, HasMetaLatency: true}
		totals.Apply(e)
		for _, w := range windows {
			w.Apply(e)
		}
	}

	views := make([]snapshots.WindowView, len(windows))
	for i, w := range windows {
		views[i] = w.View(now)
	}
	s := snapshots.Build(now, totals, views)
	fmt.Println(s.Metrics.Summary.TotalEvents, s.Metrics.Summary.ErrorRate, s.Metrics.Summary.SystemHealth)
	fmt.Println(s.Metrics.TimeWindows.Last1Minute, s.Metrics.UserMetrics.ActiveUsersLast1Hour)
	// Output:
	// 3 33.33 critical
	// 3 3
}
