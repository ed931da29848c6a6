package shm

import (
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// DialRaw sets up a connection to a shm:// listener and returns its stream,
// with no socket on top: for tests that play a hostile peer.
func DialRaw(ctx context.Context, addr string) (net.Conn, error) {
	c, err := transport{}.Dial(ctx, "shm", addr)
	if err != nil {
		return nil, err
	}
	return c.Stream, nil
}

// Scribble fills c's outgoing ring (the one its peer reads) with garbage,
// moves the published position to a random place and wakes the peer, as a
// buggy or hostile peer would.
func Scribble(c net.Conn, seed uint64) {
	cc := c.(*conn)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	r := cc.out.r
	for i := range r.data {
		r.data[i] = byte(rng.Uint32())
	}
	atomic.StoreUint64(r.head, cc.out.head+8*(1+rng.Uint64N(2*r.cap/8)))
	poke(cc.peerR)
}

// MemfdName is the name every connection's memfd has (in /proc/*/maps).
const MemfdName = "mqwire-shm"

// ListenRaw listens on a shm:// path and returns the transport listener,
// with no socket on top: for benchmarks of the stream itself.
func ListenRaw(addr string) (interface {
	Accept() (net.Conn, error)
	Close() error
}, error) {
	l, err := transport{}.Listen("shm", addr)
	if err != nil {
		return nil, err
	}
	return rawListener{l.(*listener)}, nil
}

type rawListener struct{ l *listener }

func (r rawListener) Accept() (net.Conn, error) {
	c, err := r.l.Accept()
	return c.Stream, err
}

func (r rawListener) Close() error { return r.l.Close() }

// WriteBadLoan puts a loan record with the given fields on c's outgoing
// ring, as a buggy or hostile peer would, bypassing c's own pool.
func WriteBadLoan(c net.Conn, idx, gen, off, n uint32) error {
	cc := c.(*conn)
	cc.wmu.Lock()
	defer cc.wmu.Unlock()
	ok, err := cc.out.writeLoan(idx, gen, off, n)
	if err == nil && !ok {
		err = errors.New("ring full")
	}
	poke(cc.peerR)
	return err
}

// WriteBadRelease appends a raw entry to the release ring of the pool c
// borrows from, as a buggy or hostile peer would.
func WriteBadRelease(c net.Conn, entry uint64) {
	p := c.(*conn).inp
	p.mu.Lock()
	defer p.mu.Unlock()
	binary.LittleEndian.PutUint64(p.rel.ent[(p.head%relCap)*8:], entry)
	p.head++
	atomic.StoreUint64(p.rel.head, p.head)
}

// Mapped reports whether c's mapping is still there (c open, or a body it
// borrowed not yet released).
func Mapped(c net.Conn) bool { return c.(*conn).refs.Load() > 0 }

// Spin returns the spin time a connection was set up with.
func Spin(c net.Conn) time.Duration { return c.(*conn).spin }

// SetTrimIdle sets how long a free slot keeps its pages, for a test, which
// restores it with the function returned.
func SetTrimIdle(d time.Duration) (restore func()) {
	old := trimIdle.Swap(int64(d))
	return func() { trimIdle.Store(old) }
}

// PoolResident returns how many bytes of c's own slot pool are in memory,
// and whether c's trim timer is armed.
func PoolResident(c net.Conn) (int, bool) {
	cc := c.(*conn)
	cc.wmu.Lock()
	defer cc.wmu.Unlock()
	return resident(cc.outp.mem), cc.trimArmed
}

// RingResident returns how many bytes of c's outgoing ring are in memory,
// and whether c's trim timer is armed.
func RingResident(c net.Conn) (int, bool) {
	cc := c.(*conn)
	cc.wmu.Lock()
	defer cc.wmu.Unlock()
	return resident(cc.out.r.data), cc.trimArmed
}

// resident counts the bytes of b's pages that are in memory (mincore).
func resident(b []byte) int {
	vec := make([]byte, (len(b)+pageSize-1)/pageSize)
	_, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)), uintptr(unsafe.Pointer(unsafe.SliceData(vec))))
	if errno != 0 {
		panic(errno)
	}
	n := 0
	for _, v := range vec {
		if v&1 != 0 {
			n += pageSize
		}
	}
	return n
}
