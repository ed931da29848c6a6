//go:build unix

package sockfile

import (
	"net"
	"os"
	"syscall"
)

// listenBacklog is the pending-connection queue Listen asks for; the
// kernel caps it at its own limit (somaxconn on Linux), as it does Go's.
const listenBacklog = 4096

// Listen binds a Unix stream socket at path and listens on it, with a's
// access set on the file in between. The listener removes the file when
// it closes, as net.ListenUnix's does.
func Listen(path string, a Access) (*net.UnixListener, error) {
	if !a.SetPerm && !a.SetOwner {
		return net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	}
	opErr := func(op string, err error) error {
		return &net.OpError{Op: "listen", Net: "unix", Addr: &net.UnixAddr{Name: path, Net: "unix"}, Err: os.NewSyscallError(op, err)}
	}
	// Made close-on-exec under ForkLock, as the net package makes its
	// sockets where socket(2) has no SOCK_CLOEXEC.
	syscall.ForkLock.RLock()
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err == nil {
		syscall.CloseOnExec(fd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return nil, opErr("socket", err)
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close() // FileListener works on a duplicate
	if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: path}); err != nil {
		return nil, opErr("bind", err)
	}
	fail := func(err error) (*net.UnixListener, error) {
		os.Remove(path)
		return nil, err
	}
	if a.SetOwner {
		if err := os.Lchown(path, a.UID, a.GID); err != nil {
			return fail(err)
		}
	}
	if a.SetPerm {
		if err := os.Chmod(path, a.Perm); err != nil {
			return fail(err)
		}
	}
	if err := syscall.Listen(fd, listenBacklog); err != nil {
		return fail(opErr("listen", err))
	}
	fl, err := net.FileListener(f)
	if err != nil {
		return fail(err)
	}
	l := fl.(*net.UnixListener)
	l.SetUnlinkOnClose(true)
	return l, nil
}
