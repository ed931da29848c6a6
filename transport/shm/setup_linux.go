//go:build linux

package shm

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mqwire/mqwire/socket"
)

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
