package journal

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
)

// ballastName is the emergency ballast's file in the data directory. Pebble
// ignores files whose names it does not know.
const ballastName = "EMERGENCY_BALLAST"

// createBallast makes a file of size bytes at path whose blocks are really
// allocated: a sparse file (Truncate) reserves nothing, and deleting it
// would free nothing. It writes a temporary file and renames it, so a crash
// midway never leaves a short ballast under the real name.
func createBallast(path string, size int64) error {
	tmp := path + ".tmp"
	_ = os.Remove(tmp)
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("create emergency ballast %s: %w", tmp, err)
	}
	err = allocate(f, size)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("create emergency ballast %s (%d bytes): %w", path, size, err)
	}
	return nil
}

// removeBallast deletes the ballast and any half-written one; a missing
// file is not an error.
func removeBallast(path string) error {
	var errs []error
	for _, p := range []string{path, path + ".tmp"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ballastPresent reports whether a non-empty ballast file exists at path.
func ballastPresent(path string) (bool, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return fi.Mode().IsRegular() && fi.Size() > 0, nil
}

// writeFill allocates size bytes by writing them. The bytes are
// pseudo-random rather than zeros: a file system that compresses (ZFS,
// btrfs) or detects zero blocks would store zeros in no space at all. Even
// so, on a copy-on-write file system with snapshots, deleting the ballast
// may free less than its size.
func writeFill(f *os.File, size int64) error {
	buf := make([]byte, 1<<20)
	var seed [32]byte
	_, _ = rand.NewChaCha8(seed).Read(buf)
	for left := size; left > 0; {
		n := int64(len(buf))
		if left < n {
			n = left
		}
		if _, err := f.Write(buf[:n]); err != nil {
			return err
		}
		left -= n
	}
	return nil
}
