package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/eventara/eventara/internal/testutil"
)

// TestStreamReplicasNeverLowered: a node that joins a clustered NATS
// through its URL gives a new stream 3 replicas, keeps an existing
// stream's count when it asks for none, is refused when it asks for
// fewer (the stream keeps its count), and may raise them; an embedded
// node is held to the same.
func TestStreamReplicasNeverLowered(t *testing.T) {
	t.Parallel()
	c := startClusterWith(t, 3, func(_ int, cfg *Config) { cfg.ClientAddr = "127.0.0.1:0" })
	ctx := context.Background()
	c.streams(StreamConfig{}) // R3: three embedded nodes
	ext := startSingle(t, Config{Name: "ext", URL: c.node(0).ClientURL()})
	replicas := func(s *Stream) int {
		t.Helper()
		have, err := s.existingReplicas(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return have
	}

	s, err := ext.Stream(ctx, StreamConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Config().Replicas != 3 || replicas(s) != 3 {
		t.Fatalf("through the URL, asking for none: config %d, stream %d; want the stream's 3", s.Config().Replicas, replicas(s))
	}
	for _, n := range []*Node{ext, c.node(1)} {
		_, err = n.Stream(ctx, StreamConfig{Replicas: 1})
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "never lowers") {
			t.Fatalf("%s asking for 1 replica of an R3 stream: %v, want a refusal", n.Name(), err)
		}
	}
	if replicas(s) != 3 {
		t.Fatalf("the stream has %d replicas after a refused start, want 3", replicas(s))
	}

	fresh, err := ext.Stream(ctx, StreamConfig{Name: "FRESH", Prefix: "fresh"})
	if err != nil {
		t.Fatal(err)
	}
	if fresh.Config().Replicas != 3 || replicas(fresh) != 3 {
		t.Fatalf("a new stream through the URL of a clustered NATS: %d replicas, want 3", replicas(fresh))
	}

	low, err := ext.Stream(ctx, StreamConfig{Name: "LOW", Prefix: "low", Replicas: 1})
	if err != nil {
		t.Fatal(err)
	}
	if replicas(low) != 1 {
		t.Fatalf("asked for 1 replica of a new stream: %d", replicas(low))
	}
	again, err := c.node(2).Stream(ctx, StreamConfig{Name: "LOW", Prefix: "low"})
	if err != nil {
		t.Fatal(err)
	}
	if again.Config().Replicas != 1 || replicas(again) != 1 {
		t.Fatalf("an embedded node of 3 routes asking for none: %d replicas, want the stream's 1", replicas(again))
	}
	raised, err := ext.Stream(ctx, StreamConfig{Name: "LOW", Prefix: "low", Replicas: 3})
	if err != nil {
		t.Fatal(err)
	}
	if replicas(raised) != 3 {
		t.Fatalf("asked for 3 replicas of an R1 stream: %d", replicas(raised))
	}
	// Done scaling before the nodes shut down.
	testutil.WaitFor(t, testutil.Patience, "the raised stream's followers current", func() error {
		info, err := raised.Info(ctx)
		if err != nil {
			return err
		}
		if len(info.Replicas) != 2 || !info.Replicas[0].Current || !info.Replicas[1].Current {
			return fmt.Errorf("leader %q, followers %+v", info.Leader, info.Replicas)
		}
		return nil
	})
}
