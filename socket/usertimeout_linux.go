package socket

import (
	"net"
	"time"

	"golang.org/x/sys/unix"
)

// userTimeoutSupported: Linux has TCP_USER_TIMEOUT.
const userTimeoutSupported = true

// setUserTimeout sets how long c's sent data may go unacknowledged
// (TCP_USER_TIMEOUT, in milliseconds).
func setUserTimeout(c *net.TCPConn, d time.Duration) error {
	raw, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT, int(d/time.Millisecond))
	}); err != nil {
		return err
	}
	return serr
}
