package actors

import (
	"errors"
	"fmt"

	"github.com/eventara/eventara/journal"
)

// journalRefuses returns the error an ingest request gets at once, before
// it is queued, while the journal refuses writes: the disk is below its
// free-space floor (journal.ErrDiskFull) or the journal failed
// (journal.ErrFailed). It reads the journal's last check, not the disk; the
// journal measures again before each commit, so a request that slips past
// this (the disk just filled) is still refused there.
func (s *System) journalRefuses() error {
	if err := s.cfg.Journal.Writable(); err != nil {
		return fmt.Errorf("%w: %w", ErrJournal, err)
	}
	return nil
}

// diskHealth fills h's disk fields and says DOWN with reason "disk" while
// the journal refuses writes for lack of space, "journal failed" once it
// has failed.
func (s *System) diskHealth(h *Health, down func(reason string)) {
	ds := s.cfg.Journal.DiskStatus()
	h.DiskMeasured = !ds.CheckedAt.IsZero()
	h.DiskFreeBytes, h.DiskLimitBytes, h.DiskFull = ds.FreeBytes, ds.LimitBytes, ds.Full
	if ds.Full {
		down("disk")
	}
	if err := s.cfg.Journal.Writable(); errors.Is(err, journal.ErrFailed) {
		h.JournalError = err.Error()
		down("journal failed")
	}
}
