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
	"unsafe"

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
	magic       = "MQWSHM\x00\x00"
	version     = 1
	helloSize   = 32
	headerPage  = 4096
	ctl0        = 4096
	ctl1        = ctl0 + ctlSize
	dataStart   = 8192
	setupWait   = 5 * time.Second
	futexWait   = 0 // FUTEX_WAIT (shared, not FUTEX_PRIVATE_FLAG)
	futexWake   = 1 // FUTEX_WAKE
	spinCheckNs = 16
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
	oob := make([]byte, unix.CmsgSpace(4*4))
	n, oobn, flags, _, err := uc.ReadMsgUnix(hello[:], oob)
	if err != nil {
		return nil, fmt.Errorf("shm: set-up: %w", err)
	}
	fds, ferr := takeFDs(oob[:oobn])
	fd := -1
	if len(fds) == 1 {
		fd = fds[0]
	} else {
		for _, f := range fds {
			unix.Close(f)
		}
	}
	if fd >= 0 {
		defer unix.Close(fd)
	}
	if _, err := io.ReadFull(uc, hello[n:]); err != nil {
		return nil, fmt.Errorf("shm: set-up: %w", err)
	}
	uc.SetReadDeadline(time.Time{})
	switch {
	case ferr != nil:
		return nil, setupErr("bad control message: %v", ferr)
	case flags&unix.MSG_CTRUNC != 0 || len(fds) != 1:
		return nil, setupErr("expected one descriptor, got %d", len(fds))
	case string(hello[:8]) != magic:
		return nil, setupErr("bad magic %q", hello[:8])
	}
	ver := binary.LittleEndian.Uint32(hello[8:])
	rc := binary.LittleEndian.Uint32(hello[12:])
	pool := binary.LittleEndian.Uint64(hello[24:])
	switch {
	case ver != version:
		return nil, setupErr("version %d, we speak %d", ver, version)
	case rc < minRingCap || rc > maxRingCap || rc&(rc-1) != 0:
		return nil, setupErr("ring capacity %d", rc)
	case pool != 0:
		return nil, setupErr("slot pools are not supported yet")
	}
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
	mem, err := unix.Mmap(fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("shm: set-up: mmap: %w", err)
	}
	return newConn(uc, mem, int(rc), false, cfg), nil
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
	hello := mem[:helloSize]
	copy(hello, magic)
	binary.LittleEndian.PutUint32(hello[8:], version)
	binary.LittleEndian.PutUint32(hello[12:], uint32(cfg.ring))
	uc.SetWriteDeadline(time.Now().Add(setupWait))
	if _, _, err := uc.WriteMsgUnix(hello, unix.UnixRights(fd), nil); err != nil {
		unix.Munmap(mem)
		return nil, fmt.Errorf("shm: set-up: %w", err)
	}
	uc.SetWriteDeadline(time.Time{})
	return newConn(uc, mem, cfg.ring, true, cfg), nil
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

// conn is one end of a shared-memory connection: a net.Conn whose bytes go
// through the rings, with the Unix socket kept open as the liveness channel.
type conn struct {
	uc   *net.UnixConn
	mem  []byte
	in   consumer // the peer's ring, read by us
	out  producer // our ring, read by the peer
	spin time.Duration
	name addr

	rmu, wmu  sync.Mutex
	mapMu     sync.RWMutex // held for writing while Close unmaps
	closed    atomic.Bool
	peerGone  atomic.Bool
	rdl, wdl  atomic.Int64 // deadlines in Unix nanoseconds; 0 for none
	monDone   chan struct{}
	closeOnce sync.Once
}

func newConn(uc *net.UnixConn, mem []byte, ringCap int, server bool, cfg config) *conn {
	r0 := newRing(mem[ctl0:ctl0+ctlSize], mem[dataStart:dataStart+ringCap])
	r1 := newRing(mem[ctl1:ctl1+ctlSize], mem[dataStart+ringCap:dataStart+2*ringCap])
	outR, inR := r1, r0
	if server {
		outR, inR = r0, r1
	}
	c := &conn{uc: uc, mem: mem, in: newConsumer(inR), out: newProducer(outR),
		spin: cfg.spin, name: addr("shm://" + cfg.path), monDone: make(chan struct{})}
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
	c.wake(c.in.r.consWait)
	c.wake(c.out.r.prodWait)
}

// wake clears a futex word of ours and wakes whoever is parked on it. It is
// for rare events (close, deadlines, peer gone) and always makes the system
// call, so that a peer that clears our word cannot make us miss one.
func (c *conn) wake(w *uint32) {
	atomic.StoreUint32(w, 0)
	futex(w, futexWake, 1<<30, nil)
}

func futex(w *uint32, op int, val uint32, ts *unix.Timespec) {
	unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(w)), uintptr(op), uintptr(val), uintptr(unsafe.Pointer(ts)), 0, 0)
}

// signal wakes the peer parked on w, if it is: the producer's wake-up of a
// parked consumer and back. A peer that is not parked costs nothing.
func signal(w *uint32) {
	if atomic.LoadUint32(w) != 0 && atomic.SwapUint32(w, 0) != 0 {
		futex(w, futexWake, 1, nil)
	}
}

// waiter runs the spin-then-park loop of one Read or Write.
type waiter struct {
	spinUntil int64
	n         int
}

// wait spins or parks once on w until ready reports true, the deadline dl
// (Unix ns) passes, or something wakes it. It returns false when the
// deadline has passed.
func (c *conn) wait(wt *waiter, w *uint32, dl *atomic.Int64, ready func() bool) bool {
	d := dl.Load()
	now := int64(0)
	if d != 0 || wt.n%spinCheckNs == 0 {
		now = time.Now().UnixNano()
		if d != 0 && now >= d {
			return false
		}
	}
	if wt.n == 0 {
		wt.spinUntil = now + int64(c.spin)
	}
	wt.n++
	if c.spin > 0 && (now == 0 || now < wt.spinUntil) {
		runtime.Gosched()
		return true
	}
	atomic.StoreUint32(w, 1)
	d = dl.Load()
	if ready() || c.closed.Load() || c.peerGone.Load() {
		atomic.StoreUint32(w, 0)
		return true
	}
	var ts *unix.Timespec
	if d != 0 {
		left := d - time.Now().UnixNano()
		if left <= 0 {
			atomic.StoreUint32(w, 0)
			return false
		}
		t := unix.NsecToTimespec(left)
		ts = &t
	}
	futex(w, futexWait, 1, ts)
	atomic.StoreUint32(w, 0)
	return true
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
			signal(c.in.r.prodWait)
			return n, nil
		}
		if err != nil {
			return 0, err
		}
		if gone {
			return 0, io.EOF
		}
		if !c.wait(&wt, c.in.r.consWait, &c.rdl, c.in.ready) {
			return 0, os.ErrDeadlineExceeded
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
			signal(c.out.r.consWait)
			wt = waiter{}
			continue
		}
		if !c.wait(&wt, c.out.r.prodWait, &c.wdl, c.hasRoom) {
			return done, os.ErrDeadlineExceeded
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
		c.wake(c.in.r.consWait)
		c.wake(c.out.r.prodWait)
		c.uc.Close()
		<-c.monDone
		c.rmu.Lock()
		c.wmu.Lock()
		c.mapMu.Lock()
		unix.Munmap(c.mem)
		c.mem = nil
		c.mapMu.Unlock()
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
	c.SetReadDeadline(t)
	return c.SetWriteDeadline(t)
}

// SetReadDeadline sets the read deadline and wakes a parked Read to see it.
func (c *conn) SetReadDeadline(t time.Time) error {
	if c.closed.Load() {
		return net.ErrClosed
	}
	c.rdl.Store(deadlineNs(t))
	c.wakeIfMapped(c.in.r.consWait)
	return nil
}

// SetWriteDeadline sets the write deadline and wakes a parked Write to see
// it.
func (c *conn) SetWriteDeadline(t time.Time) error {
	if c.closed.Load() {
		return net.ErrClosed
	}
	c.wdl.Store(deadlineNs(t))
	c.wakeIfMapped(c.out.r.prodWait)
	return nil
}

// wakeIfMapped wakes w unless Close is unmapping: a deadline set during
// Close has nobody left to wake.
func (c *conn) wakeIfMapped(w *uint32) {
	c.mapMu.RLock()
	if c.mem != nil {
		c.wake(w)
	}
	c.mapMu.RUnlock()
}
