//go:build !windows

package test

import "syscall"

// setReceiveBuffer sets SO_RCVBUF on a socket before it connects (so the
// window it announces is small from the start).
func setReceiveBuffer(fd uintptr, n int) error {
	return syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, n)
}
