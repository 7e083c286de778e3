package cluster

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/eventara/eventara/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// goldenCheckpoint is the checkpoint of testdata/shared-checkpoint-v1.bin.
func goldenCheckpoint() SharedCheckpoint {
	return SharedCheckpoint{Seq: 4242, Node: "node2", At: time.Date(2026, 12, 7, 10, 11, 12, 345678900, time.UTC),
		Parts: map[string][]byte{"aggregator": []byte("totals and windows"), "rules": {0, 1, 2, 255}, "empty": {}}}
}

// TestSharedCheckpointFormat: the encoding round-trips, is pinned by a
// golden file (a format change must bump the version, not alter version
// 1), and refuses what is not one.
func TestSharedCheckpointFormat(t *testing.T) {
	t.Parallel()
	cp := goldenCheckpoint()
	b := cp.Encode()
	golden := filepath.Join("testdata", "shared-checkpoint-v1.bin")
	if *update {
		if err := os.WriteFile(golden, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, want) {
		t.Fatalf("encoding changed against %s (version %d): bump sharedCheckpointVersion instead\n got %x\nwant %x", golden, sharedCheckpointVersion, b, want)
	}
	got, err := DecodeSharedCheckpoint(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Seq != cp.Seq || got.Node != cp.Node || !got.At.Equal(cp.At) || len(got.Parts) != len(cp.Parts) {
		t.Fatalf("decoded %+v, want %+v", got, cp)
	}
	for name, data := range cp.Parts {
		if !bytes.Equal(got.Parts[name], data) {
			t.Errorf("part %s = %q, want %q", name, got.Parts[name], data)
		}
	}
	b[len(b)-1] = 'X' // the parts must not alias the input
	if got.Parts["rules"][3] != 255 {
		t.Error("a decoded part shares memory with the input")
	}

	versioned := bytes.Clone(want)
	versioned[len(sharedCheckpointMagic)] = sharedCheckpointVersion + 1
	swapped := append([]byte(sharedCheckpointMagic), sharedCheckpointVersion, 1, 0, 0, 2, 1, 'b', 0, 1, 'a', 0)
	twice := append([]byte(sharedCheckpointMagic), sharedCheckpointVersion, 1, 0, 0, 2, 1, 'a', 0, 1, 'a', 0)
	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "header"},
		{"other magic", []byte("JSON{}"), "header"},
		{"newer version", versioned, "format version 2"},
		{"truncated", want[:len(want)-3], "truncated"},
		{"trailing bytes", append(bytes.Clone(want), 0), "after the last part"},
		{"huge part count", append([]byte(sharedCheckpointMagic), sharedCheckpointVersion, 1, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f), "part count"},
		{"parts out of order", swapped, "order"},
		{"part twice", twice, "order"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := DecodeSharedCheckpoint(tc.in)
			if !errors.Is(err, ErrCheckpointFormat) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("decode = %v, want ErrCheckpointFormat saying %q", err, tc.want)
			}
		})
	}
}

// FuzzDecodeSharedCheckpoint: the decoder never panics, and what it
// accepts encodes back to the same bytes (one encoding per checkpoint).
func FuzzDecodeSharedCheckpoint(f *testing.F) {
	cp := goldenCheckpoint()
	f.Add(cp.Encode())
	f.Add((&SharedCheckpoint{Seq: 1, Node: "n"}).Encode())
	f.Add([]byte(sharedCheckpointMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		cp, err := DecodeSharedCheckpoint(b)
		if err != nil {
			return
		}
		if again := cp.Encode(); !bytes.Equal(again, b) {
			t.Fatalf("re-encoded %x, read %x", again, b)
		}
	})
}

// TestSharedCheckpointStore: on a 3-node cluster each node saves its own
// checkpoint, concurrently and again; every node lists them alike, the
// highest sequence first, and loads the newest at or above a minimum; the
// bucket has the stream's replicas; a damaged object is skipped for the
// next best; with one node down the others still save and load.
func TestSharedCheckpointStore(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 3)
	streams := c.streams(StreamConfig{})
	ctx := context.Background()
	at := time.Now().UTC().Truncate(time.Millisecond)
	save := func(s *Stream, node string, seq uint64) {
		t.Helper()
		cp := SharedCheckpoint{Seq: seq, Node: node, At: at.Add(time.Duration(seq) * time.Second),
			Parts: map[string][]byte{"aggregator": bytes.Repeat([]byte(fmt.Sprint(node, seq)), 40_000)}}
		opCtx, cancel := context.WithTimeout(ctx, testutil.Patience)
		defer cancel()
		if n, err := s.SaveSharedCheckpoint(opCtx, cp); err != nil || n < 40_000*5 {
			t.Fatalf("save %s at %d: %d bytes, %v", node, seq, n, err)
		}
	}
	var wg sync.WaitGroup
	for i, s := range streams {
		wg.Go(func() { save(s, fmt.Sprintf("n%d", i+1), uint64(100+i)) })
	}
	wg.Wait()
	save(streams[0], "n1", 110) // replaces n1's 100

	for i, s := range streams {
		infos, err := s.SharedCheckpoints(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got := fmt.Sprint(infos[0].Node, infos[0].Seq, " ", infos[1].Node, infos[1].Seq, " ", infos[2].Node, infos[2].Seq)
		if len(infos) != 3 || got != "n1110 n3102 n2101" {
			t.Fatalf("node %d lists %+v, want n1 at 110, n3 at 102, n2 at 101", i+1, infos)
		}
		if !infos[0].At.Equal(at.Add(110*time.Second)) || infos[0].Size < 40_000*5 {
			t.Fatalf("info %+v: want At %s and the encoded size", infos[0], at.Add(110*time.Second))
		}
		cp, ok, skipped, err := s.LatestSharedCheckpoint(ctx, 105)
		if err != nil || !ok || len(skipped) > 0 || cp.Node != "n1" || cp.Seq != 110 ||
			!bytes.HasPrefix(cp.Parts["aggregator"], []byte("n1110n1110")) {
			t.Fatalf("node %d: latest ≥ 105 = %s at %d, %v, skipped %v, %v", i+1, cp.Node, cp.Seq, ok, skipped, err)
		}
		if _, ok, _, err := s.LatestSharedCheckpoint(ctx, 111); ok || err != nil {
			t.Fatalf("latest ≥ 111 = %v, %v: want none", ok, err)
		}
	}
	obs, err := streams[1].objects(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := obs.Status(ctx); err != nil || st.Replicas() != 3 {
		t.Fatalf("bucket status %v, %v: want 3 replicas", st, err)
	}

	// A damaged object at the highest sequence: skipped, the next taken.
	_, err = obs.Put(ctx, jetstream.ObjectMeta{Name: "bad", Metadata: map[string]string{
		metaSeq: "200", metaNode: "bad", metaAt: at.Format(time.RFC3339Nano), metaVersion: "1"}}, strings.NewReader("not a checkpoint"))
	if err != nil {
		t.Fatal(err)
	}
	cp, ok, skipped, err := streams[2].LatestSharedCheckpoint(ctx, 0)
	if err != nil || !ok || cp.Node != "n1" || len(skipped) != 1 || !errors.Is(skipped[0], ErrCheckpointFormat) {
		t.Fatalf("latest with a damaged one on top = %s at %d, %v, skipped %v, %v", cp.Node, cp.Seq, ok, skipped, err)
	}

	// One node down: the quorum saves and loads.
	c.shutdown(2)
	testutil.WaitFor(t, 2*testutil.Patience, "a save with node 3 down", func() error {
		opCtx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		_, err := streams[0].SaveSharedCheckpoint(opCtx, SharedCheckpoint{Seq: 300, Node: "n1", At: at, Parts: map[string][]byte{"aggregator": []byte("x")}})
		return err
	})
	cp, ok, _, err = streams[1].LatestSharedCheckpoint(ctx, 250)
	if err != nil || !ok || cp.Seq != 300 || string(cp.Parts["aggregator"]) != "x" {
		t.Fatalf("latest with node 3 down = %d, %v, %v", cp.Seq, ok, err)
	}
}

// TestFirstRetained: the first record or tick still stored, which moves
// on as MaxAge removes records (the tick's schedule, never removed, sits
// before them and is not it).
func TestFirstRetained(t *testing.T) {
	t.Parallel()
	n := startSingle(t, Config{})
	ctx := context.Background()
	s, err := n.Stream(ctx, StreamConfig{MaxAge: 2 * time.Second, Duplicates: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Publisher(PublisherConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var mk recordMaker
	last, err := p.Append(ctx, mk.make(10, "old"))
	if err != nil {
		t.Fatal(err)
	}
	// A new stream: the schedule's message, then ticks and records.
	if first, err := s.FirstRetained(ctx); err != nil || first != 1 || s.scheduleSeq.Load() != 1 {
		t.Fatalf("first retained = %d, %v; want 1, the schedule's (at %d)", first, err, s.scheduleSeq.Load())
	}
	// This waits past MaxAge on purpose: the records must go.
	testutil.WaitFor(t, testutil.Patience, "the records removed by MaxAge", func() error {
		first, err := s.FirstRetained(ctx)
		if err != nil {
			return err
		}
		if first <= last {
			return fmt.Errorf("first retained %d, last record %d", first, last)
		}
		return nil
	})
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.FirstSeq > last-9 {
		t.Fatalf("stream FirstSeq %d: the schedule should still be there before the records", info.FirstSeq)
	}
}

// TestSharedCheckpointsOnWipedNode: a node that comes back with an empty
// store (its disk lost) sees the shared checkpoints and where the stream
// begins as soon as its Stream is open.
func TestSharedCheckpointsOnWipedNode(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 3)
	streams := c.streams(StreamConfig{})
	ctx := context.Background()
	// Enough to catch up that the wiped node's replica is still empty when
	// it first asks.
	for i := range 8 {
		cp := SharedCheckpoint{Seq: uint64(i + 1), Node: fmt.Sprint("n", i+1), At: time.Now(), Parts: map[string][]byte{"a": bytes.Repeat([]byte{byte(i)}, 2<<20)}}
		if _, err := streams[0].SaveSharedCheckpoint(ctx, cp); err != nil {
			t.Fatal(err)
		}
	}
	c.shutdown(2)
	if err := os.RemoveAll(c.cfgs[2].Dir); err != nil {
		t.Fatal(err)
	}
	if err := c.start(2); err != nil {
		t.Fatal(err)
	}
	s, err := c.node(2).Stream(ctx, StreamConfig{})
	if err != nil {
		t.Fatal(err)
	}
	infos, err := s.SharedCheckpoints(ctx)
	if err != nil || len(infos) != 8 || infos[0].Seq != 8 {
		t.Fatalf("the wiped node lists %+v, %v; want 8, the newest at 8", infos, err)
	}
	cp, ok, skipped, err := s.LatestSharedCheckpoint(ctx, 8)
	if err != nil || !ok || cp.Node != "n8" || len(cp.Parts["a"]) != 2<<20 {
		t.Fatalf("the wiped node loads %s at %d, %v, skipped %v, %v", cp.Node, cp.Seq, ok, skipped, err)
	}
}
