// Package journal is the durable, append-only event log on an embedded store
// (pebble): synced appends, reads by id, type and page, state checkpoints,
// and retention.
//
// # Keys
//
// Every key starts with a one-byte prefix naming its space:
//
//	'e' + id (16 bytes)                        → event.AppendRecord bytes (events and control records)
//	't' + uvarint(len(type)) + type + id       → receivedAt (8-byte seconds + 4-byte nanoseconds, big-endian)
//	'c' + seq (8 bytes, big-endian)            → checkpoint (version, UpTo, At, State, CRC-32C)
//	'p'                                        → the Probe scratch key
//	'i' + SHA-256(idempotency key)             → Idempotency (version, At, request fingerprint, event IDs)
//	'j' + At (12 bytes) + SHA-256(key)         → nothing: the time index PruneIdempotency scans
//	's' + seq (8 bytes, big-endian)            → a state log record (rules and alerts, statelog.go)
//	'S'                                        → the state log's compacted snapshot
//	'n' + seq, 'N'                             → the notifier's state log and snapshot (NotifyLog)
//
// IDs are ULIDs assigned by the ingest actor in journal order, so key order
// is journal order: Replay is a forward scan of 'e', List a backward one.
// The type index lets ListByType read one type without scanning the others;
// its value carries the receive time so that the since filter and page skips
// need no lookup of the record itself. The length prefix keeps one type's
// keys from interleaving with another type that extends it ("a" and "ab").
//
// # Write cost
//
// Record keys only grow, so the memtable inserts them next to each other.
// Index keys interleave types; Append sorts one call's index entries before
// writing them, so each type's run is adjacent (unsorted, the skiplist
// searches made batches of 1000 about 2.5 times slower). SpanPolicyFunc ends
// sstables at the key-space boundaries so that a flushed record table never
// overlaps the index's tables.
//
// # Time filters
//
// An event's ID millisecond is never before its receive time (the ingest
// actor makes the ID with the receive time; the Generator only moves
// forward), so MinID(since) is a safe lower bound for a scan, and the
// receive time stored in the record (or index value) makes the filter exact.
//
// # Durability
//
// Append commits one pebble batch per call with Sync: a nil error means the
// records are in the fsynced WAL. Pebble merges concurrent synced commits
// into one fsync, and the ingest actor puts many requests in one call, so a
// sync is shared either way. Records carry a CRC-32C; Replay cuts off a
// record that fails it, and everything after it, as a torn or corrupt tail.
//
// # Full disks and I/O errors
//
// A free-space guard refuses writes (ErrDiskFull) below a floor, measured
// before every commit and every second, and an emergency ballast file in
// the directory absorbs the ENOSPC of a disk filled between two checks
// (disk.go, ballast.go). An I/O error pebble cannot continue from in a
// commit fails the journal (ErrFailed) instead of the process: writes are
// refused until a restart, reads go on (fail.go).
//
// # Concurrency
//
// All methods are safe for concurrent use. Close waits for calls in flight
// (they hold a read lock on the store; Close takes the write lock). Replay's
// callback must not call Close.
package journal
