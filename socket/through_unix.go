//go:build linux

package socket

import (
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// fdWriter writes without waiting on a connection's descriptor. Its state
// is that of one call; only the holder of the pipe's write turn calls it.
// write is bound once, so that a call allocates nothing.
type fdWriter struct {
	rc    syscall.RawConn
	iov   [][]byte
	n     int
	err   error
	write func(fd uintptr) bool
}

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
	w := &fdWriter{rc: rc}
	w.write = w.writeOnce
	return w
}

// TryWrite writes what the connection takes of iov without waiting.
func (w *fdWriter) TryWrite(iov [][]byte) (int, error) {
	w.iov, w.n, w.err = iov, 0, nil
	werr := w.rc.Write(w.write)
	w.iov = nil
	if werr != nil {
		return 0, werr
	}
	return w.n, w.err
}

// writeOnce makes one write system call, for RawConn.Write: it never asks
// to wait.
func (w *fdWriter) writeOnce(fd uintptr) bool {
	if len(w.iov) == 1 {
		w.n, w.err = unix.Write(int(fd), w.iov[0])
	} else {
		w.n, w.err = unix.Writev(int(fd), w.iov)
	}
	if w.err == unix.EAGAIN || w.err == unix.EINTR {
		w.err = nil
	}
	w.n = max(w.n, 0)
	return true
}
