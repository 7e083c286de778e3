package client

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Health is the server's health answer (GET /api/v1/events/health).
type Health struct {
	// Status is "UP" or "DOWN".
	Status string
	// Reason says why it is DOWN: "disk", "journal failed", "journal not
	// writable", "last journal append failed", "no snapshot built for …",
	// "shutting down".
	Reason string
	// Journal is "writable", "failing" or "full"; JournalError the
	// journal's error when failing.
	Journal      string
	JournalError string
	// Build is which Eventara answers; zero when the server did not say.
	Build BuildInfo
	// Time is the server's clock when it answered.
	Time   time.Time
	Uptime time.Duration
	// LastSnapshot and LastCheckpoint are zero before the first one.
	LastSnapshot   time.Time
	LastCheckpoint time.Time
	// DiskFreeBytes is the data directory's free space, DiskFreeLimitBytes
	// the floor below which ingestion is refused (0: off); both nil when
	// the server cannot measure them.
	DiskFreeBytes      *uint64
	DiskFreeLimitBytes *uint64
}

// BuildInfo names a server build.
type BuildInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit,omitempty"`
	GoVersion string `json:"goVersion"`
}

// Up reports whether the server said UP.
func (h Health) Up() bool { return h.Status == "UP" }

// healthBody is the wire form of Health.
type healthBody struct {
	Status             string     `json:"status"`
	Build              *BuildInfo `json:"build"`
	Timestamp          string     `json:"timestamp"` // Unix ms, as a string
	Journal            string     `json:"journal"`
	Reason             string     `json:"reason"`
	JournalError       string     `json:"journalError"`
	UptimeSeconds      int64      `json:"uptimeSeconds"`
	LastSnapshot       time.Time  `json:"lastSnapshot"`
	LastCheckpoint     time.Time  `json:"lastCheckpoint"`
	DiskFreeBytes      *uint64    `json:"diskFreeBytes"`
	DiskFreeLimitBytes *uint64    `json:"diskFreeLimitBytes"`
}

// Health asks the server how it is. A server that answers DOWN (503 with
// its health body) is not an error: Health.Up says false and Reason why.
// It is never retried, since it reports the moment; it needs no token.
func (c *Client) Health(ctx context.Context) (Health, error) {
	var b healthBody
	err := c.do(ctx, request{method: http.MethodGet, path: "/api/v1/events/health", accept: []int{http.StatusServiceUnavailable}}, &b)
	if err != nil {
		return Health{}, err
	}
	if b.Status != "UP" && b.Status != "DOWN" {
		return Health{}, fmt.Errorf("eventara: GET /api/v1/events/health: status %q, want UP or DOWN", b.Status)
	}
	h := Health{Status: b.Status, Reason: b.Reason, Journal: b.Journal, JournalError: b.JournalError,
		Uptime: time.Duration(b.UptimeSeconds) * time.Second, LastSnapshot: b.LastSnapshot, LastCheckpoint: b.LastCheckpoint,
		DiskFreeBytes: b.DiskFreeBytes, DiskFreeLimitBytes: b.DiskFreeLimitBytes}
	if b.Build != nil {
		h.Build = *b.Build
	}
	if ms, err := strconv.ParseInt(b.Timestamp, 10, 64); err == nil {
		h.Time = time.UnixMilli(ms).UTC()
	}
	return h, nil
}
