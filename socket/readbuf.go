package socket

import (
	"errors"
	"io"
	"net"
	"sync"
)

// readBufs are the 64 KiB buffers of stream pipes' readers.
var readBufs = sync.Pool{New: func() any {
	b := make([]byte, readBufferSize)
	return &b
}}

// errBufferFull is Peek's error for more bytes than the buffer holds.
var errBufferFull = errors.New("mqwire: peek beyond the read buffer")

// readBuffer is a stream pipe's buffered reader, with bufio.Reader's Read,
// Peek and Buffered, which holds its 64 KiB buffer only while it has bytes
// in it or is reading: on a tcp or ipc connection (fd), a read that finds
// nothing to read lets the buffer go before it waits, and takes one again
// once bytes arrive. An idle connection (most of a server's thousand
// clients) so holds no read buffer; a busy one makes the pool's round trip
// only when it has read everything there was and must wait anyway.
type readBuffer struct {
	src io.Reader
	// lazy reads the connection itself in place of src for fill, when it
	// can (its descriptor, or a LazyReader; nil: src, keeping the
	// buffer); beforeWait runs before each of its reads, which may wait
	// (the batch flush that flushingReader does before src's reads).
	lazy       lazySource
	beforeWait func()
	// retry, if set, reports whether a lazy read that failed with err is
	// to be tried again (Pipe.cutShortInside).
	retry func(err error) bool
	buf   *[]byte // nil while let go
	r, w  int     // buf[r:w] is what is buffered
	err   error   // the error of the last read, reported once buf is empty
}

// LazyBuffer is a pipe reader's buffer, which it holds only while it has
// bytes: a connection that can (a LazyReader) reads into Space, which takes
// the buffer if it was let go and returns its free space, and calls Idle,
// which lets the buffer go if it holds nothing, before it waits for bytes.
type LazyBuffer interface {
	Space() []byte
	Idle()
}

// LazyReader is a connection that can read into a LazyBuffer: ReadLazy
// reads as Read would, into lb.Space(), and calls lb.Idle() before it
// waits for bytes (blocks, not a brief spin), taking Space again after, so
// that an idle connection's reader holds no buffer. shm:// connections are
// LazyReaders; tcp and ipc connections are read so through their
// descriptors on Linux.
type LazyReader interface {
	ReadLazy(lb LazyBuffer) (int, error)
}

// lazySource is what a pipe's reader reads a LazyBuffer with: the
// connection's descriptor (fdReader) or the connection itself (lazyConn).
type lazySource interface {
	read(lb LazyBuffer) (int, error)
}

// lazyConn reads a LazyReader connection.
type lazyConn struct{ LazyReader }

func (c lazyConn) read(lb LazyBuffer) (int, error) { return c.ReadLazy(lb) }

// newLazySource returns how to read c lazily, or nil when c cannot be.
func newLazySource(c net.Conn) lazySource {
	if lr, ok := c.(LazyReader); ok {
		return lazyConn{lr}
	}
	if fd := newFDReader(c); fd != nil {
		return fd
	}
	return nil
}

// newReadBuffer returns a readBuffer over src, or over lazy when not nil,
// holding no buffer yet.
func newReadBuffer(src io.Reader, lazy lazySource, beforeWait func()) *readBuffer {
	return &readBuffer{src: src, lazy: lazy, beforeWait: beforeWait}
}

// Buffered returns how many bytes can be read without reading src.
func (b *readBuffer) Buffered() int { return b.w - b.r }

// release gives the buffer back to the pool; the reader is then empty.
func (b *readBuffer) release() {
	if b.buf != nil {
		readBufs.Put(b.buf)
		b.buf = nil
	}
	b.r, b.w = 0, 0
}

// preload puts b, bytes another reader read from the stream (at most a
// buffer's worth), into the empty buffer, to be read before the stream.
func (b *readBuffer) preload(p []byte) {
	if len(p) > 0 {
		b.w += copy(b.Space(), p)
	}
}

// readErr returns and clears the error of src's last read.
func (b *readBuffer) readErr() error {
	err := b.err
	b.err = nil
	return err
}

// Space takes a buffer if there is none and returns its free space
// (LazyBuffer).
func (b *readBuffer) Space() []byte {
	if b.buf == nil {
		b.buf = readBufs.Get().(*[]byte)
		b.r, b.w = 0, 0
	}
	return (*b.buf)[b.w:]
}

// Idle lets the buffer go if it holds nothing (LazyBuffer).
func (b *readBuffer) Idle() {
	if b.r == b.w {
		b.release()
	}
}

// fill reads once into the buffer, after moving what it holds to the front.
func (b *readBuffer) fill() {
	if b.buf != nil && b.r > 0 {
		b.w = copy(*b.buf, (*b.buf)[b.r:b.w])
		b.r = 0
	}
	if b.lazy != nil {
		if b.beforeWait != nil {
			b.beforeWait()
		}
		n, err := b.lazy.read(b)
		for n == 0 && err != nil && b.retry != nil && b.retry(err) {
			n, err = b.lazy.read(b)
		}
		b.w += n
		b.err = err
		return
	}
	buf := b.Space()
	// A Read may return nothing and no error now and then (an empty write
	// on a net.Pipe); only many in a row are an error.
	for range 100 {
		n, err := b.src.Read(buf)
		b.w += n
		if err != nil {
			b.err = err
			return
		}
		if n > 0 {
			return
		}
	}
	b.err = io.ErrNoProgress
}

// Read reads into p what is buffered, or, when nothing is, what one read
// of src brings: straight into p when p is at least as large as the
// buffer, as bufio.Reader does, so that a large body is read in place.
func (b *readBuffer) Read(p []byte) (int, error) {
	if len(p) == 0 {
		if b.Buffered() > 0 {
			return 0, nil
		}
		return 0, b.readErr()
	}
	if b.r == b.w {
		if b.err != nil {
			return 0, b.readErr()
		}
		if len(p) >= readBufferSize {
			b.release()
			return b.src.Read(p)
		}
		b.fill()
		if b.r == b.w {
			return 0, b.readErr()
		}
	}
	n := copy(p, (*b.buf)[b.r:b.w])
	b.r += n
	return n, nil
}

// Peek returns the next n bytes without consuming them, reading src until
// they are buffered; with fewer, it returns those and why there are no more
// (errBufferFull when n is more than the buffer holds).
func (b *readBuffer) Peek(n int) ([]byte, error) {
	want := min(n, readBufferSize)
	for b.Buffered() < want && b.err == nil {
		b.fill()
	}
	switch {
	case b.Buffered() < want:
		return b.bytes(), b.readErr()
	case n > want:
		return b.bytes(), errBufferFull
	}
	return b.bytes()[:n], nil
}

// discard drops the next n bytes, all of them buffered (Peek showed them).
func (b *readBuffer) discard(n int) { b.r += n }

// bytes returns what is buffered.
func (b *readBuffer) bytes() []byte {
	if b.buf == nil {
		return nil
	}
	return (*b.buf)[b.r:b.w]
}
