package journal

import (
	"crypto/sha256"
	"errors"
	"testing"

	"github.com/eventara/eventara/protocol/event"
)

// TestIdempotencyKeys: a key is stored with its events, survives a
// reopen, is pruned after its window, and never shows among the events.
func TestIdempotencyKeys(t *testing.T) {
	dir := t.TempDir()
	j := openAt(t, dir, nil)
	g := event.NewGenerator()
	first, second := makeEvents(g, 0, 3), makeEvents(g, 10, 2)
	k1 := Idempotency{Key: "key-1", Fingerprint: sha256.Sum256([]byte("a")), At: first[0].Event.ReceivedAt,
		IDs: []event.ID{first[0].Event.ID, first[1].Event.ID, first[2].Event.ID}}
	k2 := Idempotency{Key: "key-2", Fingerprint: sha256.Sum256([]byte("b")), At: second[0].Event.ReceivedAt,
		IDs: []event.ID{second[0].Event.ID, second[1].Event.ID}}
	if err := j.Append(first, k1); err != nil {
		t.Fatal(err)
	}
	if err := j.Append(second, k2); err != nil {
		t.Fatal(err)
	}
	if err := j.Append(makeEvents(g, 20, 1), Idempotency{}); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("empty key: %v", err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	j = openAt(t, dir, nil)
	defer j.Close()

	for _, want := range []Idempotency{k1, k2} {
		got, ok, err := j.LookupIdempotency(want.Key)
		if err != nil || !ok {
			t.Fatalf("lookup %s: %v %v", want.Key, ok, err)
		}
		if got.Key != want.Key || got.Fingerprint != want.Fingerprint || !got.At.Equal(want.At) || len(got.IDs) != len(want.IDs) {
			t.Fatalf("lookup %s: %+v, want %+v", want.Key, got, want)
		}
		for i := range want.IDs {
			if got.IDs[i] != want.IDs[i] {
				t.Fatalf("lookup %s: id %d is %s, want %s", want.Key, i, got.IDs[i], want.IDs[i])
			}
		}
	}
	if _, ok, err := j.LookupIdempotency("never"); ok || err != nil {
		t.Fatalf("unknown key: %v %v", ok, err)
	}
	if evs, _, err := j.List(0, 100, base.Add(-1)); err != nil || len(evs) != 5 {
		t.Fatalf("%d events listed (%v), want 5", len(evs), err)
	}

	// Keys stored before k2's time go; k2 stays.
	if n, err := j.PruneIdempotency(k2.At); err != nil || n != 1 {
		t.Fatalf("prune: %d keys, %v; want 1", n, err)
	}
	if _, ok, _ := j.LookupIdempotency(k1.Key); ok {
		t.Fatal("key-1 survived its window")
	}
	if _, ok, _ := j.LookupIdempotency(k2.Key); !ok {
		t.Fatal("key-2 pruned inside its window")
	}
	if n, err := j.PruneIdempotency(k2.At); err != nil || n != 0 {
		t.Fatalf("second prune: %d keys, %v; want 0", n, err)
	}
}

func TestDecodeIdempotencyRefusesDamage(t *testing.T) {
	good := encodeIdempotency(&Idempotency{Key: "k", At: base, IDs: []event.ID{{1}, {2}}})
	if _, err := decodeIdempotency(good); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{
		"empty":     nil,
		"short":     good[:20],
		"version":   append([]byte{9}, good[1:]...),
		"truncated": good[:len(good)-1],
		"extra":     append(append([]byte(nil), good...), 0),
	} {
		if _, err := decodeIdempotency(b); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", name, err)
		}
	}
}

// TestIdempotencyMarshal: an Idempotency survives MarshalBinary and
// UnmarshalBinary (key with a NUL, as transport builds them), and damaged
// bytes are refused as ErrCorrupt.
func TestIdempotencyMarshal(t *testing.T) {
	t.Parallel()
	g := event.NewGenerator()
	recs := makeEvents(g, 0, 2)
	k := Idempotency{Key: "token\x00key-1", Fingerprint: sha256.Sum256([]byte("a")), At: recs[0].Event.ReceivedAt,
		IDs: []event.ID{recs[0].Event.ID, recs[1].Event.ID}}
	b, err := k.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var got Idempotency
	if err := got.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if got.Key != k.Key || got.Fingerprint != k.Fingerprint || !got.At.Equal(k.At) || len(got.IDs) != 2 || got.IDs[0] != k.IDs[0] || got.IDs[1] != k.IDs[1] {
		t.Fatalf("round trip: %+v, want %+v", got, k)
	}
	for name, bad := range map[string][]byte{"empty": nil, "truncated": b[:len(b)-1], "long key": append([]byte{200}, b[1:]...)} {
		if err := new(Idempotency).UnmarshalBinary(bad); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", name, err)
		}
	}
	if _, err := (&Idempotency{}).MarshalBinary(); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("empty key: %v, want ErrInvalidArgument", err)
	}
}
