package journal

import (
	"fmt"
	"runtime/debug"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Pebble reports an I/O error in its commit path (a WAL write or fsync that
// failed, ENOSPC the ballast could not absorb, EIO) with Logger.Fatalf,
// after which, in its own words, "the commit pipeline will be horked": the
// WAL writer keeps the error and fails every later sync, and the failed
// batch may already be in the memtable. Its default logger exits the
// process, which takes reads, metrics and push down with it.
//
// Ours panics with a fatalError instead, and every commit goes through
// Journal.commit, which recovers it on the caller's goroutine (pebble runs a
// commit on the goroutine that calls Commit). The journal is then failed:
// every later write is refused with a *FailedError, reads keep working, and
// health reports it. The batch whose commit failed is not acknowledged; its
// fsync failed, so it may or may not be on disk (FailedError.InFlight).
//
// Reopening pebble in-process is not attempted. Close may block on the
// commit pipeline's lock when a panic unwound past it (a failed WriteRecord
// panics with that lock held), the memtable may hold the failed batch, and
// a reopen would replay a WAL whose tail is in an unknown state while
// readers still hold the old store. A restart does all of that safely:
// pebble replays what reached the WAL and drops a torn tail.
//
// What this cannot cover:
//   - Fatalf on pebble's background goroutines (a MANIFEST write or sync
//     failing after a flush or compaction; version_set.go). A panic there
//     cannot be recovered from another goroutine and ends the process, as
//     pebble intends. The free-space guard and the emergency ballast
//     (disk.go) are what keep a full disk from getting that far.
//   - A failed WAL rotation (a memtable filling up while the disk fails):
//     pebble panics after releasing DB.mu inside a function that unlocks it
//     again on the way out, which Go reports as a fatal error, not a panic.
//
// Guarded by TestAppendEIOFailsTheJournalNotTheProcess.

// fatalError is what pebbleLogger.Fatalf panics with.
type fatalError struct{ msg string }

func (e fatalError) Error() string { return e.msg }

// failedCloseTimeout bounds Close after a failure (see closeDB).
const failedCloseTimeout = 10 * time.Second

// commit commits b, turning a panic in pebble's commit path into a failed
// journal and a *FailedError (see above).
func (j *Journal) commit(b *pebble.Batch, o *pebble.WriteOptions) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = j.fail(r, debug.Stack())
		}
	}()
	return b.Commit(o)
}

// fail marks the journal failed (the first failure is kept and logged) and
// returns the error of the write that failed.
func (j *Journal) fail(r any, stack []byte) error {
	var cause string
	_, fatalf := r.(fatalError)
	switch v := r.(type) {
	case fatalError:
		cause = v.msg
	case error:
		cause = v.Error()
	default:
		cause = fmt.Sprint(v)
	}
	if j.failure.CompareAndSwap(nil, &FailedError{Cause: cause}) {
		// fatalf false: pebble panicked outright rather than through
		// Fatalf; the pipeline is as broken either way.
		j.log.Error().Str("reason", cause).Bool("fatalf", fatalf).Str("data_dir", j.cfg.Dir).Str("stack", string(stack)).
			Msg("journal failed: refusing writes until restarted; reads go on")
	}
	return &FailedError{Cause: cause, InFlight: true}
}

// failed returns the *FailedError every write gets once the journal has
// failed, or nil.
func (j *Journal) failed() error {
	if f := j.failure.Load(); f != nil {
		return f
	}
	return nil
}

// closeDB closes pebble. After a failure it may never return (see above),
// so it is given failedCloseTimeout and then abandoned: the process is on
// its way out, and its data is whatever reached the WAL.
func (j *Journal) closeDB() error {
	if j.failed() == nil {
		return j.db.Close()
	}
	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("pebble close panicked: %v", r)
			}
		}()
		done <- j.db.Close()
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(failedCloseTimeout):
		return fmt.Errorf("pebble did not close within %s of the journal failing", failedCloseTimeout)
	}
}
