//go:build unix

package journal

import (
	"os"
	"syscall"
)

// allocatedBytes is the space fi's blocks occupy.
func allocatedBytes(fi os.FileInfo) (int64, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int64(st.Blocks) * 512, true
}
