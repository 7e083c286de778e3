package main

import (
	"os"
	"syscall"
)

// fdatasync syncs f's data (and the size it needs), as pebble's WAL does.
func fdatasync(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }
