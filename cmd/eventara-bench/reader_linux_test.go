//go:build linux

package main

func init() {
	readLoopKinds = append(readLoopKinds, readLoopKind{"epoll", newEpollReader})
}
