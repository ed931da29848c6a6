//go:build !linux

package socket

import (
	"io"
	"net"
)

// fdTryWriter: writing through a descriptor is done on Linux only (the
// system calls it needs are not in golang.org/x/sys/unix elsewhere).
func fdTryWriter(net.Conn) TryWriter { return nil }

// fdReader: reading a descriptor without holding a buffer while waiting is
// done on Linux only; elsewhere a reader keeps its buffer while it waits.
type fdReader struct {
	spin, parkedAt int64
	polls          int
}

func newFDReader(net.Conn) *fdReader { return nil }

func (*fdReader) read(LazyBuffer) (int, error) { panic("mqwire: no fdReader on this system") }

func spinReader(lazySource) *fdReader { return nil }

// newConnWriter: c itself (see through_unix.go).
func newConnWriter(c net.Conn) connWriter { return &plainWriter{Conn: c} }

// directReader: c itself (see through_unix.go).
func directReader(c net.Conn, _ lazySource) io.Reader { return c }
