// Package neterr tells the network errors the transports act on apart on
// every system Go builds for: by error number where the system has them,
// by their text on Plan 9, which has none.
package neterr

import "strings"

func has(err error, text string) bool { return err != nil && strings.Contains(err.Error(), text) }

// AddrInUse reports whether err says the address is taken.
func AddrInUse(err error) bool { return has(err, "in use") }

// AddrNotAvailable reports whether err, from a listen, says the address is
// not one this host can listen on.
func AddrNotAvailable(err error) bool {
	return has(err, "not available") || has(err, "does not exist")
}

// ConnRefused reports whether err says nobody listens at the address.
func ConnRefused(err error) bool { return has(err, "refused") }

// ConnReset reports whether err says the peer reset the connection.
func ConnReset(err error) bool { return has(err, "reset") }

// BrokenPipe reports whether err says the peer is gone for writes.
func BrokenPipe(err error) bool { return has(err, "hungup") || has(err, "broken pipe") }

// NetUnreachable reports whether err says no route leads to the network.
func NetUnreachable(err error) bool { return has(err, "network unreachable") }

// HostUnreachable reports whether err says the host cannot be reached.
func HostUnreachable(err error) bool { return has(err, "host unreachable") }

// NetworkFault reports whether err says the network gave up on a
// connection.
func NetworkFault(err error) bool {
	return has(err, "timed out") || HostUnreachable(err) || NetUnreachable(err)
}
