//go:build !unix

package socket

import "net"

// fdTryWriter: writing through a descriptor is for unix systems only.
func fdTryWriter(net.Conn) TryWriter { return nil }
