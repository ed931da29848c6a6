//go:build linux

package socket

import (
	"io"
	"math"
	"net"
	"os"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// fdWriter writes without waiting on a connection's descriptor. Its state
// is that of one call; only the holder of the pipe's write turn calls it.
// write is bound once, so that a call allocates nothing.
type fdWriter struct {
	rc syscall.RawConn
	// rawMin is the smallest write made with a raw system call
	// (rawWriteMin); iovs is the kernel's vector of a raw writev.
	rawMin int
	iovs   []unix.Iovec
	iov    [][]byte
	n      int
	err    error
	write  func(fd uintptr) bool
	// The state of a writeBuffers call: what is left to write, what was
	// written, and writeAll bound once; one holds Write's buffer.
	pending  net.Buffers
	written  int64
	writeAll func(fd uintptr) bool
	one      [1][]byte
}

// newFDWriter returns an fdWriter on c's descriptor, or nil when c has
// none.
func newFDWriter(c net.Conn) *fdWriter {
	rc := rawConnOf(c)
	if rc == nil {
		return nil
	}
	w := &fdWriter{rc: rc, rawMin: rawWriteMin(c)}
	w.write = w.writeOnce
	w.writeAll = w.writeAllFD
	return w
}

// fdTryWriter returns a TryWriter on the descriptor of a tcp or ipc
// connection, or nil.
func fdTryWriter(c net.Conn) TryWriter {
	if w := newFDWriter(c); w != nil {
		return w
	}
	return nil
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

// newConnWriter returns what a pipe writes c with when it may wait (the
// writer goroutine; the rest of a message written through): writes on c's
// descriptor, raw from rawWriteMin(c) bytes, for tcp and ipc; else c's own.
func newConnWriter(c net.Conn) connWriter {
	if rawWriteMin(c) < math.MaxInt {
		if w := newFDWriter(c); w != nil {
			return w
		}
	}
	return &plainWriter{Conn: c}
}

// Write writes all of b, waiting in the poller for room.
func (w *fdWriter) Write(b []byte) (int, error) {
	w.one[0] = b
	_, err := w.writeBuffers(w.one[:])
	w.one[0] = nil
	return int(w.written), err
}

// writeBuffers writes all of bufs, waiting in the poller for room, and
// returns what it did not write (nothing unless it failed).
func (w *fdWriter) writeBuffers(bufs net.Buffers) (net.Buffers, error) {
	w.pending, w.written, w.err = bufs, 0, nil
	err := w.rc.Write(w.writeAll)
	if err == nil {
		err = w.err
	}
	left := w.pending
	w.pending = nil
	return left, err
}

// writeAllFD writes w.pending, for RawConn.Write: false asks it to wait
// until the descriptor is writable and call again.
func (w *fdWriter) writeAllFD(fd uintptr) bool {
	for consume(&w.pending, 0); len(w.pending) > 0; {
		n, err := w.writeCall(fd, w.pending)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return false
		case err != nil:
			w.err = os.NewSyscallError("write", err)
			return true
		}
		w.written += int64(n)
		consume(&w.pending, n)
	}
	return true
}

// consume moves bufs past its first n bytes, and past empty buffers.
func consume(bufs *net.Buffers, n int) {
	for len(*bufs) > 0 {
		k := len((*bufs)[0])
		if k > n {
			(*bufs)[0] = (*bufs)[0][n:]
			return
		}
		n -= k
		*bufs = (*bufs)[1:]
	}
}

// writeCall makes one write or writev system call of bufs, raw when they
// hold at least w.rawMin bytes.
func (w *fdWriter) writeCall(fd uintptr, bufs [][]byte) (n int, err error) {
	if len(bufs) == 1 {
		return sysWrite(int(fd), bufs[0], len(bufs[0]) >= w.rawMin)
	}
	raw := w.rawMin == 0 || buffersLen(bufs) >= w.rawMin
	n, w.iovs, err = sysWritev(int(fd), bufs, w.iovs, raw)
	return n, err
}

// writeOnce makes one write system call, for RawConn.Write: it never asks
// to wait.
func (w *fdWriter) writeOnce(fd uintptr) bool {
	w.n, w.err = w.writeCall(fd, w.iov)
	if w.err == unix.EAGAIN || w.err == unix.EINTR {
		w.err = nil
	}
	w.n = max(w.n, 0)
	return true
}

// fdReader reads a tcp or ipc connection's descriptor for a reader that
// holds its buffer only while it has bytes (LazyBuffer): the buffer is
// taken for the read and let go when the read finds nothing and must wait,
// with no system call beyond what net.Conn's Read makes. Only the holder
// of the pipe's read turn calls it; readOnce is bound once, so that a read
// allocates nothing.
type fdReader struct {
	rc       syscall.RawConn
	raw      bool // raw system calls (rawReads)
	lb       LazyBuffer
	n        int
	err      error
	readOnce func(fd uintptr) bool
	// spin is how long (ns) the next read polls the descriptor before it
	// waits in the poller (RecvSpin); spinUntil is when that ends, and
	// parkedAt when the read last went to wait (monoNow; 0 if it did not);
	// polls counts the polling reads.
	spin, spinUntil, parkedAt int64
	polls                     int
	// into is the caller's buffer of a Read.
	into sliceBuffer
}

// newFDReader returns an fdReader on c's descriptor, or nil when c has
// none that the runtime's poller watches.
func newFDReader(c net.Conn) *fdReader {
	rc := rawConnOf(c)
	if rc == nil {
		return nil
	}
	r := &fdReader{rc: rc, raw: rawReads(c)}
	r.readOnce = r.readFD
	return r
}

// read reads once into lb's free space, waiting for bytes without holding
// lb's buffer; it returns what was read, io.EOF when the peer closed, or
// what ended the wait (a deadline, the connection closing).
func (r *fdReader) read(lb LazyBuffer) (int, error) {
	r.lb, r.n, r.err = lb, 0, nil
	r.spinUntil, r.parkedAt = 0, 0
	err := r.rc.Read(r.readOnce)
	r.lb = nil
	if err != nil {
		return 0, err
	}
	return r.n, r.err
}

// readFD makes the read system call, for RawConn.Read: false asks it to
// wait until the descriptor is readable and call again. With r.spin set,
// it first polls for that long, making read calls until one finds bytes.
func (r *fdReader) readFD(fd uintptr) bool {
	for {
		n, err := sysRead(int(fd), r.lb.Space(), r.raw)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			if r.spin > 0 && r.parkedAt == 0 {
				now := monoNow()
				if r.spinUntil == 0 {
					r.spinUntil = now + r.spin
				}
				if now < r.spinUntil {
					r.polls++
					if r.polls%8 == 0 {
						runtime.Gosched() // this processor's other goroutines
					}
					continue
				}
			}
			if r.parkedAt == 0 {
				r.parkedAt = monoNow()
			}
			r.lb.Idle()
			return false
		case err != nil:
			r.err = os.NewSyscallError("read", err)
		case n == 0:
			r.err = io.EOF
		default:
			r.n = n
		}
		return true
	}
}

// Read reads into b, waiting in the poller for bytes: the reads of a large
// body into its message, past the read buffer (directReader).
func (r *fdReader) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	r.into.b = b
	n, err := r.read(&r.into)
	r.into.b = nil
	return n, err
}

// sliceBuffer is a LazyBuffer over a caller's slice, which it always holds.
type sliceBuffer struct{ b []byte }

func (s *sliceBuffer) Space() []byte { return s.b }
func (s *sliceBuffer) Idle()         {}

// directReader returns what a pipe reads c with when it reads past its
// read buffer (large bodies into their messages): lazy's descriptor reader
// when that makes raw system calls (rawReads), else c.
func directReader(c net.Conn, lazy lazySource) io.Reader {
	if r, ok := lazy.(*fdReader); ok && r.raw {
		return r
	}
	return c
}

// spinReader returns lazy as the fdReader an application reading through
// spins with (RecvSpin), or nil.
func spinReader(lazy lazySource) *fdReader {
	r, _ := lazy.(*fdReader)
	return r
}

// rawConnOf returns the descriptor of a tcp or ipc connection, or nil.
func rawConnOf(c net.Conn) syscall.RawConn {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}
