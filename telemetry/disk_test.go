package telemetry

import (
	"io"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// TestDiskGauges: the disk gauges show what the journal measured, and are
// absent while it cannot measure.
func TestDiskGauges(t *testing.T) {
	t.Parallel()
	m := New()
	var measured atomic.Bool
	m.ObserveDisk(func() (uint64, uint64, bool) { return 123 << 20, 512 << 20, measured.Load() })
	scrape := func() string {
		rec := httptest.NewRecorder()
		m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		b, _ := io.ReadAll(rec.Body)
		return string(b)
	}
	if out := scrape(); strings.Contains(out, "eventara_disk_free_bytes ") {
		t.Fatalf("gauge present before a measurement:\n%s", out)
	}
	measured.Store(true)
	out := scrape()
	for _, want := range []string{"eventara_disk_free_bytes 1.28974848e+08", "eventara_disk_free_limit_bytes 5.36870912e+08"} {
		if !strings.Contains(out, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
}
