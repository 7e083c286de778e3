package cluster

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/eventara/eventara/protocol/event"
)

// TestOpenStreamAndRecordIDs: a tool connected by URL opens the stream as
// its nodes made it (not updating it to its own defaults) and reads back
// every record's ID in stream order, also after the duplicate window has
// passed, when publishing them again would store them twice: the reason
// an import asks the stream rather than relying on the window. A missing
// stream is ErrNotReady.
func TestOpenStreamAndRecordIDs(t *testing.T) {
	t.Parallel()
	server := startSingle(t, Config{Name: "server", ClientAddr: "127.0.0.1:0"})
	ctx := context.Background()
	made := StreamConfig{Duplicates: time.Second, MaxAge: time.Hour}
	s, err := server.Stream(ctx, made)
	if err != nil {
		t.Fatal(err)
	}
	tool := startSingle(t, Config{Name: "tool", URL: server.ClientURL(), ReadyTimeout: 2 * time.Second})
	empty, err := tool.OpenStream(ctx, StreamConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if got := empty.Config(); got.Duplicates != made.Duplicates || got.MaxAge != made.MaxAge || got.Replicas != 1 {
		t.Fatalf("opened config %+v, want the stream's own (duplicates %s, max age %s, R1)", got, made.Duplicates, made.MaxAge)
	}
	if n, err := empty.RecordIDs(ctx, func(event.ID) { t.Error("an ID from an empty stream") }); n != 0 || err != nil {
		t.Fatalf("RecordIDs on a stream without records = %d, %v", n, err)
	}

	p, err := s.Publisher(PublisherConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var mk recordMaker
	recs := mk.make(2500, "imp")
	for i := 0; i < len(recs); i += 500 {
		if _, err := p.Append(ctx, recs[i:i+500]); err != nil {
			t.Fatal(err)
		}
	}
	// Past the window a repeat is stored again; the IDs still say it is there.
	time.Sleep(1200 * time.Millisecond) // the server's window is what is tested, not an event to wait for
	if _, err := p.Append(ctx, recs[:1]); err != nil {
		t.Fatal(err)
	}
	var ids []event.ID
	n, err := empty.RecordIDs(ctx, func(id event.ID) { ids = append(ids, id) })
	if err != nil {
		t.Fatal(err)
	}
	if n != len(recs)+1 || len(ids) != n {
		t.Fatalf("RecordIDs = %d (%d IDs), want %d: the records and the repeat past the window", n, len(ids), len(recs)+1)
	}
	for i := range recs {
		if ids[i] != recs[i].Event.ID {
			t.Fatalf("ID %d: %s, want %s", i, ids[i], recs[i].Event.ID)
		}
	}
	if ids[len(recs)] != recs[0].Event.ID {
		t.Fatalf("last ID %s, want the repeat %s", ids[len(recs)], recs[0].Event.ID)
	}

	if _, err := tool.OpenStream(ctx, StreamConfig{Name: "NOPE"}); !errors.Is(err, ErrNotReady) {
		t.Fatalf("OpenStream of a missing stream = %v, want ErrNotReady", err)
	}
	if _, err := tool.OpenStream(ctx, StreamConfig{Prefix: "other"}); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("OpenStream with another prefix = %v, want ErrInvalidConfig", err)
	}
}
