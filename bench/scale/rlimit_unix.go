//go:build unix

package scale

import "syscall"

// RaiseFileLimit raises the soft limit on open files to the hard limit and
// returns the new soft limit: a thousand tcp connections in one process take
// two thousand descriptors.
func RaiseFileLimit() (uint64, error) {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return 0, err
	}
	if r.Cur < r.Max {
		r.Cur = r.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
			return 0, err
		}
	}
	return uint64(r.Cur), nil
}
