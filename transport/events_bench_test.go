package transport

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/eventara/eventara/actors"
	"github.com/eventara/eventara/journal"
)

// BenchmarkIngestHTTP posts single events through the real handler, actor
// system and journal (synced) over loopback keep-alive connections.
func BenchmarkIngestHTTP(b *testing.B) {
	j, err := journal.Open(journal.Config{Dir: b.TempDir(), Log: zerolog.Nop()})
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	sys, err := actors.Start(actors.Config{Log: zerolog.Nop(), Journal: j})
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = sys.Stop(ctx)
	}()
	srv := httptest.NewServer(NewHandler(sys, Config{Log: zerolog.Nop()}))
	defer srv.Close()
	body := []byte(`{"eventType":"page_view","source":"web","userId":"user-42","severity":"INFO","tags":{"region":"eu"},"metadata":{"latency":12,"path":"/checkout"}}`)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.SetParallelism(32)
	b.ReportAllocs()
	b.ResetTimer()
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
}
