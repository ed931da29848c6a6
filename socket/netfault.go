//go:build !plan9

package socket

import (
	"errors"
	"syscall"
)

// networkFault reports whether err says the network gave up on the
// connection (TCPMaxRetransmitTime, keep-alives, an unreachable host):
// never the consequence of either side closing.
func networkFault(err error) bool {
	return errors.Is(err, syscall.ETIMEDOUT) || errors.Is(err, syscall.EHOSTUNREACH) ||
		errors.Is(err, syscall.ENETUNREACH)
}
