//go:build unix

package socket

import (
	"net"

	"golang.org/x/sys/unix"
)

// setTOS sets the type-of-service byte of c's packets: IP_TOS, or
// IPV6_TCLASS on an IPv6 connection.
func setTOS(c *net.TCPConn, tos int) error {
	raw, err := c.SyscallConn()
	if err != nil {
		return err
	}
	level, opt := unix.IPPROTO_IP, unix.IP_TOS
	if a, ok := c.LocalAddr().(*net.TCPAddr); ok && a.IP.To4() == nil {
		level, opt = unix.IPPROTO_IPV6, unix.IPV6_TCLASS
	}
	var serr error
	if err := raw.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), level, opt, tos) }); err != nil {
		return err
	}
	return serr
}
