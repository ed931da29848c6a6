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
	cases := map[string]func(t *testing.T) ([]byte, []int){
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
