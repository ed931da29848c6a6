//go:build !unix

package perfcmd

import "time"

// cpuTimes is not measured on this system: -cpu prints nothing.
func cpuTimes() (user, sys time.Duration, ok bool) { return 0, 0, false }
