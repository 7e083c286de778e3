package transport

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/rs/zerolog"

	"github.com/eventara/eventara/journal"
)

// BenchmarkIngestHTTP posts single events through the real handler, actor
// system and journal (synced) over loopback keep-alive connections, 64 at a
// time.
func BenchmarkIngestHTTP(b *testing.B) {
	j, err := journal.Open(journal.Config{Dir: b.TempDir(), Log: zerolog.Nop()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { j.Close() })
	srv := startService(b, j)
	body := []byte(`{"eventType":"page_view","source":"web","userId":"user-42","severity":"INFO","tags":{"region":"eu"},"metadata":{"latency":12,"path":"/checkout"}}`)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.SetParallelism(32)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0, cpuOK := processCPU()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Post(srv.URL+"/api/v1/events", "application/json", bytes.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	// CPU of the client and the server together, both in this process:
	// steadier than ns/op on a shared machine.
	if cpu1, ok := processCPU(); ok && cpuOK {
		b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/op")
	}
}
