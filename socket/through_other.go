//go:build !linux

package socket

import "net"

// fdTryWriter: writing through a descriptor is done on Linux only (the
// system calls it needs are not in golang.org/x/sys/unix elsewhere).
func fdTryWriter(net.Conn) TryWriter { return nil }
