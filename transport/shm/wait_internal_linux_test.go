package shm

import (
	"errors"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/mqwire/mqwire/internal/testutil"
)

// newTestSide returns a waitSide over a fresh eventfd, closed at the end.
func newTestSide(t *testing.T) *waitSide {
	t.Helper()
	fd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fd), "shm-wake")
	rc, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	s := &waitSide{f: f, rc: rc, fd: fd}
	s.initRead()
	return s
}

// TestWakeRawCalls: the raw poke and the raw read that ends a park wake
// and wait as the eventfd's own calls would: a read waits in the poller
// until a poke (pokes before it add up to one wake-up), keeps the file's
// read deadline, allocates nothing, and fails once the file is closed.
func TestWakeRawCalls(t *testing.T) {
	s := newTestSide(t)
	go func() {
		time.Sleep(10 * time.Millisecond)
		poke(s.fd)
	}()
	start := time.Now()
	if err := s.readWake(); err != nil {
		t.Fatalf("read after a poke: %v", err)
	}
	if d := time.Since(start); d < 5*time.Millisecond {
		t.Errorf("read returned after %v, before the poke", d)
	}

	poke(s.fd)
	poke(s.fd)
	if err := s.readWake(); err != nil {
		t.Fatalf("read after two pokes: %v", err)
	}
	s.f.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if err := s.readWake(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read with nothing poked: %v, want the deadline (two pokes are one wake-up)", err)
	}
	s.f.SetReadDeadline(time.Time{})
	testutil.AllocsBelow(t, 100, 0.01, "a poke and the read it ends", func() {
		poke(s.fd)
		s.readWake()
	})

	go func() {
		time.Sleep(10 * time.Millisecond)
		s.f.Close()
	}()
	if err := s.readWake(); err == nil {
		t.Fatal("read on a closed file: no error")
	}
}
