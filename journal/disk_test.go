package journal

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
	"github.com/rs/zerolog"

	"github.com/eventara/eventara/protocol/event"
)

func TestParseDiskLimit(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in      string
		want    DiskLimit
		str     string
		wantErr bool
	}{
		{in: "512MiB", want: DiskLimit{Bytes: 512 << 20}, str: "512MiB"},
		{in: "1GB", want: DiskLimit{Bytes: 1e9}, str: "1GB"},
		{in: "1gb", want: DiskLimit{Bytes: 1e9}, str: "1GB"},
		{in: "1.5GiB", want: DiskLimit{Bytes: 3 << 29}, str: "1536MiB"},
		{in: " 256 MiB ", want: DiskLimit{Bytes: 256 << 20}, str: "256MiB"},
		{in: "4096", want: DiskLimit{Bytes: 4096}, str: "4KiB"},
		{in: "1234B", want: DiskLimit{Bytes: 1234}, str: "1234B"},
		{in: "5%", want: DiskLimit{Percent: 5}, str: "5%"},
		{in: "2.5%", want: DiskLimit{Percent: 2.5}, str: "2.5%"},
		{in: "0", want: DiskLimit{Off: true}, str: "off"},
		{in: "0%", want: DiskLimit{Off: true}, str: "off"},
		{in: "OFF", want: DiskLimit{Off: true}, str: "off"},
		{in: "100%", wantErr: true},
		{in: "-1GB", wantErr: true},
		{in: "1 parsec", wantErr: true},
		{in: "GiB", wantErr: true},
		{in: "", wantErr: true},
		{in: "1e3", wantErr: true},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseDiskLimit(c.in)
			if c.wantErr {
				if err == nil {
					t.Fatalf("ParseDiskLimit(%q) = %+v, want an error", c.in, got)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("ParseDiskLimit(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
			}
			if s := got.String(); s != c.str {
				t.Fatalf("String() = %q, want %q", s, c.str)
			}
			back, err := ParseDiskLimit(got.String())
			if err != nil || back != got {
				t.Fatalf("round trip of %q: %+v, %v", got.String(), back, err)
			}
		})
	}
	if s := (DiskLimit{}).String(); s != "512MiB" {
		t.Fatalf("zero value formats as %q, want the default", s)
	}
}

func TestDiskLimitResolve(t *testing.T) {
	t.Parallel()
	cases := []struct {
		l     DiskLimit
		total uint64
		want  uint64
	}{
		{DiskLimit{}, 1 << 40, 512 << 20},
		{DiskLimit{Bytes: 1 << 20}, 1 << 40, 1 << 20},
		{DiskLimit{Percent: 5}, 1000, 50},
		{DiskLimit{Off: true}, 1 << 40, 0},
	}
	for _, c := range cases {
		if got := c.l.resolve(c.total); got != c.want {
			t.Errorf("%+v.resolve(%d) = %d, want %d", c.l, c.total, got, c.want)
		}
	}
}

// fakeUsageFS is the real file system with a free space the test sets.
type fakeUsageFS struct {
	vfs.FS
	free, total atomic.Uint64
}

func (f *fakeUsageFS) GetDiskUsage(string) (vfs.DiskUsage, error) {
	free, total := f.free.Load(), f.total.Load()
	return vfs.DiskUsage{AvailBytes: free, TotalBytes: total, UsedBytes: total - free}, nil
}

// openWith opens a journal in a fresh directory with cfg's disk settings
// and file system; it is closed when the test ends.
func openWith(t *testing.T, cfg Config, logs *syncBuffer) *Journal {
	t.Helper()
	cfg.Dir, cfg.CacheSize, cfg.MemTableSize = t.TempDir(), 8<<20, 4<<20
	if logs != nil {
		cfg.Log = zerolog.New(logs)
	}
	j, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = j.Close() })
	return j
}

// waitUntil polls cond every 5 ms until it holds or 30 s pass.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after 30s waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestDiskFreeLimitRefusesAndResumes: below the floor every write is
// refused with a *DiskFullError and reads go on; writes resume by
// themselves once free space is back at the floor plus the margin; each
// transition is one log line however many writes were refused.
func TestDiskFreeLimitRefusesAndResumes(t *testing.T) {
	t.Parallel()
	const (
		total = 100 << 30
		limit = 100 << 20
		// margin = min(64 MiB, max(limit/2, total/100)) = 64 MiB.
		resume = limit + 64<<20
	)
	fs := &fakeUsageFS{FS: vfs.Default}
	fs.total.Store(total)
	fs.free.Store(1 << 30)
	logs := &syncBuffer{}
	j := openWith(t, Config{fs: fs, DiskFreeLimit: DiskLimit{Bytes: limit}, BallastSize: 64 << 10,
		DiskCheckInterval: 10 * time.Millisecond}, logs)
	if st := j.DiskStatus(); !st.Ballast || st.Full || st.LimitBytes != limit || st.FreeBytes != 1<<30 {
		t.Fatalf("status after open: %+v", st)
	}
	g := event.NewGenerator()
	first := makeEvents(g, 0, 10)
	if err := j.Append(first); err != nil {
		t.Fatal(err)
	}

	// Append measures before it commits: no waiting for the periodic check.
	fs.free.Store(limit - 1)
	for i := range 20 {
		err := j.Append(makeEvents(g, 10+i, 1))
		var full *DiskFullError
		if !errors.As(err, &full) || !errors.Is(err, ErrDiskFull) {
			t.Fatalf("append below the floor: %v", err)
		}
		if full.FreeBytes != limit-1 || full.LimitBytes != limit || full.ResumeBytes != resume || full.BallastReleased {
			t.Fatalf("DiskFullError = %+v", full)
		}
		if !strings.HasPrefix(err.Error(), "append 1 journal records: disk full: ") {
			t.Fatalf("message %q", err)
		}
	}
	if err := j.SaveCheckpoint(Checkpoint{UpTo: first[9].Event.ID, At: base}); !errors.Is(err, ErrDiskFull) {
		t.Fatalf("checkpoint below the floor: %v", err)
	}
	if err := j.Probe(); !errors.Is(err, ErrDiskFull) {
		t.Fatalf("probe below the floor: %v", err)
	}
	if err := j.Writable(); !errors.Is(err, ErrDiskFull) {
		t.Fatalf("Writable: %v", err)
	}
	if st := j.DiskStatus(); !st.Full || st.FreeBytes != limit-1 {
		t.Fatalf("status below the floor: %+v", st)
	}
	if _, err := j.Get(first[0].Event.ID); err != nil {
		t.Fatalf("read while full: %v", err)
	}
	if evs, _, err := j.List(0, 100, time.Time{}); err != nil || len(evs) != 10 {
		t.Fatalf("list while full: %d events, %v", len(evs), err)
	}

	// Above the floor but within the margin: still refused (hysteresis).
	fs.free.Store(resume - 1)
	if err := j.Append(makeEvents(g, 40, 1)); !errors.Is(err, ErrDiskFull) {
		t.Fatalf("append within the margin: %v", err)
	}
	// The periodic check alone lets writes resume.
	fs.free.Store(resume)
	waitUntil(t, "writes to resume", func() bool { return j.Writable() == nil })
	if err := j.Append(makeEvents(g, 50, 1)); err != nil {
		t.Fatalf("append after resuming: %v", err)
	}
	// And alone notices the floor again.
	fs.free.Store(0)
	waitUntil(t, "the periodic check to refuse", func() bool { return errors.Is(j.Writable(), ErrDiskFull) })

	out := logs.String()
	for msg, n := range map[string]int{"below the limit; refusing writes": 2, "back above the limit; accepting writes": 1} {
		if got := strings.Count(out, msg); got != n {
			t.Errorf("%d log lines %q, want %d:\n%s", got, msg, n, out)
		}
	}
}

// TestDiskFullAtOpenWithoutRoomForTheBallast: a journal opened above the
// floor but without room for the ballast refuses writes, and says when
// they resume.
func TestDiskFullAtOpenWithoutRoomForTheBallast(t *testing.T) {
	t.Parallel()
	fs := &fakeUsageFS{FS: vfs.Default}
	fs.total.Store(100 << 30)
	fs.free.Store(10<<20 + 1<<20)
	j := openWith(t, Config{fs: fs, DiskFreeLimit: DiskLimit{Bytes: 10 << 20}, BallastSize: 2 << 20,
		DiskCheckInterval: 10 * time.Millisecond}, nil)
	var full *DiskFullError
	if err := j.Writable(); !errors.As(err, &full) {
		t.Fatalf("Writable: %v", err)
	}
	// floor 10 MiB + margin 64 MiB + ballast 2 MiB.
	if want := uint64(76 << 20); full.ResumeBytes != want {
		t.Fatalf("ResumeBytes = %d, want %d", full.ResumeBytes, want)
	}
	if _, err := os.Stat(filepath.Join(j.cfg.Dir, ballastName)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("ballast created without room: %v", err)
	}
	fs.free.Store(76 << 20)
	waitUntil(t, "the ballast and writes", func() bool { return j.Writable() == nil })
	if !j.DiskStatus().Ballast {
		t.Fatal("writes resumed without a ballast")
	}
}

// walFault injects err into writes to pebble's WAL files (*.log) while
// armed; once, when once is set.
type walFault struct {
	err   error
	once  bool
	armed atomic.Bool
	hits  atomic.Int32
}

func (f *walFault) String() string { return "walFault" }

func (f *walFault) MaybeError(op errorfs.Op) error {
	if (op.Kind != errorfs.OpFileWrite && op.Kind != errorfs.OpFileWriteAt) || !strings.HasSuffix(op.Path, ".log") {
		return nil
	}
	if f.once {
		if !f.armed.CompareAndSwap(true, false) {
			return nil
		}
	} else if !f.armed.Load() {
		return nil
	}
	f.hits.Add(1)
	return f.err
}

// TestENOSPCReleasesTheBallast: a WAL write that hits ENOSPC (the disk
// filled between two checks) deletes the ballast, is retried into its
// space and succeeds; the guard then refuses writes until the ballast is
// back, and the acknowledged records survive a reopen.
func TestENOSPCReleasesTheBallast(t *testing.T) {
	t.Parallel()
	fault := &walFault{err: syscall.ENOSPC, once: true}
	logs := &syncBuffer{}
	// The floor off: only the ballast stands (and the test does not
	// depend on the machine's free space). The periodic check is slow so
	// that the test re-creates the ballast itself.
	cfg := Config{fs: errorfs.Wrap(vfs.Default, fault), DiskFreeLimit: DiskLimit{Off: true}, BallastSize: 1 << 20,
		DiskCheckInterval: time.Hour}
	j := openWith(t, cfg, logs)
	ballast := filepath.Join(j.cfg.Dir, ballastName)
	if fi, err := os.Stat(ballast); err != nil || fi.Size() != 1<<20 {
		t.Fatalf("ballast after open: %v, %v", fi, err)
	}
	g := event.NewGenerator()
	var acked []event.Record
	appendOK := func(recs []event.Record) {
		t.Helper()
		if err := j.Append(recs); err != nil {
			t.Fatal(err)
		}
		acked = append(acked, recs...)
	}
	appendOK(makeEvents(g, 0, 10))

	fault.armed.Store(true)
	appendOK(makeEvents(g, 10, 10)) // hits ENOSPC, succeeds on the retry
	if fault.hits.Load() != 1 {
		t.Fatalf("the fault fired %d times", fault.hits.Load())
	}
	if _, err := os.Stat(ballast); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("ballast still there: %v", err)
	}
	var full *DiskFullError
	if err := j.Append(makeEvents(g, 20, 1)); !errors.As(err, &full) || !full.BallastReleased {
		t.Fatalf("append after the ballast went: %v", err)
	}
	if st := j.DiskStatus(); !st.Full || st.Ballast {
		t.Fatalf("status after ENOSPC: %+v", st)
	}
	if !strings.Contains(logs.String(), "released the emergency ballast") {
		t.Fatalf("no log of the release:\n%s", logs)
	}

	j.guard.recreate()
	if err := j.Writable(); err != nil {
		t.Fatalf("Writable after the ballast is back: %v", err)
	}
	if _, err := os.Stat(ballast); err != nil {
		t.Fatal(err)
	}
	appendOK(makeEvents(g, 30, 10))

	dir := j.cfg.Dir
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	j2 := openAt(t, dir, nil)
	defer j2.Close()
	var got []event.ID
	if err := j2.Replay(event.ID{}, func(r *event.Record) error { got = append(got, r.Event.ID); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(acked) {
		t.Fatalf("replayed %d records, acknowledged %d", len(got), len(acked))
	}
	for i := range got {
		if got[i] != acked[i].Event.ID {
			t.Fatalf("record %d: %s, want %s", i, got[i], acked[i].Event.ID)
		}
	}
}

// TestAppendEIOFailsTheJournalNotTheProcess: an I/O error in pebble's
// commit path (Fatalf there) is an error from Append, not a panic; the
// journal then refuses every write and serves reads. ENOSPC with no
// ballast to release is the same.
func TestAppendEIOFailsTheJournalNotTheProcess(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		err     error
		ballast int64
	}{
		{"EIO", syscall.EIO, 0},
		{"ENOSPC without ballast", syscall.ENOSPC, -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			fault := &walFault{err: c.err}
			logs := &syncBuffer{}
			j := openWith(t, Config{fs: errorfs.Wrap(vfs.Default, fault), DiskFreeLimit: DiskLimit{Off: true},
				BallastSize: c.ballast, DiskCheckInterval: time.Hour}, logs)
			g := event.NewGenerator()
			first := makeEvents(g, 0, 10)
			if err := j.Append(first); err != nil {
				t.Fatal(err)
			}
			fault.armed.Store(true)
			err := j.Append(makeEvents(g, 10, 10))
			var failed *FailedError
			if !errors.As(err, &failed) || !errors.Is(err, ErrFailed) || !failed.InFlight {
				t.Fatalf("append on a failing disk: %v", err)
			}
			if !strings.Contains(failed.Cause, "fatal commit error") {
				t.Fatalf("cause %q", failed.Cause)
			}
			fault.armed.Store(false) // the disk is fine again: the journal still is not
			for i := range 3 {
				err := j.Append(makeEvents(g, 20+i, 1))
				if !errors.As(err, &failed) || failed.InFlight {
					t.Fatalf("append after the failure: %v", err)
				}
			}
			for name, err := range map[string]error{
				"Writable":       j.Writable(),
				"Probe":          j.Probe(),
				"SaveCheckpoint": j.SaveCheckpoint(Checkpoint{UpTo: first[9].Event.ID, At: base}),
			} {
				if !errors.Is(err, ErrFailed) {
					t.Errorf("%s after the failure: %v", name, err)
				}
			}
			if _, err := j.Prune(base); !errors.Is(err, ErrFailed) {
				t.Errorf("Prune after the failure: %v", err)
			}
			for _, r := range first {
				if _, err := j.Get(r.Event.ID); err != nil {
					t.Fatalf("read after the failure: %v", err)
				}
			}
			if n := strings.Count(logs.String(), "journal failed: refusing writes"); n != 1 {
				t.Fatalf("%d failure log lines:\n%s", n, logs)
			}
			// Close returns (with pebble's error, if any) and stops every
			// goroutine: TestMain checks.
			_ = j.Close()
		})
	}
}
