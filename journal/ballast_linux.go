package journal

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// allocate reserves size bytes for f with fallocate (mode 0: the blocks are
// allocated and the file's size set, without writing them), or writes them
// where the file system does not support it.
func allocate(f *os.File, size int64) error {
	for {
		err := unix.Fallocate(int(f.Fd()), 0, 0, size)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EOPNOTSUPP), errors.Is(err, unix.ENOSYS):
			return writeFill(f, size)
		}
		return err
	}
}
