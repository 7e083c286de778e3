package actors

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/eventara/eventara/cluster"
	"github.com/eventara/eventara/journal"
	"github.com/eventara/eventara/protocol/event"
	"github.com/eventara/eventara/snapshots"
)

// fullDayState is the checkpoint state of a node that saw one event every
// second for 24 hours (every second of every window filled, latencies,
// errors), from users distinct users, over 50 event types and 20 sources.
func fullDayState(b *testing.B, users int) []byte {
	b.Helper()
	specs := snapshots.StandardWindows()
	rec := newRecovered(&snapshots.Config{}, specs)
	start := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	var gen event.Generator
	const day = 24 * 60 * 60
	for s := range day {
		at := start.Add(time.Duration(s) * time.Second)
		r := event.Record{Kind: event.KindEvent, Event: event.Event{
			ID: gen.New(at), ReceivedAt: at, Timestamp: at, Type: fmt.Sprint("type", s%50), Source: fmt.Sprint("src", s%20),
			UserID: fmt.Sprint("user", s%users), Severity: event.SeverityInfo,
			HasMetaLatency: true, MetaLatency: float64(1 + s%900)}}
		if s%17 == 0 {
			r.Event.Severity = event.SeverityError
		}
		rec.totals.ApplyRecord(&r)
		for _, w := range rec.windows {
			w.Apply(&r.Event)
		}
	}
	st := checkpointState{Windows: map[string][]byte{}}
	var err error
	if st.Totals, err = rec.totals.MarshalBinary(); err != nil {
		b.Fatal(err)
	}
	for i, w := range rec.windows {
		if st.Windows[specs[i].Name], err = w.MarshalBinary(); err != nil {
			b.Fatal(err)
		}
	}
	data, err := st.encode()
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// BenchmarkSharedCheckpointSave measures one shared checkpoint of a full
// 24-hour state: its size and the time to store it in a one-node
// JetStream object store on this machine (an R3 bucket adds a quorum
// round trip per 128 KB chunk). README, "Cluster", quotes it.
func BenchmarkSharedCheckpointSave(b *testing.B) {
	for _, users := range []int{1_000, 86_400} {
		b.Run(fmt.Sprint("users=", users), func(b *testing.B) {
			state := fullDayState(b, users)
			ctx := context.Background()
			node, err := cluster.Start(ctx, cluster.Config{Name: "bench", Dir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			defer node.Shutdown()
			stream, err := node.Stream(ctx, cluster.StreamConfig{})
			if err != nil {
				b.Fatal(err)
			}
			cp := journal.Checkpoint{Seq: 1, At: time.Now(), State: state}
			shared := cluster.SharedCheckpoint{Node: "bench", At: cp.At, Parts: map[string][]byte{sharedPartAggregator: encodeAggregatorPart(&cp)}}
			var size int
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				shared.Seq = uint64(i + 1)
				if size, err = stream.SaveSharedCheckpoint(ctx, shared); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(size), "bytes/checkpoint")
		})
	}
}
