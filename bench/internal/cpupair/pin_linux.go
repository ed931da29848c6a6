package cpupair

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// firstTwo returns the first two CPUs the process may run on, and true:
// threads can be bound to them.
func firstTwo() ([2]int, bool) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return [2]int{0, 1}, false
	}
	var cpus []int
	for c := 0; c < len(set)*64 && len(cpus) < 2; c++ {
		if set.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	if len(cpus) < 2 {
		return [2]int{0, 0}, true
	}
	return [2]int{cpus[0], cpus[1]}, true
}

// lockTo binds the calling goroutine to its thread and, if pinned, the
// thread to cpu. The goroutine must end without unlocking, so that the
// thread ends with it rather than run other goroutines bound to cpu.
func lockTo(cpu int, pinned bool) {
	runtime.LockOSThread()
	if !pinned {
		return
	}
	var set unix.CPUSet
	set.Set(cpu)
	_ = unix.SchedSetaffinity(0, &set) // unbound, the figures are still the threads'
}
