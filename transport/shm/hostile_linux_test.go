package shm_test

import (
	"encoding/binary"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/socket"
	"github.com/mqwire/mqwire/transport/shm"
)

// TestHostileListener plays a listener that passes bad set-up messages: the
// dialer must refuse each with an error matching socket.ErrProtocol before
// it maps anything.
func TestHostileListener(t *testing.T) {
	testutil.CheckGoroutines(t)
	const ring = 4096
	size := int64(8192 + 2*ring)
	hello := func(ver uint32, rc uint32) []byte {
		b := make([]byte, 32)
		copy(b, "MQWSHM\x00\x00")
		binary.LittleEndian.PutUint32(b[8:], ver)
		binary.LittleEndian.PutUint32(b[12:], rc)
		return b
	}
	memfd := func(t *testing.T, size int64, seal bool) int {
		fd := must(unix.MemfdCreate("hostile", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING))
		t.Cleanup(func() { unix.Close(fd) })
		if err := unix.Ftruncate(fd, size); err != nil {
			t.Fatal(err)
		}
		if seal {
			must(unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_SHRINK|unix.F_SEAL_GROW))
		}
		return fd
	}
	efds := func(t *testing.T) []int {
		var fds []int
		for range 4 {
			fd := must(unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK))
			t.Cleanup(func() { unix.Close(fd) })
			fds = append(fds, fd)
		}
		return fds
	}
	pipeFDs := func(t *testing.T) []int {
		var p [2]int
		if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(p[0]); unix.Close(p[1]) })
		return []int{p[1], p[1], p[1], p[1]}
	}
	// A pool: slots of 64 KiB after the rings; geometry in the memfd at 32.
	withPool := func(off, size uint64) []byte {
		b := hello(1, ring)
		binary.LittleEndian.PutUint64(b[16:], off)
		binary.LittleEndian.PutUint64(b[24:], size)
		return b
	}
	poolMemfd := func(t *testing.T, fileSize int64, slots, slotSize uint32) int {
		fd := memfd(t, fileSize, false)
		var g [8]byte
		binary.LittleEndian.PutUint32(g[:], slots)
		binary.LittleEndian.PutUint32(g[4:], slotSize)
		if _, err := unix.Pwrite(fd, g[:], 32); err != nil {
			t.Fatal(err)
		}
		must(unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_SHRINK|unix.F_SEAL_GROW))
		return fd
	}
	const slot = 65536
	pool := func(t *testing.T, off, size uint64, fileSize int64, slots, slotSize uint32) ([]byte, []int) {
		return withPool(off, size), append([]int{poolMemfd(t, fileSize, slots, slotSize)}, efds(t)...)
	}
	cases := map[string]func(t *testing.T) ([]byte, []int){
		"pool offset without a size": func(t *testing.T) ([]byte, []int) {
			return pool(t, uint64(size), 0, size, 0, 0)
		},
		"pool inside the rings": func(t *testing.T) ([]byte, []int) {
			return pool(t, 8192, 2*slot, size+2*slot, 1, slot)
		},
		"pool bigger than the memfd": func(t *testing.T) ([]byte, []int) {
			return pool(t, uint64(size), 4*slot, size+2*slot, 2, slot)
		},
		"pool size against its slots": func(t *testing.T) ([]byte, []int) {
			return pool(t, uint64(size), 4*slot, size+4*slot, 1, slot)
		},
		"no slots": func(t *testing.T) ([]byte, []int) {
			return pool(t, uint64(size), 4*slot, size+4*slot, 0, slot)
		},
		"too many slots": func(t *testing.T) ([]byte, []int) {
			return pool(t, uint64(size), 2*256*slot, size+2*256*slot, 256, slot)
		},
		"slot size unaligned": func(t *testing.T) ([]byte, []int) {
			return pool(t, uint64(size), 2*(slot+8), size+2*(slot+8), 1, slot+8)
		},
		"pool of 2^63 bytes": func(t *testing.T) ([]byte, []int) {
			return pool(t, uint64(size), 1<<63, size, 1, slot)
		},
		"no descriptors": func(t *testing.T) ([]byte, []int) { return hello(1, ring), nil },
		"bad magic": func(t *testing.T) ([]byte, []int) {
			b := hello(1, ring)
			b[0] = 'X'
			return b, append([]int{memfd(t, size, true)}, efds(t)...)
		},
		"bad version": func(t *testing.T) ([]byte, []int) {
			return hello(9, ring), append([]int{memfd(t, size, true)}, efds(t)...)
		},
		"ring not a power of two": func(t *testing.T) ([]byte, []int) {
			return hello(1, ring+8), append([]int{memfd(t, size, true)}, efds(t)...)
		},
		"memfd too small": func(t *testing.T) ([]byte, []int) {
			return hello(1, ring), append([]int{memfd(t, size-4096, true)}, efds(t)...)
		},
		"memfd not sealed": func(t *testing.T) ([]byte, []int) {
			return hello(1, ring), append([]int{memfd(t, size, false)}, efds(t)...)
		},
		"pipes for eventfds": func(t *testing.T) ([]byte, []int) {
			return hello(1, ring), append([]int{memfd(t, size, true)}, pipeFDs(t)...)
		},
		"too few descriptors": func(t *testing.T) ([]byte, []int) {
			return hello(1, ring), []int{memfd(t, size, true)}
		},
	}
	for name, mk := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(testutil.ShortTempDir(t), "h.sock")
			l := must(net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"}))
			defer l.Close()
			b, fds := mk(t)
			go func() {
				c, err := l.AcceptUnix()
				if err != nil {
					return
				}
				defer c.Close()
				var oob []byte
				if len(fds) > 0 {
					oob = unix.UnixRights(fds...)
				}
				c.WriteMsgUnix(b, oob, nil)
				c.Read(make([]byte, 1)) // until the dialer hangs up
			}()
			c, err := shm.DialRaw(ctx(t), path)
			if err == nil {
				c.Close()
				t.Fatal("dial succeeded")
			}
			if !errors.Is(err, socket.ErrProtocol) {
				t.Fatalf("dial: %v, want an error matching ErrProtocol", err)
			}
			t.Log(err)
			if m, f := mappings(t); m != 0 || f != 0 {
				t.Fatalf("%d mappings, %d memfds left", m, f)
			}
			// The descriptors received are closed: only the test's own
			// memfd is still open.
			n := 0
			for _, e := range must(os.ReadDir("/proc/self/fd")) {
				if l, _ := os.Readlink("/proc/self/fd/" + e.Name()); strings.Contains(l, "memfd:hostile") {
					n++
				}
			}
			if n > 1 {
				t.Fatalf("%d hostile memfds open, want at most the test's own", n)
			}
		})
	}
}
