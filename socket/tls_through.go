package socket

import (
	"net"
	"sync"
)

// Writing through over TLS. crypto/tls cannot write without waiting: a
// write cut short by a deadline breaks the connection for good. So a TLS
// pipe's crypto/tls runs over a rawTLS, the TCP connection under it, whose
// writes in try mode never wait: what the kernel does not take at once is
// kept (pending) and written first by the next write that may wait, which
// the writer goroutine makes (Flush). The application writing through so
// seals its message on its own goroutine, and the writer goroutine only
// finishes what the kernel did not take. REQ/REP over tls+tcp, 64 B, one
// way: 77-96 us with every write on the writer goroutine, 32-48 us so.

// rawTLS is the TCP connection under a pipe's crypto/tls.
type rawTLS struct {
	net.Conn
	try TryWriter // the descriptor's writer that does not wait
	// mu serializes writes to the connection (crypto/tls's own writes,
	// and Flush), and is held across a write that waits, as
	// crypto/tls's own lock is: what was sealed must go out in order.
	mu      sync.Mutex
	trying  bool   // writes are not to wait (tlsWriter.TryWrite)
	pending []byte // sealed bytes written in try mode the kernel has not taken
}

// Write writes b, sealed by crypto/tls. In try mode it never waits: what
// the kernel does not take joins pending. Otherwise pending goes first.
func (r *rawTLS) Write(b []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.trying {
		rest := b
		if len(r.pending) == 0 {
			n, err := r.try.TryWrite([][]byte{b})
			if err != nil {
				return n, err
			}
			rest = b[n:]
		}
		r.pending = append(r.pending, rest...)
		return len(b), nil
	}
	if err := r.flushLocked(); err != nil {
		return 0, err
	}
	return r.Conn.Write(b)
}

func (r *rawTLS) flushLocked() error {
	for len(r.pending) > 0 {
		n, err := r.Conn.Write(r.pending)
		r.pending = r.pending[n:]
		if err != nil {
			return err
		}
	}
	r.pending = nil // its room goes with it
	return nil
}

// Flush writes what try-mode writes left, waiting as needed.
func (r *rawTLS) Flush() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.flushLocked()
}

// Unflushed reports whether try-mode writes left bytes to write.
func (r *rawTLS) Unflushed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pending) > 0
}

func (r *rawTLS) setTrying(on bool) {
	r.mu.Lock()
	r.trying = on
	r.mu.Unlock()
}

// sealedThroughMax is the largest message an application writes through
// a TLS pipe. A larger one is sealed by the writer goroutine as before:
// written through, the kernel took a part at once and the rest was kept
// sealed for the writer, copied on the way; 1 MiB REQ/REP went from 2.1
// to 3.0 ms one way.
const sealedThroughMax = 64 << 10

// tlsWriter is a TLS pipe's TryWriter: it takes all of iov or, while
// bytes of an earlier write are still to go, none.
type tlsWriter struct {
	c   *tlsConn
	buf []byte // iov joined, so that crypto/tls seals it in few records
}

// tlsTryWriter returns a TryWriter for c, a pipe's connection, if it is a
// TLS connection over a descriptor; else nil.
func tlsTryWriter(c net.Conn) *tlsWriter {
	tc, ok := c.(*tlsConn)
	if !ok || tc.rw == nil {
		return nil
	}
	return &tlsWriter{c: tc}
}

// TryWrite seals and writes all of iov without waiting (what the kernel
// does not take waits in the rawTLS for Flush), or nothing when earlier
// bytes are still to go.
func (w *tlsWriter) TryWrite(iov [][]byte) (int, error) {
	r := w.c.rw
	if r.Unflushed() {
		return 0, nil
	}
	w.buf = w.buf[:0]
	for _, b := range iov {
		w.buf = append(w.buf, b...)
	}
	r.setTrying(true)
	n, err := w.c.Conn.Write(w.buf)
	r.setTrying(false)
	if cap(w.buf) > writeBufferSize {
		w.buf = nil // a large message's copy is not kept
	}
	return n, err
}

// Unflushed and Flush are the rawTLS's (flusher).
func (w *tlsWriter) Unflushed() bool { return w.c.rw.Unflushed() }
func (w *tlsWriter) Flush() error    { return w.c.rw.Flush() }

// A flusher is a TryWriter that may keep what the connection did not take
// (tlsWriter): the writer goroutine writes it with Flush before anything
// else.
type flusher interface {
	Unflushed() bool
	Flush() error
}

// flushLeft is the leftover of a write through that wrote everything but
// left a flusher bytes to finish: the writer goroutine is woken for it.
var flushLeft = net.Buffers{}

// leftAfterTry is left, what a write through leaves the writer goroutine,
// or flushLeft when that is nothing but the pipe's flusher has bytes
// still to go.
func (p *Pipe) leftAfterTry(left net.Buffers) net.Buffers {
	if left == nil {
		if f, ok := p.tryWriter.(flusher); ok && f.Unflushed() {
			return flushLeft
		}
	}
	return left
}
