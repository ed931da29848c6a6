//go:build linux

package shm

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mqwire/mqwire/socket"
)

func init() { socket.RegisterTransport(transport{}) }

type transport struct{}

func (transport) Schemes() []string { return []string{"shm"} }

// CheckAddr rejects an empty path and bad parameters.
func (transport) CheckAddr(_, addr string) error {
	_, err := parseAddr(addr)
	return err
}

// The shared mapping: a header page, the two control blocks, then the two
// data areas. Ring 0 carries listener-to-dialer bytes, ring 1 the other way.
//
//	0     magic "MQWSHM\x00\x00" | version u32 | ring capacity u32 |
//	      slot pool offset u64 | slot pool size u64   (the hello, 32 bytes)
//	32    slots per side u32 | slot size u32          (when there is a pool)
//	4096  ring 0 control block (512 bytes)
//	4608  ring 1 control block
//	5120  release ring 0 control block (256 bytes): releases of pool 0
//	5376  release ring 1 control block: releases of pool 1
//	6144  release ring 0 entries (1 KiB), then release ring 1's
//	8192  ring 0 data (capacity bytes), then ring 1 data
//	pool  pool 0 (the listener's slots), then pool 1 (the dialer's)
const (
	magic      = "MQWSHM\x00\x00"
	version    = 1
	helloSize  = 32
	headerPage = 4096
	ctl0       = 4096
	ctl1       = ctl0 + ctlSize
	rel0Ctl    = ctl1 + ctlSize
	rel1Ctl    = rel0Ctl + relCtlSize
	rel0Ent    = 6144
	rel1Ent    = rel0Ent + relEntSize
	dataStart  = 8192
	// maxPool bounds the pool size a dialer accepts.
	maxPool   = 2 * maxSlots * maxSlotSize
	setupWait = 5 * time.Second
	// spinCheck: a spinning side reads the clock every spinCheck turns.
	spinCheck = 16
)

// The release rings fit in the header pages (this fails to compile if not).
var _ [dataStart - (rel1Ent + relEntSize)]struct{}

func mapSize(ringCap int) int { return dataStart + 2*ringCap }

func (transport) Dial(ctx context.Context, _, addr string) (socket.Conn, error) {
	cfg, err := parseAddr(addr)
	if err != nil {
		return socket.Conn{}, err
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, "unix", cfg.path)
	if err != nil {
		return socket.Conn{}, err
	}
	uc := nc.(*net.UnixConn)
	c, err := dialSetup(ctx, uc, cfg)
	if err != nil {
		uc.Close()
		return socket.Conn{}, err
	}
	return socket.Conn{Stream: c, Remote: "shm://" + cfg.path}, nil
}

// dialSetup receives the listener's memfd, checks it and maps it.
func dialSetup(ctx context.Context, uc *net.UnixConn, cfg config) (*conn, error) {
	deadline := time.Now().Add(setupWait)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	uc.SetReadDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { uc.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	var hello [helloSize]byte
	oob := make([]byte, unix.CmsgSpace(4*(1+numEventFDs+2)))
	n, oobn, flags, _, err := uc.ReadMsgUnix(hello[:], oob)
	if err != nil {
		return nil, fmt.Errorf("shm: set-up: %w", err)
	}
	fds, ferr := takeFDs(oob[:oobn])
	keep := false
	defer func() {
		if !keep {
			for _, f := range fds {
				unix.Close(f)
			}
		}
	}()
	if _, err := io.ReadFull(uc, hello[n:]); err != nil {
		return nil, fmt.Errorf("shm: set-up: %w", err)
	}
	uc.SetReadDeadline(time.Time{})
	switch {
	case ferr != nil:
		return nil, setupErr("bad control message: %v", ferr)
	case flags&unix.MSG_CTRUNC != 0 || len(fds) != 1+numEventFDs:
		return nil, setupErr("expected %d descriptors, got %d", 1+numEventFDs, len(fds))
	case string(hello[:8]) != magic:
		return nil, setupErr("bad magic %q", hello[:8])
	}
	ver := binary.LittleEndian.Uint32(hello[8:])
	rc := binary.LittleEndian.Uint32(hello[12:])
	poolOff := binary.LittleEndian.Uint64(hello[16:])
	pool := binary.LittleEndian.Uint64(hello[24:])
	switch {
	case ver != version:
		return nil, setupErr("version %d, we speak %d", ver, version)
	case !ringCapOK(uint64(rc)):
		return nil, setupErr("ring capacity %d", rc)
	case pool == 0 && poolOff != 0:
		return nil, setupErr("slot pool at %d of size 0", poolOff)
	case pool != 0 && poolOff != uint64(mapSize(int(rc))):
		return nil, setupErr("slot pool at %d, want %d", poolOff, mapSize(int(rc)))
	case pool > maxPool || pool > math.MaxInt-uint64(mapSize(int(rc))):
		return nil, setupErr("slot pool of %d bytes", pool)
	}
	fd := fds[0]
	size := mapSize(int(rc)) + int(pool)
	var slots, slotSize int
	if pool != 0 {
		// Read from the file, not a mapping: checked before we map.
		var b [8]byte
		if n, err := unix.Pread(fd, b[:], helloSize); n != len(b) || err != nil {
			return nil, setupErr("cannot read the pool's geometry: %d, %v", n, err)
		}
		s, ss := binary.LittleEndian.Uint32(b[:]), binary.LittleEndian.Uint32(b[4:])
		if s == 0 || s > maxSlots || !slotSizeOK(uint64(ss)) || 2*uint64(s)*uint64(ss) != pool {
			return nil, setupErr("slot pool of %d bytes as %d slots of %d", pool, s, ss)
		}
		slots, slotSize = int(s), int(ss)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, fmt.Errorf("shm: set-up: fstat: %w", err)
	}
	if st.Size != int64(size) {
		return nil, setupErr("memfd is %d bytes, want %d", st.Size, size)
	}
	// Without the shrink seal the peer could truncate the file under our
	// mapping, and our next access would be a SIGBUS.
	seals, err := unix.FcntlInt(uintptr(fd), unix.F_GET_SEALS, 0)
	if err != nil || seals&unix.F_SEAL_SHRINK == 0 {
		return nil, setupErr("memfd is not sealed against shrinking (seals %#x, %v)", seals, err)
	}
	var efd [numEventFDs]int
	for i := range efd {
		efd[i] = fds[1+i]
		// An eventfd never blocks a write; anything else the peer passed
		// could, so it is refused.
		if l, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", efd[i])); err != nil || l != "anon_inode:[eventfd]" {
			return nil, setupErr("descriptor %d is %q, not an eventfd", 1+i, l)
		}
		if err := unix.SetNonblock(efd[i], true); err != nil {
			return nil, fmt.Errorf("shm: set-up: %w", err)
		}
	}
	mem, err := unix.Mmap(fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("shm: set-up: mmap: %w", err)
	}
	unix.Close(fd)
	keep = true
	cfg.slots, cfg.slotSize = slots, slotSize
	return newConn(uc, mem, int(rc), false, cfg, efd), nil
}

func takeFDs(oob []byte) ([]int, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, err
	}
	var fds []int
	for i := range msgs {
		f, err := unix.ParseUnixRights(&msgs[i])
		if err == nil {
			fds = append(fds, f...)
		}
	}
	return fds, nil
}

func setupErr(format string, args ...any) error {
	return fmt.Errorf("%w: shm set-up: %s", socket.ErrProtocol, fmt.Sprintf(format, args...))
}

// serveSetup creates, seals and maps the memfd of a new connection and
// passes it to the dialer. It does not wait for the dialer.
func serveSetup(uc *net.UnixConn, cfg config) (*conn, error) {
	size := mapSize(cfg.ring) + 2*cfg.slots*cfg.slotSize
	if cfg.slots == 0 {
		size = mapSize(cfg.ring)
	}
	fd, err := unix.MemfdCreate("mqwire-shm", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("shm: memfd_create: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.Ftruncate(fd, int64(size)); err != nil {
		return nil, fmt.Errorf("shm: ftruncate: %w", err)
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_SEAL); err != nil {
		return nil, fmt.Errorf("shm: seal: %w", err)
	}
	mem, err := unix.Mmap(fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("shm: mmap: %w", err)
	}
	var efd [numEventFDs]int
	for i := range efd {
		if efd[i], err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK); err != nil {
			for _, f := range efd[:i] {
				unix.Close(f)
			}
			unix.Munmap(mem)
			return nil, fmt.Errorf("shm: eventfd: %w", err)
		}
	}
	hello := mem[:helloSize]
	copy(hello, magic)
	binary.LittleEndian.PutUint32(hello[8:], version)
	binary.LittleEndian.PutUint32(hello[12:], uint32(cfg.ring))
	if cfg.slots > 0 {
		binary.LittleEndian.PutUint64(hello[16:], uint64(mapSize(cfg.ring)))
		binary.LittleEndian.PutUint64(hello[24:], uint64(2*cfg.slots*cfg.slotSize))
		binary.LittleEndian.PutUint32(mem[helloSize:], uint32(cfg.slots))
		binary.LittleEndian.PutUint32(mem[helloSize+4:], uint32(cfg.slotSize))
	}
	uc.SetWriteDeadline(time.Now().Add(setupWait))
	if _, _, err := uc.WriteMsgUnix(hello, unix.UnixRights(append([]int{fd}, efd[:]...)...), nil); err != nil {
		for _, f := range efd {
			unix.Close(f)
		}
		unix.Munmap(mem)
		return nil, fmt.Errorf("shm: set-up: %w", err)
	}
	uc.SetWriteDeadline(time.Time{})
	return newConn(uc, mem, cfg.ring, true, cfg, efd), nil
}

func (transport) Listen(_, addr string) (socket.TransportListener, error) {
	cfg, err := parseAddr(addr)
	if err != nil {
		return nil, err
	}
	if err := removeStale(cfg.path); err != nil {
		return nil, err
	}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: cfg.path, Net: "unix"})
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("%w: shm://%s", socket.ErrAddrInUse, cfg.path)
		}
		return nil, err
	}
	return &listener{l: l, cfg: cfg, url: "shm://" + addr}, nil
}

// removeStale removes a socket file nobody listens on any more; a path that
// is not a socket, or that a live listener answers on, is left alone.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.Mode()&fs.ModeSocket == 0 {
		return fmt.Errorf("%w: shm://%s exists and is not a socket", socket.ErrAddrInUse, path)
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		c.Close()
		return fmt.Errorf("%w: shm://%s has a live listener", socket.ErrAddrInUse, path)
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return os.Remove(path)
	}
	return nil
}

type listener struct {
	l   *net.UnixListener
	cfg config
	url string
}

// Accept waits for a dialer and sets its connection up. A dialer that goes
// away during set-up is skipped.
func (l *listener) Accept() (socket.Conn, error) {
	for {
		uc, err := l.l.AcceptUnix()
		if err != nil {
			return socket.Conn{}, err
		}
		c, err := serveSetup(uc, l.cfg)
		if err != nil {
			uc.Close()
			var errno syscall.Errno
			if errors.As(err, &errno) && (errno == syscall.EMFILE || errno == syscall.ENFILE || errno == syscall.ENOMEM) {
				return socket.Conn{}, err
			}
			continue
		}
		return socket.Conn{Stream: c, Remote: "shm://" + l.cfg.path}, nil
	}
}

// Close stops listening and removes the socket file.
func (l *listener) Close() error { return l.l.Close() }

func (l *listener) URL() string { return l.url }

type addr string

func (a addr) Network() string { return "shm" }
func (a addr) String() string  { return string(a) }

// waitSide is one of our two waiters (the reader, parked for data; the
// writer, parked for room): its flag in shared memory, which tells the peer
// to wake it, and the eventfd it parks on, in the runtime's poller.
type waitSide struct {
	flag   *uint32
	f      *os.File
	fd     int           // f's descriptor, for wake-ups of our own
	budget time.Duration // how long it spins now (see spinWorked)
}

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
		return waitSide{flag: flag, f: os.NewFile(uintptr(fd), "shm-wake"), fd: fd, budget: cfg.spin}
	}
	if server {
		c.in, c.out = newConsumer(r1), newProducer(r0)
		c.rw, c.ww = side(r1.consWait, efd[efdListenerRead]), side(r0.prodWait, efd[efdListenerWrite])
		c.peerR, c.peerW = efd[efdDialerRead], efd[efdDialerWrite]
		if cfg.slots > 0 {
			c.outp = newOutPool(pool0, cfg.slots, uint64(cfg.slotSize), rel0)
			c.inp = newInPool(pool1, cfg.slots, uint64(cfg.slotSize), rel1)
		}
	} else {
		c.in, c.out = newConsumer(r0), newProducer(r1)
		c.rw, c.ww = side(r0.consWait, efd[efdDialerRead]), side(r1.prodWait, efd[efdDialerWrite])
		c.peerR, c.peerW = efd[efdListenerRead], efd[efdListenerWrite]
		if cfg.slots > 0 {
			c.outp = newOutPool(pool1, cfg.slots, uint64(cfg.slotSize), rel1)
			c.inp = newInPool(pool0, cfg.slots, uint64(cfg.slotSize), rel0)
		}
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

var one = [8]byte{1}

// poke adds one to an eventfd's counter, waking whoever is parked on it.
func poke(fd int) { unix.Write(fd, one[:]) }

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
	var buf [8]byte
	start := time.Now()
	_, err := s.f.Read(buf[:])
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

// Read reads what the peer has written, waiting for at least one byte. It
// returns io.EOF once the peer is gone and its bytes are all read.
func (c *conn) Read(b []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if len(b) == 0 {
		return 0, nil
	}
	var wt waiter
	for {
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

// LoanMin is the smallest body this connection lends: LoanMin, or
// math.MaxInt when the connection has no slot pool ("?slots=0").
func (c *conn) LoanMin() int {
	if c.outp == nil {
		return math.MaxInt
	}
	return LoanMin
}

// Loan returns the first n bytes of a free slot of our pool, or ok=false
// when n is below LoanMin or above the slot size, no slot is free, or the
// connection is over. It never waits. The buffer must go to WriteLoan; until
// then it stays mapped, even if the connection is closed meanwhile.
func (c *conn) Loan(n int) ([]byte, bool) {
	if c.outp == nil || n < LoanMin || uint64(n) > c.outp.size {
		return nil, false
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.writeErr() != nil {
		return nil, false
	}
	if err := c.outp.drain(); err != nil {
		c.setFail(err)
		return nil, false
	}
	buf, ok := c.outp.take(n)
	if ok {
		// The caller fills buf while it may race a Close: the mapping
		// stays until WriteLoan.
		c.refs.Add(1)
	}
	return buf, ok
}

// WriteLoan writes head inline, then a loan record that gives buf (from
// Loan) to the peer. buf is no longer the caller's afterwards, whatever the
// error: unsent, its slot is free again.
func (c *conn) WriteLoan(head, buf []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.outp == nil {
		return fmt.Errorf("%w: shm: WriteLoan on a connection without a slot pool", socket.ErrBadState)
	}
	idx, ok := c.outp.index(buf)
	if !ok {
		return fmt.Errorf("%w: shm: WriteLoan of a buffer that Loan did not give", socket.ErrBadState)
	}
	defer c.unref() // Loan's
	sent := false
	defer func() {
		if !sent {
			c.outp.giveBack(idx)
		}
	}()
	if _, err := c.write(head); err != nil {
		return err
	}
	gen := c.outp.gen[idx] + 1
	var wt waiter
	for {
		if err := c.writeErr(); err != nil {
			return err
		}
		ok, err := c.out.writeLoan(idx, gen, 0, uint32(len(buf)))
		if err != nil {
			return err
		}
		if ok {
			c.outp.gen[idx] = gen
			c.outp.state[idx] = slotOnLoan
			sent = true
			signal(c.out.r.consWait, c.peerR)
			return nil
		}
		if err := c.wait(&wt, &c.ww, &c.wdl, c.hasLoanRoom); err != nil {
			return err
		}
	}
}

func (c *conn) hasLoanRoom() bool {
	if c.out.r.cap-(c.out.head-c.out.tail) >= recHeader+loanRecSize {
		return true
	}
	return c.out.loadTail() != nil || c.out.r.cap-(c.out.head-c.out.tail) >= recHeader+loanRecSize
}

// ReadLoan returns the next body in place when the peer lent it and it is
// n bytes long; it waits, as Read would, for the next record to be
// published. body aliases the peer's slot (which a hostile peer can still
// write to) until release, which may be called once from any goroutine,
// before or after Close. ok=false: the body comes through Read, and so does
// any error.
func (c *conn) ReadLoan(n int) (body []byte, release func(), ok bool) {
	if c.inp == nil || n <= 0 {
		return nil, nil, false
	}
	c.rmu.Lock()
	defer c.rmu.Unlock()
	var wt waiter
	for {
		if c.closed.Load() || c.fail.Load() != nil {
			return nil, nil, false
		}
		gone := c.peerGone.Load()
		switch c.in.peek() {
		case 1:
			return nil, nil, false
		case 2:
			signal(c.in.r.prodWait, c.peerW)
			rec := c.in.pending
			if rec.done != 0 || int(rec.len) != n {
				return nil, nil, false
			}
			c.in.pending = loanRec{}
			c.refs.Add(1)
			var once atomic.Bool
			return c.inp.body(rec), func() {
				if once.CompareAndSwap(false, true) {
					c.releaseIn(rec)
					c.unref()
				}
			}, true
		}
		if gone {
			return nil, nil, false
		}
		if err := c.wait(&wt, &c.rw, &c.rdl, c.in.ready); err != nil {
			return nil, nil, false
		}
	}
}

// readLoaned copies the pending loan's bytes out for Read, and gives the
// slot back once all are read.
func (c *conn) readLoaned(b []byte) int {
	p := &c.in.pending
	k := copy(b, c.inp.body(*p)[p.done:])
	p.done += uint32(k)
	if p.done == p.len {
		rec := *p
		*p = loanRec{}
		c.releaseIn(rec)
	}
	return k
}

// releaseIn gives a borrowed slot back to the peer, unless the connection
// is over (then the peer needs nothing back).
func (c *conn) releaseIn(rec loanRec) {
	tell := !c.closed.Load() && !c.peerGone.Load()
	if err := c.inp.release(rec, tell); err != nil {
		c.setFail(err)
	}
}
