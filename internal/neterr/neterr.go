//go:build !plan9

// Package neterr tells the network errors the transports act on apart on
// every system Go builds for: by error number where the system has them,
// by their text on Plan 9, which has none.
package neterr

import (
	"errors"
	"io/fs"
	"syscall"
)

// AddrInUse reports whether err says the address is taken.
func AddrInUse(err error) bool { return errors.Is(err, syscall.EADDRINUSE) }

// AddrNotAvailable reports whether err, from a listen, says the address is
// not one this host can listen on: an IP address of no local interface, or
// a socket file whose directory does not exist.
func AddrNotAvailable(err error) bool {
	return errors.Is(err, syscall.EADDRNOTAVAIL) || errors.Is(err, fs.ErrNotExist)
}

// ConnRefused reports whether err says nobody listens at the address.
func ConnRefused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }

// ConnReset reports whether err says the peer reset the connection.
func ConnReset(err error) bool { return errors.Is(err, syscall.ECONNRESET) }

// BrokenPipe reports whether err says the peer is gone for writes.
func BrokenPipe(err error) bool { return errors.Is(err, syscall.EPIPE) }

// NetUnreachable reports whether err says no route leads to the network.
func NetUnreachable(err error) bool { return errors.Is(err, syscall.ENETUNREACH) }

// HostUnreachable reports whether err says the host cannot be reached.
func HostUnreachable(err error) bool { return errors.Is(err, syscall.EHOSTUNREACH) }

// NetworkFault reports whether err says the network gave up on a
// connection (a retransmission or keep-alive timeout, an unreachable
// host or network): never the consequence of either side closing.
func NetworkFault(err error) bool {
	return errors.Is(err, syscall.ETIMEDOUT) || HostUnreachable(err) || NetUnreachable(err)
}
