//go:build !linux

package sockfile

import (
	"net"

	"github.com/mqwire/mqwire/socket"
)

// PeerCred reports false: peer credentials are read on Linux only.
func PeerCred(*net.UnixConn) (socket.PeerCred, bool) { return socket.PeerCred{}, false }

// Info is nil: peer credentials are read on Linux only.
func Info(*net.UnixConn) socket.ConnInformer { return nil }
