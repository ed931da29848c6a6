package testutil

import (
	"syscall"
	"time"
)

// CPUTime returns the CPU time this process has used so far, user and
// system together: what benchmarks that report CPU per operation measure
// across their loop.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
