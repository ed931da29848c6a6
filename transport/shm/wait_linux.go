//go:build linux

package shm

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/mqwire/mqwire/socket"
)

// waitSide is one of our two waiters (the reader, parked for data; the
// writer, parked for room): its flag in shared memory, which tells the peer
// to wake it, and the eventfd it parks on, in the runtime's poller.
type waitSide struct {
	flag   *uint32
	f      *os.File
	rc     syscall.RawConn // f's, for the raw read that ends a park
	fd     int             // f's descriptor, for wake-ups of our own
	budget time.Duration   // how long it spins now (see spinWorked)
	// readCall is readOnce bound to this side (made once, where the side
	// lives: initRead), buf what it reads into, rerr what it failed with.
	readCall func(fd uintptr) bool
	buf      [8]byte
	rerr     error
}

// initRead readies s for readWake, once s is where it stays.
func (s *waitSide) initRead() { s.readCall = s.readOnce }

var one = [8]byte{1}

// poke adds one to an eventfd's counter, waking whoever is parked on it.
// The write is a raw system call, as the socket's tcp and ipc calls are
// (socket/rawsys_linux.go): it never blocks (a counter far from overflow),
// and telling the scheduler of it would wake the runtime's monitor thread
// when the process had been waiting, a futex call and a thread more on
// the way to the peer's wake-up.
func poke(fd int) {
	unix.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&one[0])), uintptr(len(one)))
}

// readWake reads s's eventfd, waiting in the runtime's poller until it has
// been poked, with raw read calls (see poke): the eventfd is non-blocking,
// so a read that would wait returns EAGAIN and the poller waits instead.
func (s *waitSide) readWake() error {
	s.rerr = nil
	if err := s.rc.Read(s.readCall); err != nil {
		return err
	}
	return s.rerr
}

// readOnce makes the read call for readWake (RawConn.Read's function:
// false asks it to wait and call again). It and its buffer are s's, so
// that a park allocates nothing.
func (s *waitSide) readOnce(fd uintptr) bool {
	for {
		_, _, e := unix.RawSyscall(unix.SYS_READ, fd, uintptr(unsafe.Pointer(&s.buf[0])), uintptr(len(s.buf)))
		switch e {
		case 0:
			return true
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		}
		s.rerr = os.NewSyscallError("read", e)
		return true
	}
}

// signal wakes a waiter of the peer if its flag says it is parked: the
// producer's wake-up of a parked consumer and back. A peer that is not
// parked costs nothing.
func signal(flag *uint32, fd int) {
	if atomic.LoadUint32(flag) != 0 && atomic.SwapUint32(flag, 0) != 0 {
		poke(fd)
	}
}

// waiter runs the spin-then-park loop of one Read or Write.
type waiter struct {
	spinUntil int64
	n         int
	parked    bool
	// lazy, if set, is told before the waiter parks (a reader that lets
	// its buffer go while it sleeps; not while it spins).
	lazy socket.LazyBuffer
}

// The spin adapts, per waiter, between 0 and the configured spin time: it
// halves each time a spin ends without the peer moving (the side parks),
// and grows again when a spin succeeds or a park turns out shorter than the
// spin time (spinning would have caught the peer). Sparse traffic, or a
// machine with no core to spare, so spins little; a busy pipe whose peer
// answers within the spin time keeps spinning.
const spinStep = time.Microsecond

func (c *conn) spinWorked(s *waitSide) {
	s.budget = min(2*s.budget+spinStep, c.spin)
}

// parkedFor adapts the spin after a park that lasted d. A park shorter than
// the spin time means a spin of twice d would have caught the peer: the
// budget goes there at once. (Growing step by step, two sides that both
// park answer each other only after a wake-up each, which is longer than
// either's budget, and stayed parked for whole runs.)
func (c *conn) parkedFor(s *waitSide, d time.Duration) {
	if d < c.spin {
		s.budget = min(max(2*s.budget+spinStep, 2*d), c.spin)
	}
}

// wait spins or parks once until ready reports true, the deadline passes
// (os.ErrDeadlineExceeded), or something wakes it.
func (c *conn) wait(wt *waiter, s *waitSide, dl *atomic.Int64, ready func() bool) error {
	d := dl.Load()
	now := int64(0)
	if d != 0 || wt.n%spinCheck == 0 {
		now = time.Now().UnixNano()
		if d != 0 && now >= d {
			return os.ErrDeadlineExceeded
		}
	}
	if wt.n == 0 {
		wt.spinUntil = now + int64(s.budget)
	}
	wt.n++
	if !wt.parked && s.budget > 0 && (now == 0 || now < wt.spinUntil) {
		runtime.Gosched()
		return nil
	}
	if !wt.parked {
		s.budget /= 2
		wt.parked = true
	}
	// Park: say so, look once more (the peer may have moved just before
	// it could see the flag), then sleep on the eventfd.
	atomic.StoreUint32(s.flag, 1)
	if ready() || c.closed.Load() || c.peerGone.Load() {
		atomic.StoreUint32(s.flag, 0)
		return nil
	}
	if wt.lazy != nil {
		wt.lazy.Idle()
	}
	start := time.Now()
	err := s.readWake()
	atomic.StoreUint32(s.flag, 0)
	if c.spin > 0 {
		c.parkedFor(s, time.Since(start))
	}
	switch {
	case err == nil || c.closed.Load():
		return nil
	case errors.Is(err, os.ErrDeadlineExceeded):
		return os.ErrDeadlineExceeded
	}
	return fmt.Errorf("shm: wake-up channel: %w", err)
}
