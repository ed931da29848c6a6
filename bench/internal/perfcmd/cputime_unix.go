//go:build unix

package perfcmd

import (
	"syscall"
	"time"
)

// cpuTimes returns the process's user and system CPU time.
func cpuTimes() (user, sys time.Duration, ok bool) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0, 0, false
	}
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano()), true
}
