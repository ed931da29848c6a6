package socket

import (
	"bytes"
	"errors"
	"io"
	"net"
	"runtime"
	"testing"
	"testing/iotest"
	"time"

	"github.com/mqwire/mqwire/wire/sp"
)

// stallingReader gives its bytes, then blocks, saying so on stalled, until
// release closes; then it fails with errGone.
type stallingReader struct {
	r       io.Reader
	stalled chan struct{}
	release chan struct{}
}

var errGone = errors.New("peer gone")

func (s *stallingReader) Read(p []byte) (int, error) {
	if n, err := s.r.Read(p); err != io.EOF {
		return n, err
	}
	close(s.stalled)
	<-s.release
	return 0, errGone
}

// stalledRead starts readBody of size bytes from a peer that sends sent
// bytes and stalls, and returns once it stalls, with the heap allocated
// meanwhile; finish ends the stall and returns readBody's error.
func stalledRead(t *testing.T, size, sent int) (allocated uint64, finish func() error) {
	t.Helper()
	sr := &stallingReader{
		r:       bytes.NewReader(make([]byte, sent)),
		stalled: make(chan struct{}),
		release: make(chan struct{}),
	}
	var before, during runtime.MemStats
	runtime.ReadMemStats(&before)
	done := make(chan error, 1)
	go func() {
		m, err := readBody(sr, size)
		if m != nil {
			m.Free()
		}
		done <- err
	}()
	select {
	case <-sr.stalled:
	case <-time.After(10 * time.Second):
		t.Fatal("readBody never read to the stall")
	}
	runtime.ReadMemStats(&during)
	return during.TotalAlloc - before.TotalAlloc, func() error {
		close(sr.release)
		return <-done
	}
}

// A large body is read straight into a message of its size while the
// upfront budget has room, and holds its size of the budget until the read
// ends, even by failing; past the budget, a body that stalls holds no more
// than growStep.
func TestReadBodyUpfront(t *testing.T) {
	if got := upfront.Load(); got != 0 {
		t.Fatalf("upfront budget in use before the test: %d", got)
	}

	// Whole, in one message, the budget given back.
	want := bytes.Repeat([]byte("0123456789abcdef"), 1<<18) // 4 MiB
	m, err := readBody(iotest.HalfReader(bytes.NewReader(want)), len(want))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m.Body, want) {
		t.Error("4 MiB body read wrong")
	}
	m.Free()
	if got := upfront.Load(); got != 0 {
		t.Errorf("upfront budget after a read: %d, want 0", got)
	}

	// A stall holds its reservation, and a failed read gives it back.
	const size = 8 << 20
	allocated, finish := stalledRead(t, size, 1024)
	if got := upfront.Load(); got != size {
		t.Errorf("upfront budget during a stalled 8 MiB read: %d, want %d", got, size)
	}
	t.Logf("a stalled 8 MiB body within the budget: %d bytes allocated", allocated)
	if err := finish(); !errors.Is(err, errGone) {
		t.Errorf("stalled read ended with %v, want %v", err, errGone)
	}
	if got := upfront.Load(); got != 0 {
		t.Errorf("upfront budget after a failed read: %d, want 0", got)
	}

	// With the budget spent, a stall holds about growStep.
	upfront.Add(upfrontMax)
	defer upfront.Add(-upfrontMax)
	allocated, finish = stalledRead(t, size, 1024)
	if got := upfront.Load(); got != upfrontMax {
		t.Errorf("upfront budget, spent, during a stalled read: %d, want %d", got, upfrontMax)
	}
	if allocated > 2*growStep {
		t.Errorf("a stalled 8 MiB body past the budget allocated %d bytes, want at most %d", allocated, 2*growStep)
	}
	t.Logf("a stalled 8 MiB body past the budget: %d bytes allocated", allocated)
	if err := finish(); !errors.Is(err, errGone) {
		t.Errorf("stalled read ended with %v, want %v", err, errGone)
	}
}

// discardConn is a net.Conn that is not a descriptor (as a WebSocket or
// TLS connection is not): net.Buffers writes it a slice at a time.
type discardConn struct{ net.Conn }

func (discardConn) Write(b []byte) (int, error) { return len(b), nil }

// A batch with a large body goes out without an allocation, to a
// connection that writev serves (tcp, split in two) and to one it does not:
// net.Buffers.WriteTo moves the slice it writes from past what it wrote,
// and writing from the writer's own slices made them anew for every batch.
func TestWriterFlushNoAllocs(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	a, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	go io.Copy(io.Discard, b)
	for _, c := range []struct {
		name string
		conn net.Conn
	}{{"tcp", a}, {"other", discardConn{}}} {
		t.Run(c.name, func(t *testing.T) {
			_, tcp := c.conn.(*net.TCPConn)
			w := &streamWriter{conn: newConnWriter(c.conn), codec: &spCodec{framing: sp.FramingTCP}, splitLead: tcp}
			m := NewMessage(64 << 10)
			defer m.Free()
			batch := func() {
				w.acquire()
				w.codec.appendMessage(w, m)
				if err := w.flush(); err != nil {
					t.Fatal(err)
				}
				w.release()
			}
			batch()
			if allocs := testing.AllocsPerRun(100, batch); allocs > 0 && !raceEnabled {
				t.Errorf("%.1f allocations a batch", allocs)
			}
		})
	}
}
