//go:build !linux

package main

import "sync/atomic"

// newReader where there is no epoll reads each connection from a goroutine
// of its own.
func newReader(st *fanoutStats, measuring *atomic.Bool) (*reader, error) {
	return newGoroutineReader(st, measuring), nil
}
