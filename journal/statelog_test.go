package journal

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/eventara/eventara/protocol/event"
)

type stateRec struct {
	seq  uint64
	data string
}

func replayAll(t *testing.T, j *Journal, after uint64) []stateRec {
	t.Helper()
	var got []stateRec
	if err := j.ReplayState(after, func(seq uint64, data []byte) error {
		got = append(got, stateRec{seq, string(data)})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return got
}

func appendState(t *testing.T, j *Journal, recs ...string) uint64 {
	t.Helper()
	bs := make([][]byte, len(recs))
	for i, r := range recs {
		bs[i] = []byte(r)
	}
	seq, err := j.AppendState(bs)
	if err != nil {
		t.Fatal(err)
	}
	return seq
}

// TestStateLogSurvivesReopenAndCompaction: state records are numbered in
// order across reopens, a compaction deletes what its snapshot covers and
// numbering goes on after it, even once the log is empty.
func TestStateLogSurvivesReopenAndCompaction(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	j := openAt(t, dir, nil)
	if seq := appendState(t, j, "a", "b"); seq != 2 {
		t.Fatalf("first append ends at %d, want 2", seq)
	}
	if seq := appendState(t, j, "c"); seq != 3 {
		t.Fatalf("second append ends at %d, want 3", seq)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	j = openAt(t, dir, nil)
	if got, want := replayAll(t, j, 0), []stateRec{{1, "a"}, {2, "b"}, {3, "c"}}; !slices.Equal(got, want) {
		t.Fatalf("replay after reopen = %v, want %v", got, want)
	}
	if got := replayAll(t, j, 2); !slices.Equal(got, []stateRec{{3, "c"}}) {
		t.Fatalf("replay after 2 = %v", got)
	}
	if seq := appendState(t, j, "d"); seq != 4 {
		t.Fatalf("append after reopen ends at %d, want 4", seq)
	}
	if _, _, ok, err := j.LoadStateSnapshot(); ok || err != nil {
		t.Fatalf("snapshot before any compaction: ok %v err %v", ok, err)
	}
	if err := j.CompactState(4, []byte("state@4")); err != nil {
		t.Fatal(err)
	}
	if got := replayAll(t, j, 0); len(got) != 0 {
		t.Fatalf("records left after compaction: %v", got)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	j = openAt(t, dir, nil)
	defer j.Close()
	upTo, data, ok, err := j.LoadStateSnapshot()
	if err != nil || !ok || upTo != 4 || string(data) != "state@4" {
		t.Fatalf("snapshot = %d %q %v %v", upTo, data, ok, err)
	}
	// The log is empty: the next number still follows the snapshot.
	if seq := appendState(t, j, "e"); seq != 5 {
		t.Fatalf("append after compaction ends at %d, want 5", seq)
	}
	if got := replayAll(t, j, upTo); !slices.Equal(got, []stateRec{{5, "e"}}) {
		t.Fatalf("tail = %v", got)
	}
}

// TestStateLogIsNotAnEventAndNotPruned: the event journal's reads, replay
// and retention never see the state log.
func TestStateLogIsNotAnEventAndNotPruned(t *testing.T) {
	t.Parallel()
	j := openTemp(t)
	g := event.NewGenerator()
	if err := j.Append(makeEvents(g, 0, 3, "x")); err != nil {
		t.Fatal(err)
	}
	appendState(t, j, "rule", "alert")
	if err := j.Append(makeEvents(g, 3, 2, "x")); err != nil {
		t.Fatal(err)
	}
	evs, _, err := j.List(0, 100, time.Time{})
	if err != nil || len(evs) != 5 {
		t.Fatalf("List = %d events, %v; want 5", len(evs), err)
	}
	n := 0
	if err := j.Replay(event.ID{}, func(*event.Record) error { n++; return nil }); err != nil || n != 5 {
		t.Fatalf("Replay saw %d records, %v; want 5", n, err)
	}
	if err := j.SaveCheckpoint(Checkpoint{UpTo: evs[0].ID, At: base.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if pruned, err := j.Prune(base.Add(time.Hour)); err != nil || pruned != 5 {
		t.Fatalf("Prune = %d, %v; want 5", pruned, err)
	}
	if got := replayAll(t, j, 0); len(got) != 2 {
		t.Fatalf("state records after the events' prune: %v", got)
	}
}

// TestStateLogRefusedLikeAppends: an injected fault refuses state writes,
// writing nothing.
func TestStateLogRefusedLikeAppends(t *testing.T) {
	t.Parallel()
	j := openTemp(t)
	appendState(t, j, "a")
	boom := errors.New("boom")
	j.SetFault(boom)
	if _, err := j.AppendState([][]byte{[]byte("b")}); !errors.Is(err, boom) {
		t.Fatalf("append with a fault: %v", err)
	}
	if err := j.CompactState(1, nil); !errors.Is(err, boom) {
		t.Fatalf("compact with a fault: %v", err)
	}
	j.SetFault(nil)
	if seq := appendState(t, j, "c"); seq != 2 {
		t.Fatalf("after the fault the next number is %d, want 2", seq)
	}
	if got := fmt.Sprint(replayAll(t, j, 0)); got != "[{1 a} {2 c}]" {
		t.Fatalf("replay = %s", got)
	}
}

// TestStateLogsAreIndependent: the notifier's log numbers, replays and
// compacts apart from the rules' log, so one owner's compaction never
// deletes the other's records; both survive a reopen.
func TestStateLogsAreIndependent(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	j := openAt(t, dir, nil)
	appendState(t, j, "r1", "r2")
	nl := j.NotifyLog()
	if seq, err := nl.Append([][]byte{[]byte("n1")}); err != nil || seq != 1 {
		t.Fatalf("notify append: %d %v", seq, err)
	}
	if err := j.CompactState(2, []byte("rules-snap")); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	j = openAt(t, dir, nil)
	defer j.Close()
	nl = j.NotifyLog()
	var got []stateRec
	if err := nl.Replay(0, func(seq uint64, data []byte) error {
		got = append(got, stateRec{seq, string(data)})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if want := []stateRec{{1, "n1"}}; !slices.Equal(got, want) {
		t.Fatalf("notify log after the rules' compaction: %v, want %v", got, want)
	}
	if _, _, ok, err := nl.LoadSnapshot(); ok || err != nil {
		t.Fatalf("notify snapshot before any: %v %v", ok, err)
	}
	if seq, err := nl.Append([][]byte{[]byte("n2")}); err != nil || seq != 2 {
		t.Fatalf("notify append after reopen: %d %v", seq, err)
	}
	if err := nl.Compact(2, []byte("notify-snap")); err != nil {
		t.Fatal(err)
	}
	if upTo, data, ok, err := nl.LoadSnapshot(); !ok || err != nil || upTo != 2 || string(data) != "notify-snap" {
		t.Fatalf("notify snapshot: %d %q %v %v", upTo, data, ok, err)
	}
	if upTo, data, ok, err := j.LoadStateSnapshot(); !ok || err != nil || upTo != 2 || string(data) != "rules-snap" {
		t.Fatalf("rules snapshot: %d %q %v %v", upTo, data, ok, err)
	}
	if seq := appendState(t, j, "r3"); seq != 3 {
		t.Fatalf("rules numbering: %d", seq)
	}
}
