//go:build linux

package shm

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
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
//	4096  ring 0 control block (512 bytes)
//	4608  ring 1 control block
//	8192  ring 0 data (capacity bytes), then ring 1 data
const (
	magic      = "MQWSHM\x00\x00"
	version    = 1
	helloSize  = 32
	headerPage = 4096
	ctl0       = 4096
	ctl1       = ctl0 + ctlSize
	dataStart  = 8192
	setupWait  = 5 * time.Second
	// spinCheck: a spinning side reads the clock every spinCheck turns.
	spinCheck = 16
)

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
	pool := binary.LittleEndian.Uint64(hello[24:])
	switch {
	case ver != version:
		return nil, setupErr("version %d, we speak %d", ver, version)
	case !ringCapOK(uint64(rc)):
		return nil, setupErr("ring capacity %d", rc)
	case pool != 0:
		return nil, setupErr("slot pools are not supported yet")
	}
	fd := fds[0]
	size := mapSize(int(rc))
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
	size := mapSize(cfg.ring)
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
	mem  []byte
	in   consumer // the peer's ring, read by us
	out  producer // our ring, read by the peer
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
	side := func(flag *uint32, fd int) waitSide {
		return waitSide{flag: flag, f: os.NewFile(uintptr(fd), "shm-wake"), fd: fd, budget: cfg.spin}
	}
	if server {
		c.in, c.out = newConsumer(r1), newProducer(r0)
		c.rw, c.ww = side(r1.consWait, efd[efdListenerRead]), side(r0.prodWait, efd[efdListenerWrite])
		c.peerR, c.peerW = efd[efdDialerRead], efd[efdDialerWrite]
	} else {
		c.in, c.out = newConsumer(r0), newProducer(r1)
		c.rw, c.ww = side(r0.consWait, efd[efdDialerRead]), side(r1.prodWait, efd[efdDialerWrite])
		c.peerR, c.peerW = efd[efdListenerRead], efd[efdListenerWrite]
	}
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
	if c.spin > 0 && time.Since(start) < c.spin {
		c.spinWorked(s)
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
		gone := c.peerGone.Load()
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
	done := 0
	var wt waiter
	for done < len(b) {
		if c.closed.Load() {
			return done, net.ErrClosed
		}
		if c.peerGone.Load() {
			return done, errPeerGone
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
		unix.Munmap(c.mem)
		c.mem = nil
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
