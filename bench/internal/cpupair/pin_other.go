//go:build !linux

package cpupair

import "runtime"

// firstTwo returns CPUs 0 and 1, unpinned: threads cannot be bound here.
func firstTwo() ([2]int, bool) {
	if runtime.NumCPU() < 2 {
		return [2]int{0, 0}, false
	}
	return [2]int{0, 1}, false
}

// lockTo binds the calling goroutine to its thread (see pin_linux.go).
func lockTo(int, bool) { runtime.LockOSThread() }
