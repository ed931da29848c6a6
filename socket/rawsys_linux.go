package socket

import (
	"math"
	"net"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A tcp or ipc pipe's descriptor reads (fdReader; the reads of large bodies
// into their messages, directReader) and writes (fdWriter: writes through,
// and, newConnWriter, the writer goroutine's and the rest of a message
// written through) are raw system calls, which do not tell the Go scheduler
// that the goroutine has entered a system call; over ipc, only writes of
// at least ipcRawWriteMin bytes are. They never block (the descriptor is
// non-blocking: a call that would wait returns EAGAIN, and the caller
// waits in the runtime's poller instead), so the scheduler has nothing to
// hand over while they run. Telling it costs a wake-up: the runtime's
// monitor thread sleeps while the process waits, and the first system
// call the scheduler is told of after the wait wakes it, a futex call and
// another thread running on the critical path. That cost a tcp round trip
// dearly here: 64 B REQ/REP over loopback between two processes took
// 26-63 us one way (median 56) told and 35-39 us (median 38) raw, 64 KiB
// medians 79 and 57 us, in alternated pairs; raw calls made about half
// the wake-ups of threads and a hundredth of the futex calls; 1 MiB, with
// its body read raw too, 187 and 153 us. Over ipc, all calls raw made 64 B
// slower (1.17x-1.24x, though fewer threads woke) and 1 MiB faster
// (0.77x); with small writes told, 64 B was 0.90x, 1 KiB and 64 KiB
// unchanged, 1 MiB 0.77x, and push/pull moved 1.08x-1.12x more at 64 B,
// 64 KiB and 1 MiB.

// ipcRawWriteMin is the smallest write an ipc pipe makes raw (above).
const ipcRawWriteMin = 16 << 10

// rawReads reports whether c's descriptor is read with raw system calls:
// tcp and ipc connections.
func rawReads(c net.Conn) bool {
	switch c.(type) {
	case *net.TCPConn, *net.UnixConn:
		return true
	}
	return false
}

// rawWriteMin returns the smallest write made to c's descriptor with a raw
// system call: 0 (all) on tcp, ipcRawWriteMin on ipc, and on other
// connections more than any write.
func rawWriteMin(c net.Conn) int {
	switch c.(type) {
	case *net.TCPConn:
		return 0
	case *net.UnixConn:
		return ipcRawWriteMin
	}
	return math.MaxInt
}

// sysRead reads fd into b with one read system call, raw or not.
func sysRead(fd int, b []byte, raw bool) (int, error) {
	if !raw {
		return unix.Read(fd, b)
	}
	return rawIO(unix.SYS_READ, fd, b)
}

// sysWrite writes b to fd with one write system call, raw or not.
func sysWrite(fd int, b []byte, raw bool) (int, error) {
	if !raw {
		return unix.Write(fd, b)
	}
	return rawIO(unix.SYS_WRITE, fd, b)
}

// rawIO makes the read or write system call trap on fd and b, raw.
func rawIO(trap uintptr, fd int, b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	n, _, e := unix.RawSyscall(trap, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// maxIovecs is how many buffers one writev takes (Linux's IOV_MAX).
const maxIovecs = 1024

// sysWritev writes bufs to fd with one writev system call, raw or not, up to
// maxIovecs of them. A raw call builds the kernel's vector in iovs, which it
// returns for reuse.
func sysWritev(fd int, bufs [][]byte, iovs []unix.Iovec, raw bool) (int, []unix.Iovec, error) {
	if !raw {
		n, err := unix.Writev(fd, bufs[:min(len(bufs), maxIovecs)])
		return max(n, 0), iovs, err
	}
	iovs = iovs[:0]
	for _, b := range bufs {
		if len(b) == 0 {
			continue
		}
		if len(iovs) == maxIovecs {
			break
		}
		iov := unix.Iovec{Base: &b[0]}
		iov.SetLen(len(b))
		iovs = append(iovs, iov)
	}
	if len(iovs) == 0 {
		return 0, iovs, nil
	}
	n, _, e := unix.RawSyscall(unix.SYS_WRITEV, uintptr(fd), uintptr(unsafe.Pointer(&iovs[0])), uintptr(len(iovs)))
	clear(iovs) // hold on to no buffer
	if e != 0 {
		return 0, iovs, e
	}
	return int(n), iovs, nil
}
