package sockfile

import (
	"net"

	"golang.org/x/sys/unix"

	"github.com/mqwire/mqwire/socket"
)

// Info returns what the kernel says of the process at the other end of c
// (SO_PEERCRED), as a socket.Conn's Info: a socket.PeerCred, or nil when
// the kernel says nothing.
func Info(c *net.UnixConn) socket.ConnInformer {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil
	}
	var uc *unix.Ucred
	var gerr error
	if err := rc.Control(func(fd uintptr) {
		uc, gerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil || gerr != nil {
		return nil
	}
	return socket.PeerCred{PID: int(uc.Pid), UID: int(uc.Uid), GID: int(uc.Gid)}
}
