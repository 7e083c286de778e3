package cluster_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/eventara/eventara/cluster"
	"github.com/eventara/eventara/protocol/event"
)

// A single node: append two records, then read them back in stream
// order, skipping the ticks that come between and after them.
func Example() {
	dir, err := os.MkdirTemp("", "eventara-cluster-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()

	node, err := cluster.Start(ctx, cluster.Config{Name: "n1", Dir: dir})
	if err != nil {
		panic(err)
	}
	defer node.Shutdown()
	stream, err := node.Stream(ctx, cluster.StreamConfig{})
	if err != nil {
		panic(err)
	}
	pub, err := stream.Publisher(cluster.PublisherConfig{})
	if err != nil {
		panic(err)
	}
	var ids event.Generator
	now := time.Now()
	recs := []event.Record{
		{Kind: event.KindEvent, Event: event.Event{ID: ids.New(now), ReceivedAt: now, Timestamp: now, Type: "signup", Severity: event.SeverityInfo}},
		{Kind: event.KindEvent, Event: event.Event{ID: ids.New(now), ReceivedAt: now, Timestamp: now, Type: "login", Severity: event.SeverityInfo}},
	}
	last, err := pub.Append(ctx, recs)
	if err != nil {
		panic(err)
	}

	cons, err := stream.Consume(1, cluster.ConsumerConfig{})
	if err != nil {
		panic(err)
	}
	defer cons.Stop()
	for m := range cons.Messages() {
		if !m.Tick {
			r, err := m.Record()
			if err != nil {
				panic(err)
			}
			fmt.Println(r.Event.Type)
		}
		if m.Seq == last {
			break
		}
	}
	// Output:
	// signup
	// login
}
