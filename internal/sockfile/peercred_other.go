//go:build !linux

package sockfile

import (
	"net"

	"github.com/mqwire/mqwire/socket"
)

// Info is nil: peer credentials are read on Linux only.
func Info(*net.UnixConn) socket.ConnInformer { return nil }
