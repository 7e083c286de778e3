package cluster

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/eventara/eventara/internal/testutil"
	"github.com/eventara/eventara/protocol/event"
)

// TestNoteInStreamOrder: a note comes back in stream order, between the
// records appended before and after it, with its bytes (binary, NUL
// included); the same id again is stored once, at the first sequence; a
// note is no record; an empty id or note is refused.
func TestNoteInStreamOrder(t *testing.T) {
	t.Parallel()
	n := startSingle(t, Config{})
	ctx := context.Background()
	s, err := n.Stream(ctx, StreamConfig{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Publisher(PublisherConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct{ id, data string }{{"", "x"}, {"id", ""}} {
		if _, err := p.Note(ctx, bad.id, []byte(bad.data)); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("Note(%q, %q) = %v, want ErrInvalidArgument", bad.id, bad.data, err)
		}
	}
	var mk recordMaker
	before, after := mk.make(2, "before"), mk.make(1, "after")
	data := []byte("key\x00\xff\n: binary")
	if _, err := p.Append(ctx, before); err != nil {
		t.Fatal(err)
	}
	seq, err := p.Note(ctx, "note-1", data)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := p.Note(ctx, "note-1", []byte("other")); err != nil || again != seq {
		t.Fatalf("the note's id again = %d, %v; want %d (stored once)", again, err, seq)
	}
	if _, err := p.Append(ctx, after); err != nil {
		t.Fatal(err)
	}
	c, err := s.Consume(1, ConsumerConfig{Buffer: 16})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	var got []Msg
	for len(got) < 4 {
		if m := testutil.Recv(t, c.Messages(), testutil.Patience, "a record or note"); !m.Tick {
			got = append(got, m)
		}
	}
	for i, m := range got {
		if i == 2 {
			if !m.Note || m.Seq != seq || !bytes.Equal(m.Data, data) {
				t.Fatalf("message 2: note=%v seq %d (%q); want the note at %d", m.Note, m.Seq, m.Data, seq)
			}
			if _, err := m.Record(); err == nil {
				t.Error("a note decodes as a record")
			}
			continue
		}
		rec, err := m.Record()
		if err != nil || m.Note {
			t.Fatalf("message %d: note=%v, %v", i, m.Note, err)
		}
		want := [4]event.ID{before[0].Event.ID, before[1].Event.ID, {}, after[0].Event.ID}[i]
		if rec.Event.ID != want {
			t.Errorf("message %d: record %s, want %s", i, rec.Event.ID, want)
		}
	}
}

// TestClaimFirstWins: of two claims with one id, the first is stored and
// the second gets the first's note back (same sequence, its bytes and
// time); the first's bytes claimed again (a retry after a lost ack) are
// still the claimer's own; an empty id is refused.
func TestClaimFirstWins(t *testing.T) {
	t.Parallel()
	n := startSingle(t, Config{})
	ctx := context.Background()
	s, err := n.Stream(ctx, StreamConfig{})
	if err != nil {
		t.Fatal(err)
	}
	p1, err := s.Publisher(PublisherConfig{})
	if err != nil {
		t.Fatal(err)
	}
	p2, err := s.Publisher(PublisherConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p1.Claim(ctx, "", []byte("x")); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("Claim with an empty id = %v, want ErrInvalidArgument", err)
	}
	first, err := p1.Claim(ctx, "claim-1", []byte("first"))
	if err != nil || !first.Mine {
		t.Fatalf("first claim: %+v, %v", first, err)
	}
	second, err := p2.Claim(ctx, "claim-1", []byte("second"))
	if err != nil {
		t.Fatal(err)
	}
	if second.Mine || second.Seq != first.Seq || string(second.Data) != "first" || second.Time.IsZero() {
		t.Fatalf("second claim: %+v; want the first's note at %d", second, first.Seq)
	}
	again, err := p1.Claim(ctx, "claim-1", []byte("first"))
	if err != nil || !again.Mine || again.Seq != first.Seq {
		t.Fatalf("the first claim again: %+v, %v; want its own at %d", again, err, first.Seq)
	}
	other, err := p2.Claim(ctx, "claim-2", []byte("second"))
	if err != nil || !other.Mine || other.Seq <= first.Seq {
		t.Fatalf("another id: %+v, %v", other, err)
	}
}
