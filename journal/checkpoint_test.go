package journal

import (
	"encoding/binary"
	"hash/crc32"
	"testing"

	"github.com/eventara/eventara/protocol/event"
)

// TestCheckpointSeqRoundTrip: a checkpoint's stream sequence (cluster
// mode) survives a save and a reopen.
func TestCheckpointSeqRoundTrip(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	j := openAt(t, dir, nil)
	want := Checkpoint{UpTo: event.ID{7}, At: base, Seq: 1<<40 + 3, State: []byte("state")}
	if err := j.SaveCheckpoint(want); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	j = openAt(t, dir, nil)
	defer j.Close()
	got, ok, err := j.LoadCheckpoint()
	if err != nil || !ok || got.Seq != want.Seq || got.UpTo != want.UpTo || !got.At.Equal(want.At) || string(got.State) != "state" {
		t.Fatalf("loaded %+v %v %v, want %+v", got, ok, err, want)
	}
}

// TestCheckpointVersion1StillLoads: a checkpoint written before Seq
// existed loads, with Seq 0.
func TestCheckpointVersion1StillLoads(t *testing.T) {
	t.Parallel()
	j := openTemp(t)
	defer j.Close()
	b := []byte{checkpointVersionV1}
	id := event.ID{9}
	b = append(b, id[:]...)
	b = appendTime(b, base)
	b = append(b, "old state"...)
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
	j.putRaw(t, checkpointKey(1), b)
	got, ok, err := j.LoadCheckpoint()
	if err != nil || !ok || got.Seq != 0 || got.UpTo != (event.ID{9}) || string(got.State) != "old state" {
		t.Fatalf("version 1 checkpoint: %+v %v %v", got, ok, err)
	}
	if _, err := decodeCheckpoint(b[:10]); err == nil {
		t.Fatal("a truncated checkpoint decoded")
	}
}

// TestAppendUnsyncedIsReadable: the unsynced append stores records and
// keys like Append.
func TestAppendUnsyncedIsReadable(t *testing.T) {
	t.Parallel()
	j := openTemp(t)
	defer j.Close()
	recs := makeEvents(event.NewGenerator(), 0, 3, "a", "b")
	key := Idempotency{Key: "k", At: base, IDs: []event.ID{recs[0].Event.ID}}
	if err := j.AppendUnsynced(recs, key); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Get(recs[2].Event.ID); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := j.LookupIdempotency("k"); !ok || err != nil {
		t.Fatalf("key: %v %v", ok, err)
	}
}
