//go:build !linux

package socket

import (
	"net"
	"time"
)

// userTimeoutSupported: TCPMaxRetransmitTime is Linux's here.
const userTimeoutSupported = false

// setUserTimeout is never called here (TCPMaxRetransmitTime fails when set).
func setUserTimeout(*net.TCPConn, time.Duration) error { return ErrNotSupported }
