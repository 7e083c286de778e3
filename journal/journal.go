package journal

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/rs/zerolog"

	"github.com/eventara/eventara/protocol/event"
)

// Config configures a Journal. Zero values are the documented defaults.
type Config struct {
	// Dir is the store's directory, created if missing. Required.
	Dir string
	// Log receives the journal's and pebble's logs (pebble's info lines at
	// Debug). The zero value discards them.
	Log zerolog.Logger
	// CacheSize is the block cache in bytes. Zero means 64 MiB.
	CacheSize int64
	// MemTableSize is the size of one memtable in bytes. Zero means 32 MiB.
	MemTableSize uint64
	// Compactions is the most concurrent compactions. Zero means 1, which
	// leaves the second core of a small box to ingestion.
	Compactions int
	// PruneBatch is how many records Prune deletes per batch. Zero means 10,000.
	PruneBatch int
	// DiskFreeLimit is the free space of Dir's file system below which
	// writes are refused (see disk.go). The zero value means
	// DefaultDiskFreeLimit (512 MiB); DiskLimit{Off: true} leaves only the
	// emergency ballast.
	DiskFreeLimit DiskLimit
	// BallastSize is the emergency ballast's size in bytes. Zero means
	// min(64 MiB, max(limit/2, 1% of the file system)); negative means
	// none, so that a disk that runs out fails the journal (see fail.go).
	BallastSize int64
	// DiskCheckInterval is how often free space is measured for health
	// and metrics and a released ballast re-created; Append also measures
	// before every commit. Zero means one second.
	DiskCheckInterval time.Duration

	// fs replaces the operating system's file system under pebble and the
	// free-space guard (tests inject errors and fake free space with it).
	fs vfs.FS
}

// Journal is the durable event log. See the package documentation.
type Journal struct {
	db       *pebble.DB
	fsCloser io.Closer
	log      zerolog.Logger
	cfg      Config

	// mu guards closed; every call holds it for reading while it uses db,
	// Close holds it for writing.
	mu     sync.RWMutex
	closed bool

	// cpMu serialises SaveCheckpoint; cpSeq is the last checkpoint number.
	cpMu  sync.Mutex
	cpSeq uint64

	// state is the rules' state log, notify the notifier's (statelog.go).
	state, notify *StateLog

	fault atomic.Pointer[error]

	// guard refuses writes while the disk is (nearly) full (disk.go).
	guard *diskGuard
	// failure is set once pebble's commit path failed (fail.go).
	failure atomic.Pointer[FailedError]
}

// Open opens (or creates) the journal in cfg.Dir.
func Open(cfg Config) (*Journal, error) {
	if cfg.Dir == "" {
		return nil, fmt.Errorf("open journal: empty Dir: %w", ErrInvalidArgument)
	}
	if cfg.CacheSize <= 0 {
		cfg.CacheSize = 64 << 20
	}
	if cfg.MemTableSize == 0 {
		cfg.MemTableSize = 32 << 20
	}
	if cfg.Compactions <= 0 {
		cfg.Compactions = 1
	}
	if cfg.PruneBatch <= 0 {
		cfg.PruneBatch = 10000
	}
	if cfg.DiskCheckInterval <= 0 {
		cfg.DiskCheckInterval = time.Second
	}
	base := cfg.fs
	if base == nil {
		base = vfs.Default
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("open journal %s: %w", cfg.Dir, err)
	}
	cache := pebble.NewCache(cfg.CacheSize)
	defer cache.Unref()
	compactions := cfg.Compactions
	// The disk health checker is ours to close: pebble closes the one it
	// makes itself in DB.Close, but leaks its goroutine when Open fails.
	log := cfg.Log
	healthFS, fsCloser := vfs.WithDiskHealthChecks(base, 5*time.Second, nil, func(info vfs.DiskSlowInfo) {
		log.Warn().Str("path", info.Path).Dur("duration", info.Duration).Str("op", info.OpType.String()).
			Msg("journal: slow disk operation")
	})
	// The guard measures and keeps the ballast on the unwrapped file
	// system; pebble writes through OnDiskFull, whose callback releases
	// the ballast when a write hits ENOSPC (disk.go).
	guard := newDiskGuard(base, cfg.Dir, cfg.DiskFreeLimit, cfg.BallastSize, cfg.Log)
	guard.open(cfg.DiskCheckInterval)
	fs := vfs.OnDiskFull(healthFS, guard.onDiskFull)
	opts := &pebble.Options{
		FS:                          fs,
		Cache:                       cache,
		MemTableSize:                cfg.MemTableSize,
		MemTableStopWritesThreshold: 4,
		CompactionConcurrencyRange:  func() (int, int) { return 1, compactions },
		FormatMajorVersion:          pebble.FormatNewest,
		Logger:                      pebbleLogger{cfg.Log.With().Str("component", "pebble").Logger()},
	}
	// Keep each key space in its own sstables: record keys only ever grow,
	// so their tables then move down the levels without being rewritten.
	opts.Experimental.SpanPolicyFunc = splitKeySpaces
	db, err := pebble.Open(cfg.Dir, opts)
	if err != nil {
		guard.close()
		_ = fsCloser.Close()
		return nil, fmt.Errorf("open journal %s: %w", cfg.Dir, err)
	}
	j := &Journal{db: db, fsCloser: fsCloser, log: cfg.Log, cfg: cfg, guard: guard}
	j.state, j.notify = newStateLog(j, prefixState, keyStateSnapshot), newStateLog(j, prefixNotify, keyNotifySnapshot)
	if j.cpSeq, err = j.lastCheckpointSeq(); err != nil {
		_ = db.Close()
		guard.close()
		_ = fsCloser.Close()
		return nil, fmt.Errorf("open journal %s: %w", cfg.Dir, err)
	}
	return j, nil
}

// Close flushes nothing (every Append is already synced) and closes the
// store, after calls in flight have returned.
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return ErrClosed
	}
	j.closed = true
	j.guard.close()
	err := j.closeDB()
	_ = j.fsCloser.Close()
	if err != nil {
		return fmt.Errorf("close journal: %w", err)
	}
	return nil
}

// acquire read-locks the store, or returns ErrClosed.
func (j *Journal) acquire() error {
	j.mu.RLock()
	if j.closed {
		j.mu.RUnlock()
		return ErrClosed
	}
	return nil
}

func (j *Journal) release() { j.mu.RUnlock() }

// SetFault makes Append and Probe fail with err, writing nothing, until it
// is called with nil. It is for fault-injection tests.
func (j *Journal) SetFault(err error) {
	if err == nil {
		j.fault.Store(nil)
		return
	}
	j.fault.Store(&err)
}

func (j *Journal) injected() error {
	if p := j.fault.Load(); p != nil {
		return *p
	}
	return nil
}

// Writable returns, from the last check and without touching the disk, the
// error a write would get now: a *DiskFullError, a *FailedError, or nil.
// Callers use it to refuse work before queueing it.
func (j *Journal) Writable() error {
	if err := j.failed(); err != nil {
		return err
	}
	return j.guard.refused()
}

// DiskStatus returns the free-space guard's last view of the data
// directory's file system.
func (j *Journal) DiskStatus() DiskStatus { return j.guard.status() }

// admit returns the error a write gets now, measuring the free space.
func (j *Journal) admit() error {
	if err := j.failed(); err != nil {
		return err
	}
	return j.guard.admit()
}

// Append writes recs (events and control records) in one batch and syncs
// it before returning: a nil error means every record is durable, an error
// means none is, except a *FailedError with InFlight set (the sync failed:
// the records may or may not be on disk). Records must have non-zero IDs,
// given in increasing order by the caller; an ID appended twice overwrites
// the earlier record.
//
// Below the free-space floor it returns a *DiskFullError (ErrDiskFull),
// after the journal failed a *FailedError (ErrFailed), and writes nothing.
//
// keys are the Idempotency records of keyed requests among recs, written
// in the same batch.
func (j *Journal) Append(recs []event.Record, keys ...Idempotency) error {
	return j.append(pebble.Sync, recs, keys)
}

// AppendUnsynced is Append without the sync: the records are in the
// store's write-ahead log when it returns, and a crash of the machine may
// take the newest of them. It is for a journal that copies a durable log
// kept elsewhere (cluster mode: the stream holds them, and a node that
// restarts reads again from its checkpoint's stream sequence).
func (j *Journal) AppendUnsynced(recs []event.Record, keys ...Idempotency) error {
	return j.append(pebble.NoSync, recs, keys)
}

func (j *Journal) append(sync *pebble.WriteOptions, recs []event.Record, keys []Idempotency) error {
	if len(recs) == 0 && len(keys) == 0 {
		return nil
	}
	if err := j.injected(); err != nil {
		return fmt.Errorf("append %d journal records: %w", len(recs), err)
	}
	if err := j.acquire(); err != nil {
		return fmt.Errorf("append %d journal records: %w", len(recs), err)
	}
	defer j.release()
	if err := j.admit(); err != nil {
		return fmt.Errorf("append %d journal records: %w", len(recs), err)
	}
	b := j.db.NewBatch()
	defer b.Close()
	// Record keys arrive in ID order, so the memtable inserts them next to
	// each other. Index keys interleave types; inserted in that order each
	// one costs a full skiplist search (measured: 2.5x the cost of the whole
	// append for batches of 1000). Sorted, each type's run is adjacent.
	ix := indexPool.Get().(*indexEntries)
	defer indexPool.Put(ix)
	ix.reset()
	buf := make([]byte, 0, 1024)
	for i := range recs {
		r := &recs[i]
		if r.Event.ID.IsZero() || (r.Kind != event.KindEvent && r.Kind != event.KindReset) {
			return fmt.Errorf("append journal record %d (id %s, kind %d): %w", i, r.Event.ID, r.Kind, ErrInvalidArgument)
		}
		buf = appendRecordKey(buf[:0], r.Event.ID)
		klen := len(buf)
		buf = event.AppendRecord(buf, r)
		if err := b.Set(buf[:klen], buf[klen:], nil); err != nil {
			return fmt.Errorf("append journal record %s: %w", r.Event.ID, err)
		}
		if r.Kind == event.KindEvent {
			ix.add(r.Event.Type, r.Event.ID, r.Event.ReceivedAt)
		}
	}
	for i := range keys {
		if err := setIdempotency(b, &keys[i]); err != nil {
			return fmt.Errorf("append journal records: %w", err)
		}
	}
	ix.sort()
	for i := range ix.offs {
		k, v := ix.entry(i)
		if err := b.Set(k, v, nil); err != nil {
			return fmt.Errorf("append journal index: %w", err)
		}
	}
	if err := j.commit(b, sync); err != nil {
		return fmt.Errorf("append %d journal records: %w", len(recs), err)
	}
	return nil
}

// Probe reports whether the store takes writes, for the health check. It
// writes one small key without fsync, unless Writable already says no (a
// failed WAL would take an unsynced write without complaint).
func (j *Journal) Probe() error {
	if err := j.injected(); err != nil {
		return fmt.Errorf("probe journal: %w", err)
	}
	if err := j.acquire(); err != nil {
		return fmt.Errorf("probe journal: %w", err)
	}
	defer j.release()
	if err := j.Writable(); err != nil {
		return fmt.Errorf("probe journal: %w", err)
	}
	b := j.db.NewBatch()
	defer b.Close()
	if err := b.Set(probeKey, appendTime(make([]byte, 0, 12), time.Now()), nil); err != nil {
		return fmt.Errorf("probe journal: %w", err)
	}
	if err := j.commit(b, pebble.NoSync); err != nil {
		return fmt.Errorf("probe journal: %w", err)
	}
	return nil
}

// Get returns the event with the given ID.
func (j *Journal) Get(id event.ID) (event.Event, error) {
	if err := j.acquire(); err != nil {
		return event.Event{}, fmt.Errorf("get journal event %s: %w", id, err)
	}
	defer j.release()
	rec, err := j.get(id)
	if err != nil {
		return event.Event{}, fmt.Errorf("get journal event %s: %w", id, err)
	}
	return rec.Event, nil
}

// get returns the event record stored under id; the caller holds the lock.
func (j *Journal) get(id event.ID) (event.Record, error) {
	v, closer, err := j.db.Get(recordKey(id))
	if errors.Is(err, pebble.ErrNotFound) {
		return event.Record{}, ErrNotFound
	}
	if err != nil {
		return event.Record{}, err
	}
	rec, err := event.DecodeRecord(v)
	_ = closer.Close()
	if err != nil {
		return event.Record{}, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if rec.Kind != event.KindEvent {
		return event.Record{}, ErrNotFound
	}
	return rec, nil
}

// pebbleLogger sends pebble's logs to zerolog.
type pebbleLogger struct{ log zerolog.Logger }

func (l pebbleLogger) Infof(format string, args ...any) { l.log.Debug().Msgf(format, args...) }

func (l pebbleLogger) Errorf(format string, args ...any) { l.log.Error().Msgf(format, args...) }

// Fatalf is pebble's report of an error it must not continue from (a
// failed commit, a broken invariant): pebble's own logger exits the
// process. We log and panic with a fatalError instead: on a commit's
// goroutine Journal.commit recovers it and fails the journal (fail.go); on
// a background goroutine it ends the process with its stack printed.
func (l pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if !strings.HasPrefix(msg, "pebble") {
		msg = "pebble: " + msg
	}
	l.log.Error().Str("reason", msg).Msg("pebble fatal error")
	panic(fatalError{msg: msg})
}

// indexEntries collects one Append's index keys and values so that they can
// be written in key order.
type indexEntries struct {
	buf  []byte
	offs []indexOff
}

type indexOff struct{ start, klen, end int }

var indexPool = sync.Pool{New: func() any { return new(indexEntries) }}

func (x *indexEntries) reset() {
	x.buf = x.buf[:0]
	x.offs = x.offs[:0]
}

func (x *indexEntries) add(typ string, id event.ID, at time.Time) {
	start := len(x.buf)
	x.buf = appendTypeKey(x.buf, typ, id)
	klen := len(x.buf) - start
	x.buf = appendTime(x.buf, at)
	x.offs = append(x.offs, indexOff{start, klen, len(x.buf)})
}

func (x *indexEntries) key(o indexOff) []byte { return x.buf[o.start : o.start+o.klen] }

func (x *indexEntries) entry(i int) (k, v []byte) {
	o := x.offs[i]
	return x.buf[o.start : o.start+o.klen], x.buf[o.start+o.klen : o.end]
}

func (x *indexEntries) sort() {
	slices.SortFunc(x.offs, func(a, b indexOff) int { return bytes.Compare(x.key(a), x.key(b)) })
}

// splitKeySpaces ends sstables at the boundaries of the record and index key
// spaces (see the package documentation).
func splitKeySpaces(start []byte) (pebble.SpanPolicy, []byte, error) {
	for _, end := range [][]byte{{keyNotifySnapshot}, {keyNotifySnapshot + 1}, {keyStateSnapshot}, {keyStateSnapshot + 1},
		recordLower, recordUpper, {prefixNotify}, {prefixNotify + 1}, {prefixState}, {prefixState + 1}, {prefixType}, {prefixType + 1}} {
		if bytes.Compare(start, end) < 0 {
			return pebble.SpanPolicy{}, end, nil
		}
	}
	return pebble.SpanPolicy{}, nil, nil
}
