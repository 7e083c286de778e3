package journal

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/eventara/eventara/protocol/event"
)

// openBench opens a journal with the production defaults.
func openBench(b *testing.B) *Journal {
	b.Helper()
	j, err := Open(Config{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	return j
}

// benchRecords makes n typical event records with fresh IDs.
func benchRecords(g *event.Generator, n int) []event.Record {
	recs := make([]event.Record, n)
	now := time.Now()
	for i := range recs {
		recs[i] = event.Record{Kind: event.KindEvent, Event: event.Event{
			ID: g.New(now), ReceivedAt: now, Timestamp: now.Add(-40 * time.Millisecond),
			Type: fmt.Sprintf("type-%d", i%20), Source: "bench", UserID: "user-12345", SessionID: "session-67890",
			Severity: event.SeverityInfo, Tags: map[string]string{"env": "prod", "region": "eu-west-1"},
			Metadata: []byte(`{"latency":123.4,"path":"/checkout","status":200}`),
		}}
	}
	return recs
}

// restamp gives recs new IDs so that every Append writes new keys.
func restamp(g *event.Generator, recs []event.Record) {
	now := time.Now()
	for i := range recs {
		recs[i].Event.ID = g.New(now)
	}
}

// BenchmarkAppend measures synced appends of n events per call from one
// goroutine: the ingest actor's group commit.
func BenchmarkAppend(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("events=%d", n), func(b *testing.B) {
			j := openBench(b)
			defer j.Close()
			g := event.NewGenerator()
			recs := benchRecords(g, n)
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				restamp(g, recs)
				if err := j.Append(recs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*n)/time.Since(start).Seconds(), "events/s")
		})
	}
}

// BenchmarkAppendParallel measures synced single-event appends from
// concurrent goroutines (pebble merges their fsyncs).
func BenchmarkAppendParallel(b *testing.B) {
	for _, n := range []int{1, 100} {
		b.Run(fmt.Sprintf("events=%d", n), func(b *testing.B) {
			j := openBench(b)
			defer j.Close()
			var mu sync.Mutex // Generator is not goroutine-safe
			g := event.NewGenerator()
			b.SetParallelism(16) // 32 writers on 2 cores, like concurrent requests
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				mu.Lock()
				recs := benchRecords(g, n)
				mu.Unlock()
				for pb.Next() {
					mu.Lock()
					restamp(g, recs)
					mu.Unlock()
					if err := j.Append(recs); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N*n)/time.Since(start).Seconds(), "events/s")
		})
	}
}

func BenchmarkGet(b *testing.B) {
	j := openBench(b)
	defer j.Close()
	g := event.NewGenerator()
	recs := benchRecords(g, 1000)
	if err := j.Append(recs); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := j.Get(recs[i%len(recs)].Event.ID); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReplay(b *testing.B) {
	j := openBench(b)
	defer j.Close()
	g := event.NewGenerator()
	for i := 0; i < 10; i++ {
		if err := j.Append(benchRecords(g, 1000)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if err := j.Replay(event.ID{}, func(*event.Record) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*10000)/time.Since(start).Seconds(), "events/s")
}
