//go:build !linux

package journal

import "os"

// allocate reserves size bytes for f by writing them (see writeFill);
// fallocate is Linux's.
func allocate(f *os.File, size int64) error { return writeFill(f, size) }
