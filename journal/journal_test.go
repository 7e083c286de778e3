package journal

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/eventara/eventara/protocol/event"
)

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func openAt(t testing.TB, dir string, logs *syncBuffer) *Journal {
	t.Helper()
	cfg := Config{Dir: dir, CacheSize: 8 << 20, MemTableSize: 4 << 20}
	if logs != nil {
		cfg.Log = zerolog.New(logs)
	}
	j, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func openTemp(t testing.TB) *Journal {
	t.Helper()
	j := openAt(t, t.TempDir(), nil)
	t.Cleanup(func() { _ = j.Close() })
	return j
}

// base is the receive time of the first test event; events are 1 s apart.
var base = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// makeEvents returns n event records received one second apart from
// base+offset seconds, with types cycling through types.
func makeEvents(g *event.Generator, offset, n int, types ...string) []event.Record {
	if len(types) == 0 {
		types = []string{"click"}
	}
	recs := make([]event.Record, n)
	for i := range recs {
		at := base.Add(time.Duration(offset+i) * time.Second)
		recs[i] = event.Record{Kind: event.KindEvent, Event: event.Event{
			ID: g.New(at), ReceivedAt: at, Timestamp: at.Add(-time.Millisecond),
			Type: types[i%len(types)], Source: "test", Severity: event.SeverityInfo,
			UserID: fmt.Sprintf("u%d", offset+i), Tags: map[string]string{"i": fmt.Sprint(offset + i)},
			Metadata: []byte(`{"n":` + fmt.Sprint(offset+i) + `}`),
		}}
	}
	return recs
}

func ids(evs []event.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.UserID
	}
	return out
}

func TestAppendGet(t *testing.T) {
	t.Parallel()
	j := openTemp(t)
	g := event.NewGenerator()
	recs := makeEvents(g, 0, 10)
	if err := j.Append(recs); err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		got, err := j.Get(r.Event.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != r.Event.ID || got.Type != r.Event.Type || !got.ReceivedAt.Equal(r.Event.ReceivedAt) ||
			got.Tags["i"] != r.Event.Tags["i"] || string(got.Metadata) != string(r.Event.Metadata) {
			t.Fatalf("got %+v, want %+v", got, r.Event)
		}
	}
	if _, err := j.Get(g.New(base)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
	reset := event.Record{Kind: event.KindReset, Event: event.Event{ID: g.New(base), ReceivedAt: base}}
	if err := j.Append([]event.Record{reset}); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Get(reset.Event.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("control record by Get: %v", err)
	}
	if err := j.Append([]event.Record{{Kind: event.KindEvent}}); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("zero id: %v", err)
	}
	if err := j.Append(nil); err != nil {
		t.Fatalf("empty append: %v", err)
	}
}

func TestList(t *testing.T) {
	t.Parallel()
	j := openTemp(t)
	g := event.NewGenerator()
	// 25 events: types alternate a, b, c; a reset in the middle.
	if err := j.Append(makeEvents(g, 0, 10, "a", "b", "c")); err != nil {
		t.Fatal(err)
	}
	at := base.Add(10 * time.Second)
	if err := j.Append([]event.Record{{Kind: event.KindReset, Event: event.Event{ID: g.New(at), ReceivedAt: at}}}); err != nil {
		t.Fatal(err)
	}
	if err := j.Append(makeEvents(g, 10, 15, "b", "c", "a")); err != nil {
		t.Fatal(err)
	}
	// Also a type that extends another one, to check the index prefixes.
	if err := j.Append(makeEvents(g, 100, 2, "aa")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		typ        string
		page, size int
		since      time.Time
		want       string
		more       bool
	}{
		{"first page", "", 0, 3, time.Time{}, "u101 u100 u24", true},
		{"second page", "", 1, 3, time.Time{}, "u23 u22 u21", true},
		{"last page", "", 8, 3, time.Time{}, "u2 u1 u0", false},
		{"past the end", "", 9, 3, time.Time{}, "", false},
		{"exact fit", "", 0, 27, time.Time{}, "", false},
		{"since", "", 0, 100, base.Add(22 * time.Second), "u101 u100 u24 u23 u22", false},
		{"since sub-ms", "", 0, 100, base.Add(24*time.Second + time.Microsecond), "u101 u100", false},
		{"since paged", "", 1, 2, base.Add(22 * time.Second), "u24 u23", true},
		{"type a", "a", 0, 3, time.Time{}, "u24 u21 u18", true},
		{"type a page 2", "a", 2, 3, time.Time{}, "u6 u3 u0", false},
		{"type aa", "aa", 0, 10, time.Time{}, "u101 u100", false},
		{"type c since", "c", 0, 10, base.Add(17 * time.Second), "u23 u20 u17", false},
		{"unknown type", "zzz", 0, 10, time.Time{}, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var evs []event.Event
			var more bool
			var err error
			if tc.typ == "" {
				evs, more, err = j.List(tc.page, tc.size, tc.since)
			} else {
				evs, more, err = j.ListByType(tc.typ, tc.page, tc.size, tc.since)
			}
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(ids(evs), " ")
			if tc.name == "exact fit" {
				if len(evs) != 27 || more {
					t.Fatalf("got %d events, more=%v", len(evs), more)
				}
				return
			}
			if got != tc.want || more != tc.more {
				t.Fatalf("got %q more=%v, want %q more=%v", got, more, tc.want, tc.more)
			}
		})
	}
	if _, _, err := j.List(-1, 10, time.Time{}); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("negative page: %v", err)
	}
	if _, _, err := j.ListByType("a", 0, 0, time.Time{}); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("zero size: %v", err)
	}
}

func TestReopenDurability(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	j := openAt(t, dir, nil)
	g := event.NewGenerator()
	recs := makeEvents(g, 0, 100, "x", "y")
	if err := j.Append(recs); err != nil {
		t.Fatal(err)
	}
	if err := j.SaveCheckpoint(Checkpoint{UpTo: recs[49].Event.ID, At: base, State: []byte("state")}); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Get(recs[0].Event.ID); !errors.Is(err, ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
	if err := j.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second close: %v", err)
	}
	j = openAt(t, dir, nil)
	defer j.Close()
	for _, r := range recs {
		if _, err := j.Get(r.Event.ID); err != nil {
			t.Fatal(err)
		}
	}
	cp, ok, err := j.LoadCheckpoint()
	if err != nil || !ok || cp.UpTo != recs[49].Event.ID || string(cp.State) != "state" || !cp.At.Equal(base) {
		t.Fatalf("checkpoint after reopen: %+v %v %v", cp, ok, err)
	}
	evs, _, err := j.ListByType("y", 0, 100, time.Time{})
	if err != nil || len(evs) != 50 {
		t.Fatalf("list by type after reopen: %d, %v", len(evs), err)
	}
}

func TestReplayAfterCheckpoint(t *testing.T) {
	t.Parallel()
	j := openTemp(t)
	g := event.NewGenerator()
	recs := makeEvents(g, 0, 20)
	if err := j.Append(recs); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := j.LoadCheckpoint(); ok || err != nil {
		t.Fatalf("checkpoint in an empty journal: %v %v", ok, err)
	}
	for i, upTo := range []int{4, 9, 14} {
		c := Checkpoint{UpTo: recs[upTo].Event.ID, At: base.Add(time.Duration(i) * time.Second), State: []byte{byte(i)}}
		if err := j.SaveCheckpoint(c); err != nil {
			t.Fatal(err)
		}
	}
	cp, ok, err := j.LoadCheckpoint()
	if err != nil || !ok || cp.UpTo != recs[14].Event.ID || cp.State[0] != 2 {
		t.Fatalf("newest checkpoint: %+v %v %v", cp, ok, err)
	}
	if n := j.countCheckpoints(t); n != checkpointsKept {
		t.Fatalf("%d checkpoints kept, want %d", n, checkpointsKept)
	}
	var got []event.ID
	err = j.Replay(cp.UpTo, func(r *event.Record) error {
		got = append(got, r.Event.ID)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 || got[0] != recs[15].Event.ID || got[4] != recs[19].Event.ID {
		t.Fatalf("replayed %d records starting %v", len(got), got)
	}
	// From the start, and an error from fn stops the replay.
	n := 0
	stop := errors.New("stop")
	err = j.Replay(event.ID{}, func(r *event.Record) error {
		n++
		if n == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 3 {
		t.Fatalf("replay with error: n=%d %v", n, err)
	}
}

func TestCheckpointFallsBackWhenNewestDamaged(t *testing.T) {
	t.Parallel()
	logs := &syncBuffer{}
	j := openAt(t, t.TempDir(), logs)
	defer j.Close()
	for i := byte(1); i <= 2; i++ {
		if err := j.SaveCheckpoint(Checkpoint{UpTo: event.ID{i}, At: base, State: []byte{i}}); err != nil {
			t.Fatal(err)
		}
	}
	j.putRaw(t, checkpointKey(j.cpSeq), []byte("garbage"))
	cp, ok, err := j.LoadCheckpoint()
	if err != nil || !ok || cp.UpTo != (event.ID{1}) {
		t.Fatalf("fallback: %+v %v %v", cp, ok, err)
	}
	if !strings.Contains(logs.String(), "damaged checkpoint") {
		t.Fatalf("no warning logged: %s", logs)
	}
}

func TestCorruptTailCut(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	logs := &syncBuffer{}
	j := openAt(t, dir, logs)
	g := event.NewGenerator()
	recs := makeEvents(g, 0, 10, "a", "b")
	if err := j.Append(recs); err != nil {
		t.Fatal(err)
	}
	// Damage record 6: records 6..9 must go.
	j.putRaw(t, recordKey(recs[6].Event.ID), []byte("\x01torn"))
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}

	j = openAt(t, dir, logs)
	defer j.Close()
	var got []event.ID
	if err := j.Replay(event.ID{}, func(r *event.Record) error {
		got = append(got, r.Event.ID)
		return nil
	}); err != nil {
		t.Fatalf("replay over a corrupt tail: %v", err)
	}
	if len(got) != 6 || got[5] != recs[5].Event.ID {
		t.Fatalf("replayed %d records, want the 6 before the damage", len(got))
	}
	if s := logs.String(); !strings.Contains(s, `"level":"warn"`) || !strings.Contains(s, `"dropped":4`) {
		t.Fatalf("no warning about the cut: %s", s)
	}
	for i, r := range recs {
		_, err := j.Get(r.Event.ID)
		if (i < 6) != (err == nil) {
			t.Fatalf("record %d after the cut: %v", i, err)
		}
	}
	// The cut is durable and the index no longer names the cut records.
	evs, _, err := j.ListByType("a", 0, 100, time.Time{})
	if err != nil || strings.Join(ids(evs), " ") != "u4 u2 u0" {
		t.Fatalf("list by type after the cut: %v %v", ids(evs), err)
	}
	if n := j.countKeys(t, []byte{prefixType}, []byte{prefixType + 1}); n != 6 {
		t.Fatalf("%d index keys left, want 6", n)
	}
	n := 0
	if err := j.Replay(event.ID{}, func(*event.Record) error { n++; return nil }); err != nil || n != 6 {
		t.Fatalf("second replay: %d %v", n, err)
	}
	// Appending after the cut works.
	if err := j.Append(makeEvents(g, 20, 2)); err != nil {
		t.Fatal(err)
	}
}

func TestPruneRespectsCheckpoint(t *testing.T) {
	t.Parallel()
	j := openTemp(t)
	g := event.NewGenerator()
	recs := makeEvents(g, 0, 30, "a", "b", "c")
	if err := j.Append(recs); err != nil {
		t.Fatal(err)
	}
	// No checkpoint: nothing may go.
	if n, err := j.Prune(base.Add(time.Hour)); err != nil || n != 0 {
		t.Fatalf("prune without checkpoint: %d %v", n, err)
	}
	if err := j.SaveCheckpoint(Checkpoint{UpTo: recs[9].Event.ID, At: base}); err != nil {
		t.Fatal(err)
	}
	// Retention wants everything before event 20 gone; the checkpoint allows 0..9.
	n, err := j.Prune(base.Add(20 * time.Second))
	if err != nil || n != 10 {
		t.Fatalf("pruned %d, %v; want 10", n, err)
	}
	for i, r := range recs {
		_, err := j.Get(r.Event.ID)
		if (i < 10) != errors.Is(err, ErrNotFound) {
			t.Fatalf("event %d after prune: %v", i, err)
		}
	}
	if err := j.SaveCheckpoint(Checkpoint{UpTo: recs[29].Event.ID, At: base}); err != nil {
		t.Fatal(err)
	}
	// Now retention is the limit: events received before +15.5 s.
	n, err = j.Prune(base.Add(15*time.Second + 500*time.Millisecond))
	if err != nil || n != 6 {
		t.Fatalf("pruned %d, %v; want 6", n, err)
	}
	evs, more, err := j.List(0, 100, time.Time{})
	if err != nil || len(evs) != 14 || more || evs[13].UserID != "u16" {
		t.Fatalf("left: %v %v %v", ids(evs), more, err)
	}
	if n := j.countKeys(t, []byte{prefixType}, []byte{prefixType + 1}); n != 14 {
		t.Fatalf("%d index keys left, want 14", n)
	}
	if n, err := j.Prune(base.Add(15 * time.Second)); err != nil || n != 0 {
		t.Fatalf("prune again: %d %v", n, err)
	}
}

func TestPruneManyBatches(t *testing.T) {
	t.Parallel()
	j := openAt(t, t.TempDir(), nil)
	defer j.Close()
	j.cfg.PruneBatch = 7
	g := event.NewGenerator()
	recs := makeEvents(g, 0, 100, "a", "b")
	if err := j.Append(recs); err != nil {
		t.Fatal(err)
	}
	if err := j.SaveCheckpoint(Checkpoint{UpTo: recs[99].Event.ID, At: base}); err != nil {
		t.Fatal(err)
	}
	if n, err := j.Prune(base.Add(90 * time.Second)); err != nil || n != 90 {
		t.Fatalf("pruned %d, %v", n, err)
	}
	if n := j.countKeys(t, recordLower, recordUpper); n != 10 {
		t.Fatalf("%d records left", n)
	}
}

func TestFaultAndProbe(t *testing.T) {
	t.Parallel()
	j := openTemp(t)
	if err := j.Probe(); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("disk on fire")
	j.SetFault(boom)
	g := event.NewGenerator()
	recs := makeEvents(g, 0, 3)
	if err := j.Append(recs); !errors.Is(err, boom) {
		t.Fatalf("append with fault: %v", err)
	}
	if err := j.Probe(); !errors.Is(err, boom) {
		t.Fatalf("probe with fault: %v", err)
	}
	if _, err := j.Get(recs[0].Event.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a failed append wrote: %v", err)
	}
	j.SetFault(nil)
	if err := j.Append(recs); err != nil {
		t.Fatal(err)
	}
	if err := j.Probe(); err != nil {
		t.Fatal(err)
	}
}

func TestConcurrentAppends(t *testing.T) {
	t.Parallel()
	j := openTemp(t)
	const writers, perWriter = 8, 50
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	all := make([][]event.Record, writers)
	for w := 0; w < writers; w++ {
		g := event.NewGenerator() // distinct generators never collide
		all[w] = makeEvents(g, w*1000, perWriter, fmt.Sprintf("w%d", w))
		wg.Add(1)
		go func(recs []event.Record) {
			defer wg.Done()
			for i := 0; i < len(recs); i += 5 {
				if err := j.Append(recs[i : i+5]); err != nil {
					errs <- err
					return
				}
			}
		}(all[w])
	}
	// Readers run alongside.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 20; i++ {
			if _, _, err := j.List(0, 10, time.Time{}); err != nil {
				errs <- err
				return
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	n := 0
	if err := j.Replay(event.ID{}, func(*event.Record) error { n++; return nil }); err != nil || n != writers*perWriter {
		t.Fatalf("replayed %d, %v", n, err)
	}
	for w := 0; w < writers; w++ {
		evs, _, err := j.ListByType(fmt.Sprintf("w%d", w), 0, 100, time.Time{})
		if err != nil || len(evs) != perWriter {
			t.Fatalf("writer %d: %d events, %v", w, len(evs), err)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	if _, err := Open(Config{}); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("no dir: %v", err)
	}
	dir := t.TempDir()
	j := openAt(t, dir, nil)
	defer j.Close()
	if _, err := Open(Config{Dir: dir}); err == nil {
		t.Fatal("a second Open of the same dir succeeded")
	}
}
