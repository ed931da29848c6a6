//go:build linux

package shm

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mqwire/mqwire/socket"
)

// conn is one end of a shared-memory connection: a net.Conn whose bytes go
// through the rings, with the Unix socket kept open as the liveness channel.
type conn struct {
	uc   *net.UnixConn
	mem  []byte                       // the whole mapping; unmapped when refs reaches 0
	refs atomic.Int32                 // 1 for the open conn, 1 per body borrowed, 1 per Loan buffer not yet written
	in   consumer                     // the peer's ring, read by us
	out  producer                     // our ring, read by the peer
	outp *outPool                     // our slots, lent to the peer (nil: no pool)
	inp  *inPool                      // the peer's slots, borrowed by us
	fail atomic.Pointer[CorruptError] // a fault found off the rings' paths
	spin time.Duration
	name addr

	rw, ww       waitSide // our reader's and our writer's
	peerR, peerW int      // the eventfds of the peer's reader and writer

	rmu, wmu  sync.Mutex
	closed    atomic.Bool
	peerGone  atomic.Bool
	rdl, wdl  atomic.Int64 // deadlines in Unix nanoseconds; 0 for none
	monDone   chan struct{}
	closeOnce sync.Once

	// The timer that gives idle pages back (trimTick), armed while slots
	// are out or hold pages, or our ring holds pages; all under wmu. The
	// ring's pages went back when its head was ringTrimmedAt; tickHead is
	// its head at the last tick.
	trimT         *time.Timer
	trimArmed     bool
	ringTrimmedAt uint64
	tickHead      uint64
}

// The four eventfds of a connection, all created by the listener, in the
// order they are passed after the memfd.
const (
	efdDialerRead    = iota // ring 0 consumer
	efdListenerWrite        // ring 0 producer
	efdListenerRead         // ring 1 consumer
	efdDialerWrite          // ring 1 producer
	numEventFDs
)

func newConn(uc *net.UnixConn, mem []byte, ringCap int, server bool, cfg config, efd [numEventFDs]int) *conn {
	r0 := newRing(mem[ctl0:ctl0+ctlSize], mem[dataStart:dataStart+ringCap])
	r1 := newRing(mem[ctl1:ctl1+ctlSize], mem[dataStart+ringCap:dataStart+2*ringCap])
	c := &conn{uc: uc, mem: mem, spin: cfg.spin, name: addr("shm://" + cfg.path), monDone: make(chan struct{})}
	c.refs.Store(1)
	var pool0, pool1 []byte
	if cfg.slots > 0 {
		off, n := mapSize(ringCap), cfg.slots*cfg.slotSize
		pool0, pool1 = mem[off:off+n:off+n], mem[off+n:off+2*n:off+2*n]
	}
	rel0 := newRelRing(mem[rel0Ctl:rel0Ctl+relCtlSize], mem[rel0Ent:rel0Ent+relEntSize])
	rel1 := newRelRing(mem[rel1Ctl:rel1Ctl+relCtlSize], mem[rel1Ent:rel1Ent+relEntSize])
	side := func(flag *uint32, fd int) waitSide {
		f := os.NewFile(uintptr(fd), "shm-wake")
		rc, _ := f.SyscallConn() // fails only for a closed file
		return waitSide{flag: flag, f: f, rc: rc, fd: fd, budget: cfg.spin}
	}
	// The dialer reads ring 0 (the listener's pool 0 lends into it, and
	// release ring 0 gives that pool's slots back) and writes ring 1; the
	// listener the other way round.
	inR, outR, inPool, outPool, inRel, outRel := r0, r1, pool0, pool1, rel0, rel1
	rd, wr, peerRd, peerWr := efdDialerRead, efdDialerWrite, efdListenerRead, efdListenerWrite
	if server {
		inR, outR, inPool, outPool, inRel, outRel = r1, r0, pool1, pool0, rel1, rel0
		rd, wr, peerRd, peerWr = peerRd, peerWr, rd, wr
	}
	c.in, c.out = newConsumer(inR), newProducer(outR)
	c.rw, c.ww = side(inR.consWait, efd[rd]), side(outR.prodWait, efd[wr])
	c.rw.initRead()
	c.ww.initRead()
	c.peerR, c.peerW = efd[peerRd], efd[peerWr]
	if cfg.slots > 0 {
		c.outp = newOutPool(outPool, cfg.slots, uint64(cfg.slotSize), outRel)
		c.inp = newInPool(inPool, cfg.slots, uint64(cfg.slotSize), inRel)
	}
	c.in.loans = c.inp
	go c.monitor()
	return c
}

// monitor reads the Unix socket until it ends: EOF means the peer is gone,
// however it died. Nothing is sent on the socket after set-up; what a peer
// sends anyway is read and dropped.
func (c *conn) monitor() {
	defer close(c.monDone)
	var buf [64]byte
	for {
		if _, err := c.uc.Read(buf[:]); err != nil {
			break
		}
	}
	c.peerGone.Store(true)
	poke(c.rw.fd)
	poke(c.ww.fd)
}

// Read reads what the peer has written, waiting for at least one byte. It
// returns io.EOF once the peer is gone and its bytes are all read.
func (c *conn) Read(b []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if len(b) == 0 {
		return 0, nil
	}
	return c.read(b, nil)
}

// ReadLazy reads as Read does, into lb.Space(), and lets lb go idle
// before it parks (socket.LazyReader): a pipe reader
// waiting on an idle connection holds no buffer. While it spins it keeps
// the buffer, so a busy stream makes no trip to the buffer pool.
func (c *conn) ReadLazy(lb socket.LazyBuffer) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	return c.read(nil, lb)
}

var _ socket.LazyReader = (*conn)(nil)

// read is Read into b, or, when lb is set, into lb's space (ReadLazy);
// rmu is held.
func (c *conn) read(b []byte, lb socket.LazyBuffer) (int, error) {
	wt := waiter{lazy: lb}
	for {
		if lb != nil {
			if b = lb.Space(); len(b) == 0 {
				return 0, nil
			}
		}
		if c.closed.Load() {
			return 0, net.ErrClosed
		}
		if e := c.fail.Load(); e != nil {
			return 0, e
		}
		gone := c.peerGone.Load()
		if c.in.pending.active {
			return c.readLoaned(b), nil
		}
		n, err := c.in.read(b)
		if n > 0 {
			signal(c.in.r.prodWait, c.peerW)
			if wt.n > 0 && !wt.parked {
				c.spinWorked(&c.rw)
			}
			return n, nil
		}
		if err != nil {
			return 0, err
		}
		if c.in.pending.active {
			signal(c.in.r.prodWait, c.peerW)
			continue
		}
		if gone {
			return 0, io.EOF
		}
		if err := c.wait(&wt, &c.rw, &c.rdl, c.in.ready); err != nil {
			return 0, err
		}
	}
}

// errPeerGone is what a write to a peer that has gone returns.
var errPeerGone = fmt.Errorf("shm: peer gone: %w", syscall.EPIPE)

// Write writes all of b, waiting for room as the peer reads.
func (c *conn) Write(b []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.write(b)
}

// writeErr is why nothing more can be written, or nil.
func (c *conn) writeErr() error {
	if c.closed.Load() {
		return net.ErrClosed
	}
	if e := c.fail.Load(); e != nil {
		return e
	}
	if c.peerGone.Load() {
		return errPeerGone
	}
	return nil
}

func (c *conn) write(b []byte) (int, error) {
	done := 0
	var wt waiter
	for done < len(b) {
		if err := c.writeErr(); err != nil {
			return done, err
		}
		n, err := c.out.write(b[done:])
		if err != nil {
			return done, err
		}
		if n > 0 {
			done += n
			signal(c.out.r.consWait, c.peerR)
			c.armTrimLocked()
			if wt.n > 0 && !wt.parked {
				c.spinWorked(&c.ww)
			}
			wt = waiter{}
			continue
		}
		if err := c.wait(&wt, &c.ww, &c.wdl, c.hasRoom); err != nil {
			return done, err
		}
	}
	return done, nil
}

// TryWrite writes what the ring takes of iov at once, without waiting for
// room (socket.TryWriter): how an application reading through the pipe
// writes on its own goroutine.
func (c *conn) TryWrite(iov [][]byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.writeErr(); err != nil {
		return 0, err
	}
	done := 0
	defer func() {
		if done > 0 {
			signal(c.out.r.consWait, c.peerR)
			c.armTrimLocked()
		}
	}()
	for _, b := range iov {
		for len(b) > 0 {
			n, err := c.out.write(b)
			done += n
			if err != nil {
				return done, err
			}
			if n == 0 {
				return done, nil // the ring is full
			}
			b = b[n:]
		}
	}
	return done, nil
}

var _ socket.TryWriter = (*conn)(nil)

func (c *conn) hasRoom() bool {
	free, err := c.out.room()
	return err != nil || free&^7 >= 2*recHeader
}

// Close ends the connection for both sides: blocked reads and writes here
// return, the peer sees the end after reading what was written, and the
// mapping and descriptors are released. It waits for the monitor goroutine.
func (c *conn) Close() error {
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		poke(c.rw.fd)
		poke(c.ww.fd)
		c.uc.Close()
		<-c.monDone
		c.rmu.Lock()
		c.wmu.Lock()
		c.rw.f.Close()
		c.ww.f.Close()
		unix.Close(c.peerR)
		unix.Close(c.peerW)
		if c.trimT != nil {
			c.trimT.Stop() // a tick already waiting for wmu sees closed
		}
		c.unref()
		c.wmu.Unlock()
		c.rmu.Unlock()
	})
	return nil
}

func (c *conn) LocalAddr() net.Addr  { return c.name }
func (c *conn) RemoteAddr() net.Addr { return c.name }

func deadlineNs(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return max(t.UnixNano(), 1)
}

// SetDeadline sets the read and write deadlines.
func (c *conn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

// SetReadDeadline sets the read deadline, for a Read spinning or parked.
func (c *conn) SetReadDeadline(t time.Time) error {
	if c.closed.Load() {
		return net.ErrClosed
	}
	c.rdl.Store(deadlineNs(t))
	return c.rw.f.SetReadDeadline(t)
}

// SetWriteDeadline sets the write deadline, for a Write spinning or parked.
func (c *conn) SetWriteDeadline(t time.Time) error {
	if c.closed.Load() {
		return net.ErrClosed
	}
	c.wdl.Store(deadlineNs(t))
	return c.ww.f.SetReadDeadline(t)
}

var _ socket.LoanConn = (*conn)(nil)

// unref drops a reference to the mapping, and unmaps it with the last.
func (c *conn) unref() {
	if c.refs.Add(-1) == 0 {
		unix.Munmap(c.mem)
	}
}

// setFail records a fault found outside the rings' own paths (in the
// release ring) and wakes our reader, so that the connection fails.
func (c *conn) setFail(err error) {
	var ce *CorruptError
	if errors.As(err, &ce) && c.fail.CompareAndSwap(nil, ce) {
		// Through the os.File, not the bare descriptor: a release may
		// come after Close, and a closed File refuses the write where a
		// reused descriptor number would take it.
		c.rw.f.Write(one[:])
	}
}
