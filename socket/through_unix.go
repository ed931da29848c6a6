//go:build unix

package socket

import (
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// fdWriter writes without waiting on a connection's descriptor.
type fdWriter struct{ rc syscall.RawConn }

// fdTryWriter returns a TryWriter on the descriptor of a tcp or ipc
// connection, or nil.
func fdTryWriter(c net.Conn) TryWriter {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return fdWriter{rc}
}

// TryWrite writes what the connection takes of iov without waiting.
func (w fdWriter) TryWrite(iov [][]byte) (n int, err error) {
	werr := w.rc.Write(func(fd uintptr) bool {
		if len(iov) == 1 {
			n, err = unix.Write(int(fd), iov[0])
		} else {
			n, err = unix.Writev(int(fd), iov)
		}
		if err == unix.EAGAIN || err == unix.EINTR {
			err = nil
		}
		n = max(n, 0)
		return true
	})
	if werr != nil {
		return 0, werr
	}
	return n, err
}
