package socket

import (
	"bytes"
	"errors"
	"io"
	"math"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestRawCalls: raw system calls read and write a descriptor as the
// ordinary ones do, empty buffers and all, and a writev of more buffers
// than the kernel takes at once writes what it takes.
func TestRawCalls(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	if err := unix.SetNonblock(fds[1], true); err != nil {
		t.Fatal(err)
	}
	for _, raw := range []bool{false, true} {
		if n, err := sysWrite(fds[0], []byte("hello"), raw); n != 5 || err != nil {
			t.Fatalf("raw %v: sysWrite = %d, %v", raw, n, err)
		}
		if n, err := sysWrite(fds[0], nil, raw); n != 0 || err != nil {
			t.Fatalf("raw %v: empty sysWrite = %d, %v", raw, n, err)
		}
		bufs := make([][]byte, maxIovecs+10)
		var want []byte
		for i := range bufs {
			if i%3 != 0 { // every third is empty
				bufs[i] = []byte{byte(i)}
			}
		}
		for _, b := range bufs[:maxIovecs] {
			want = append(want, b...)
		}
		var iovs []unix.Iovec
		n, iovs, err := sysWritev(fds[0], bufs, iovs, raw)
		if err != nil || n < len(want) || n > len(want)+10 {
			t.Fatalf("raw %v: sysWritev = %d, %v; want at least %d", raw, n, err, len(want))
		}
		for _, v := range iovs[:cap(iovs)] {
			if v.Base != nil {
				t.Fatalf("raw %v: sysWritev kept a buffer in its vector", raw)
			}
		}
		got := make([]byte, 64<<10)
		k, err := sysRead(fds[1], got, raw)
		if err != nil || k != 5+n || !bytes.Equal(got[:5], []byte("hello")) || !bytes.Equal(got[5:5+len(want)], want) {
			t.Fatalf("raw %v: sysRead = %d, %v; want %d bytes", raw, k, err, 5+n)
		}
		if k, err := sysRead(fds[1], got, raw); k > 0 || !errors.Is(err, unix.EAGAIN) {
			t.Fatalf("raw %v: sysRead of nothing = %d, %v; want EAGAIN", raw, k, err)
		}
		if k, err := sysRead(fds[1], nil, raw); k != 0 || err != nil && !errors.Is(err, unix.EAGAIN) {
			t.Fatalf("raw %v: sysRead into nothing = %d, %v", raw, k, err)
		}
	}
}

// TestRawCallsWhere: tcp pipes read and write with raw calls; ipc pipes
// read so, and write so from ipcRawWriteMin bytes, and either way the
// bytes arrive; other connections make none.
func TestRawCallsWhere(t *testing.T) {
	if rawReads(discardConn{}) || rawWriteMin(discardConn{}) != math.MaxInt {
		t.Errorf("a connection neither tcp nor ipc makes raw calls")
	}
	check := func(network, addr string) {
		c, peer := connPair(t, network, addr)
		wantMin := 0
		if network == "unix" {
			wantMin = ipcRawWriteMin
		}
		if r := newFDReader(c); r == nil || !r.raw {
			t.Errorf("%s: the fdReader does not read raw", network)
		}
		if r, ok := directReader(c, newLazySource(c)).(*fdReader); !ok || !r.raw {
			t.Errorf("%s: directReader is not the raw fdReader", network)
		}
		w, ok := fdTryWriter(c).(*fdWriter)
		if !ok || w.rawMin != wantMin {
			t.Fatalf("%s: the fdWriter writes raw from %d bytes, want %d", network, w.rawMin, wantMin)
		}
		if cw, ok := newConnWriter(c).(*fdWriter); !ok || cw.rawMin != wantMin {
			t.Errorf("%s: newConnWriter is not an fdWriter raw from %d bytes", network, wantMin)
		}
		// Small and large, one buffer and several: all arrive.
		large := bytes.Repeat([]byte{7}, ipcRawWriteMin)
		want := 0
		for _, bufs := range [][][]byte{{[]byte("small")}, {[]byte("sm"), []byte("all")}, {large}, {[]byte("x"), large}} {
			n, err := w.TryWrite(bufs)
			if err != nil || n != buffersLen(bufs) {
				t.Fatalf("%s: TryWrite of %d bytes = %d, %v", network, buffersLen(bufs), n, err)
			}
			want += n
		}
		got, err := io.ReadAll(io.LimitReader(peer, int64(want)))
		if err != nil || len(got) != want || string(got[:10]) != "smallsmall" {
			t.Fatalf("%s: the peer read %d bytes, %v; want %d", network, len(got), err, want)
		}
	}
	check("tcp", "127.0.0.1:0")
	dir, err := os.MkdirTemp("", "raw")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	check("unix", filepath.Join(dir, "s"))
}

// TestDirectRead: the raw descriptor reader, read as an io.Reader (large
// bodies), waits for bytes, keeps to a read deadline, and ends with io.EOF.
func TestDirectRead(t *testing.T) {
	c, peer := connPair(t, "tcp", "127.0.0.1:0")
	r := directReader(c, newLazySource(c))
	if _, ok := r.(*fdReader); !ok {
		t.Fatalf("directReader of a tcp connection is a %T", r)
	}
	if n, err := r.Read(nil); n != 0 || err != nil {
		t.Fatalf("Read(nil) = %d, %v", n, err)
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		peer.Write([]byte("late"))
	}()
	buf := make([]byte, 16)
	if n, err := io.ReadFull(r, buf[:4]); err != nil || string(buf[:n]) != "late" {
		t.Fatalf("waited read = %q, %v", buf[:n], err)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	if _, err := r.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past the deadline: %v", err)
	}
	c.SetReadDeadline(time.Time{})
	peer.Close()
	if n, err := r.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("read after the peer closed = %d, %v; want io.EOF", n, err)
	}
}

// TestConnWriter: a tcp pipe's writer writes raw, waits for room when the
// peer is slow, keeps to a write deadline, returning what it did not
// write, and reports a peer that went away; other connections are written
// with their own Write.
func TestConnWriter(t *testing.T) {
	if _, ok := newConnWriter(discardConn{}).(*plainWriter); !ok {
		t.Errorf("newConnWriter of a non-tcp connection is not its own writer")
	}
	c, peer := connPair(t, "tcp", "127.0.0.1:0")
	w, ok := newConnWriter(c).(*fdWriter)
	if !ok || w.rawMin != 0 {
		t.Fatalf("newConnWriter of a tcp connection is not a raw fdWriter")
	}

	// More than the socket buffers hold: the write waits for the reader.
	big := make([]byte, 32<<20)
	for i := range big {
		big[i] = byte(i / 4096)
	}
	got := make(chan []byte)
	go func() {
		time.Sleep(50 * time.Millisecond) // let the writer fill the buffers
		b, _ := io.ReadAll(io.LimitReader(peer, int64(len(big)+3)))
		got <- b
	}()
	bufs := net.Buffers{[]byte("ab"), nil, big[:len(big)/2], big[len(big)/2:], []byte("c")}
	left, err := w.writeBuffers(bufs)
	if err != nil || w.written != int64(len(big)+3) || len(left) != 0 || len(bufs[0]) != 2 {
		t.Fatalf("writeBuffers wrote %d, %v, %d buffers left (first of bufs %d bytes); want %d, nil, 0 (2)", w.written, err, len(left), len(bufs[0]), len(big)+3)
	}
	b := <-got
	if len(b) != len(big)+3 || string(b[:2]) != "ab" || !bytes.Equal(b[2:len(b)-1], big) || b[len(b)-1] != 'c' {
		t.Fatalf("the peer read %d bytes, not what was written", len(b))
	}

	// No reader and a deadline: the write ends with it, part written.
	c.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
	left, err = w.writeBuffers(net.Buffers{big})
	n := w.written
	if !errors.Is(err, os.ErrDeadlineExceeded) || n == 0 || n == int64(len(big)) || len(left) != 1 || len(left[0]) != len(big)-int(n) {
		t.Fatalf("writeBuffers past the deadline wrote %d, %v, %d left", n, err, len(left))
	}
	c.SetWriteDeadline(time.Time{})

	// The peer closed: the write fails, typed.
	peer.Close()
	for i := 0; i < 100; i++ {
		if _, err = w.Write([]byte("after")); err != nil {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if !errors.Is(err, unix.EPIPE) && !errors.Is(err, unix.ECONNRESET) {
		t.Fatalf("Write to a closed peer: %v, want EPIPE or ECONNRESET", err)
	}
}

func TestConsume(t *testing.T) {
	for _, c := range []struct {
		n    int
		want string
	}{{0, "ab||cde"}, {1, "b||cde"}, {2, "cde"}, {3, "de"}, {5, ""}} {
		bufs := net.Buffers{nil, []byte("ab"), nil, []byte("cde")}
		consume(&bufs, c.n)
		var parts []string
		for _, b := range bufs {
			parts = append(parts, string(b))
		}
		if got := strings.Join(parts, "|"); got != c.want {
			t.Errorf("consume %d: %q, want %q", c.n, got, c.want)
		}
	}
}

// connPair returns the two ends of a connection made by listening on
// network's addr, closed when the test ends.
func connPair(t *testing.T, network, addr string) (net.Conn, net.Conn) {
	t.Helper()
	l, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, err := net.Dial(network, l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	peer, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { peer.Close() })
	return c, peer
}
