package journal

import (
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/rs/zerolog"
)

// The free-space guard keeps a filling disk from reaching pebble as an I/O
// error. Pebble treats a failed WAL or MANIFEST write as fatal (the commit
// pipeline, or the version set, cannot be unwound), so a full disk must be
// met before pebble meets it: RabbitMQ's disk_free_limit and
// Elasticsearch's flood-stage watermark do the same.
//
// Two defences, in order:
//
//  1. A floor (Config.DiskFreeLimit). Append measures the free space
//     (statfs, about a microsecond) before every commit, and a goroutine
//     measures it every DiskCheckInterval for health and metrics. Below the
//     floor, writes are refused with a *DiskFullError and nothing reaches
//     pebble; reads go on. Writes resume by themselves once the free space
//     is back at the floor plus a margin (the hysteresis, so that the
//     service does not flap around the floor): margin = min(64 MiB,
//     max(floor/2, 1 % of the file system)).
//  2. An emergency ballast (ballast.go): a file of margin bytes, really
//     allocated, in the data directory. Another process can fill the disk
//     between two checks; pebble's file system is wrapped with
//     vfs.OnDiskFull, whose callback deletes the ballast when a write hits
//     ENOSPC, after which pebble retries that write once, into the space
//     the ballast held. The guard then refuses writes until the ballast can
//     be re-created with the floor and margin still free, so a released
//     ballast is never relied on twice. The ballast also covers pebble's
//     background writes (flushes, compactions and the MANIFEST they
//     update), which go on while ingestion is refused and which no
//     recover() can catch (see fail.go).
//
// With the floor off (DiskLimit{Off: true}) only the ballast remains.

// maxDiskMargin caps the hysteresis margin and the default ballast.
const maxDiskMargin = 64 << 20

// DiskStatus is the guard's view of the data directory's file system.
type DiskStatus struct {
	// FreeBytes is the space available to the journal at the last check.
	FreeBytes uint64
	// TotalBytes is the file system's size.
	TotalBytes uint64
	// LimitBytes is the floor, resolved against TotalBytes (0: off).
	LimitBytes uint64
	// ResumeBytes is the free space at which refused writes resume.
	ResumeBytes uint64
	// Full means writes are refused.
	Full bool
	// Ballast means the emergency ballast is in place.
	Ballast bool
	// CheckedAt is the last successful measurement; zero if there was none
	// (then nothing is refused for lack of a measurement).
	CheckedAt time.Time
}

// diskGuard is the free-space guard of one journal (see above).
//
// Locking: mu guards every field below it and is held only for a statfs,
// a state change and a log line, never across the ballast's creation. The
// OnDiskFull callback takes mu too; that cannot deadlock, because nothing
// done under mu writes through pebble's wrapped file system (the callback
// blocks every write through it while it runs).
type diskGuard struct {
	fs          vfs.FS // unwrapped: statfs
	dir         string
	ballastPath string
	limit       DiskLimit
	ballastSize int64 // Config.BallastSize: 0 automatic, < 0 none
	log         zerolog.Logger

	mu         sync.Mutex
	full       bool
	released   bool   // the ballast was given up to ENOSPC, not re-created since
	hasBallast bool   // a ballast file is in place
	releases   uint64 // callback runs that released a ballast; see recreate
	statFailed bool
	warnedNone bool // logged that an ENOSPC found no ballast to release
	last       DiskStatus

	snap atomic.Pointer[diskSnapshot]
	stop chan struct{}
	done chan struct{}
}

// diskSnapshot is what readers see without taking mu.
type diskSnapshot struct {
	status DiskStatus
	err    *DiskFullError // nil when writes are accepted
}

func newDiskGuard(fs vfs.FS, dir string, limit DiskLimit, ballastSize int64, log zerolog.Logger) *diskGuard {
	g := &diskGuard{fs: fs, dir: dir, ballastPath: filepath.Join(dir, ballastName), limit: limit,
		ballastSize: ballastSize, log: log}
	g.snap.Store(&diskSnapshot{})
	return g
}

// sizes returns the floor, the margin and the ballast's size for a file
// system of total bytes.
func (g *diskGuard) sizes(total uint64) (limit, margin, ballast uint64) {
	limit = g.limit.resolve(total)
	margin = min(maxDiskMargin, max(limit/2, total/100))
	switch {
	case g.ballastSize > 0:
		ballast = uint64(g.ballastSize)
	case g.ballastSize == 0:
		ballast = margin
	}
	return limit, margin, ballast
}

// open measures the disk and puts the ballast in place if it fits above the
// floor; without room for it the journal starts refusing writes. It then
// starts the periodic check.
func (g *diskGuard) open(interval time.Duration) {
	present, err := ballastPresent(g.ballastPath)
	if err != nil {
		g.log.Warn().Err(err).Str("path", g.ballastPath).Msg("journal: emergency ballast unreadable; making a new one")
		_ = removeBallast(g.ballastPath)
	}
	g.hasBallast = present
	if du, err := g.fs.GetDiskUsage(g.dir); err == nil && !present {
		limit, _, ballast := g.sizes(du.TotalBytes)
		if ballast > 0 && du.AvailBytes >= limit+ballast {
			if err := createBallast(g.ballastPath, int64(ballast)); err != nil {
				g.log.Warn().Err(err).Str("path", g.ballastPath).Msg("journal: could not create the emergency ballast")
			} else {
				g.hasBallast = true
			}
		}
	}
	st := g.refresh().status
	g.log.Info().Str("limit", g.limit.String()).Uint64("limit_bytes", st.LimitBytes).Uint64("free_bytes", st.FreeBytes).
		Bool("ballast", st.Ballast).Bool("full", st.Full).Str("data_dir", g.dir).Msg("journal: free-space guard")
	g.stop, g.done = make(chan struct{}), make(chan struct{})
	go g.loop(interval)
}

func (g *diskGuard) close() {
	if g.stop == nil {
		return
	}
	close(g.stop)
	<-g.done
}

func (g *diskGuard) loop(interval time.Duration) {
	defer close(g.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-g.stop:
			return
		case <-t.C:
			g.refresh()
			g.recreate()
		}
	}
}

// admit measures the disk and returns the *DiskFullError a write gets, or nil.
func (g *diskGuard) admit() error {
	if e := g.refresh().err; e != nil {
		return e
	}
	return nil
}

// refused returns the *DiskFullError of the last check, or nil: no statfs.
func (g *diskGuard) refused() error {
	if e := g.snap.Load().err; e != nil {
		return e
	}
	return nil
}

func (g *diskGuard) status() DiskStatus { return g.snap.Load().status }

// refresh measures the disk, moves between accepting and refusing, and
// publishes the result.
func (g *diskGuard) refresh() *diskSnapshot {
	g.mu.Lock()
	defer g.mu.Unlock()
	du, err := g.fs.GetDiskUsage(g.dir)
	if err != nil {
		// Fail open: a file system that cannot report its free space is
		// not reason enough to refuse writes; the ballast still stands.
		if !g.statFailed {
			g.statFailed = true
			g.log.Warn().Err(err).Str("data_dir", g.dir).Msg("journal: cannot measure free disk space; the free-space floor is not enforced until it can")
		}
		return g.publishLocked()
	}
	if g.statFailed {
		g.statFailed = false
		g.log.Info().Str("data_dir", g.dir).Msg("journal: free disk space measurable again")
	}
	limit, margin, ballast := g.sizes(du.TotalBytes)
	ballastOK := g.hasBallast || ballast == 0
	resume := limit + margin
	if !ballastOK {
		resume += ballast
	}
	g.last = DiskStatus{FreeBytes: du.AvailBytes, TotalBytes: du.TotalBytes, LimitBytes: limit, ResumeBytes: resume,
		Ballast: g.hasBallast, CheckedAt: time.Now()}
	switch {
	case !g.full && du.AvailBytes < limit:
		g.full = true
		g.log.Warn().Uint64("free_bytes", du.AvailBytes).Uint64("limit_bytes", limit).Uint64("resume_bytes", resume).
			Str("data_dir", g.dir).Msg("journal: free disk space below the limit; refusing writes")
	case !g.full && !ballastOK:
		g.full = true
		g.log.Warn().Uint64("free_bytes", du.AvailBytes).Uint64("limit_bytes", limit).Uint64("ballast_bytes", ballast).
			Uint64("resume_bytes", resume).Str("data_dir", g.dir).
			Msg("journal: no room for the emergency ballast; refusing writes")
	case g.full && ballastOK && du.AvailBytes >= resume:
		g.full, g.released = false, false
		g.log.Info().Uint64("free_bytes", du.AvailBytes).Uint64("limit_bytes", limit).Str("data_dir", g.dir).
			Msg("journal: free disk space back above the limit; accepting writes")
	}
	return g.publishLocked()
}

func (g *diskGuard) publishLocked() *diskSnapshot {
	s := &diskSnapshot{status: g.last}
	s.status.Full, s.status.Ballast = g.full, g.hasBallast
	if g.full {
		s.err = &DiskFullError{FreeBytes: g.last.FreeBytes, LimitBytes: g.last.LimitBytes,
			ResumeBytes: g.last.ResumeBytes, BallastReleased: g.released}
	}
	g.snap.Store(s)
	return s
}

// recreate puts a released (or never created) ballast back once the floor,
// the margin and the ballast all fit; refresh then lets writes resume.
func (g *diskGuard) recreate() {
	g.mu.Lock()
	_, margin, ballast := g.sizes(g.last.TotalBytes)
	want := !g.hasBallast && ballast > 0 && !g.last.CheckedAt.IsZero() &&
		g.last.FreeBytes >= g.last.LimitBytes+margin+ballast
	gen := g.releases
	g.mu.Unlock()
	if !want {
		return
	}
	err := createBallast(g.ballastPath, int64(ballast))
	g.mu.Lock()
	switch {
	case err != nil:
		g.log.Warn().Err(err).Str("path", g.ballastPath).Msg("journal: could not re-create the emergency ballast")
	case g.releases != gen:
		// The disk ran out while the ballast was being written: the
		// callback may have found nothing to release. Give the space back.
		_ = removeBallast(g.ballastPath)
	default:
		g.hasBallast, g.warnedNone = true, false
		g.log.Info().Uint64("ballast_bytes", ballast).Str("path", g.ballastPath).Msg("journal: emergency ballast re-created")
	}
	g.mu.Unlock()
	g.refresh()
}

// onDiskFull is the vfs.OnDiskFull callback: a write through pebble's file
// system hit ENOSPC. It runs on that write's goroutine (pebble's WAL
// flusher, a flush or compaction, or a commit) while every other write
// through that file system waits, so it only deletes the ballast (on the
// unwrapped file system: through the wrapped one it would wait for itself)
// and flips the guard; pebble then retries the write once.
func (g *diskGuard) onDiskFull() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.releases++
	had := g.hasBallast
	if err := removeBallast(g.ballastPath); err != nil {
		g.log.Error().Err(err).Str("path", g.ballastPath).Msg("journal: could not delete the emergency ballast")
	}
	g.hasBallast = false
	g.full, g.released = true, true
	_, margin, ballast := g.sizes(g.last.TotalBytes)
	g.last.ResumeBytes = g.last.LimitBytes + margin + ballast
	switch {
	case had:
		g.log.Warn().Uint64("ballast_bytes", ballast).Uint64("limit_bytes", g.last.LimitBytes).
			Uint64("resume_bytes", g.last.ResumeBytes).Str("data_dir", g.dir).
			Msg("journal: disk ran out of space; released the emergency ballast to finish the write, refusing writes")
	case !g.warnedNone:
		g.warnedNone = true
		g.log.Error().Str("data_dir", g.dir).
			Msg("journal: disk ran out of space and no emergency ballast is left; the write fails")
	}
	g.publishLocked()
}
