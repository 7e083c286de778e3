package cluster

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkAppend measures Append on one in-process node (R1) and on
// three in-process nodes (R3, appending through a follower of the stream
// leader, as two requests in three would), with sync always (the
// default): single records and batches of 100, from 1 and from 16
// goroutines, and batches of 1,000 from 8 (several ingest groups in
// flight, which share the Publisher's window). It reports events/s and the latency of one Append (p50,
// p99). It asserts nothing. Three nodes share this machine's cores, so the
// R3 figures are a floor on throughput.
//
//	go test -run '^$' -bench Append -benchtime 2s ./cluster/
func BenchmarkAppend(b *testing.B) {
	for _, topo := range []struct {
		name  string
		nodes int
	}{{"R1", 1}, {"R3", 3}} {
		b.Run(topo.name, func(b *testing.B) {
			pub := benchPublisher(b, topo.nodes)
			for _, shape := range []struct {
				name        string
				batch, conc int
			}{
				{"single-c1", 1, 1}, {"single-c16", 1, 16},
				{"batch100-c1", 100, 1}, {"batch100-c16", 100, 16},
				{"batch1000-c8", 1000, 8}, // cluster-mode ingest: several groups in flight
			} {
				b.Run(shape.name, func(b *testing.B) { benchAppend(b, pub, shape.batch, shape.conc) })
			}
		})
	}
}

func benchPublisher(b *testing.B, nodes int) *Publisher {
	b.Helper()
	if nodes == 1 {
		n, err := Start(context.Background(), Config{Name: "bench", Dir: b.TempDir(), Log: newTestLog(b)})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(n.Shutdown)
		s, err := n.Stream(context.Background(), StreamConfig{})
		if err != nil {
			b.Fatal(err)
		}
		p, err := s.Publisher(PublisherConfig{})
		if err != nil {
			b.Fatal(err)
		}
		return p
	}
	c := startCluster(b, nodes)
	streams := c.streams(StreamConfig{})
	leader := streamLeader(b, streams[0])
	follower := (c.index(leader) + 1) % nodes
	p, err := streams[follower].Publisher(PublisherConfig{})
	if err != nil {
		b.Fatal(err)
	}
	return p
}

func benchAppend(b *testing.B, p *Publisher, batch, conc int) {
	b.ReportAllocs()
	var mk recordMaker
	var next atomic.Int64
	lats := make([][]time.Duration, conc)
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for g := range conc {
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				recs := mk.make(batch, "bench")
				t0 := time.Now()
				if _, err := p.Append(context.Background(), recs); err != nil {
					b.Error(err)
					return
				}
				lats[g] = append(lats[g], time.Since(t0))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	all := slices.Concat(lats...)
	slices.Sort(all)
	if len(all) == 0 {
		return
	}
	pct := func(q float64) float64 {
		return float64(all[min(len(all)-1, int(q*float64(len(all))))]) / float64(time.Millisecond)
	}
	b.ReportMetric(float64(len(all)*batch)/elapsed.Seconds(), "events/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}
