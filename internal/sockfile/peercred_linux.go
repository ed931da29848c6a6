package sockfile

import (
	"net"

	"golang.org/x/sys/unix"

	"github.com/mqwire/mqwire/socket"
)

// PeerCred returns what the kernel says of the process at the other end of
// c (SO_PEERCRED), or false if it says nothing.
func PeerCred(c *net.UnixConn) (socket.PeerCred, bool) {
	rc, err := c.SyscallConn()
	if err != nil {
		return socket.PeerCred{}, false
	}
	var uc *unix.Ucred
	var gerr error
	if err := rc.Control(func(fd uintptr) {
		uc, gerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil || gerr != nil {
		return socket.PeerCred{}, false
	}
	return socket.PeerCred{PID: int(uc.Pid), UID: int(uc.Uid), GID: int(uc.Gid)}, true
}

// Info is PeerCred as a socket.Conn's Info: nil when the kernel says
// nothing.
func Info(c *net.UnixConn) socket.ConnInformer {
	if cred, ok := PeerCred(c); ok {
		return cred
	}
	return nil
}
