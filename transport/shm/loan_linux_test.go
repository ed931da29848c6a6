package shm_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/socket"
	"github.com/mqwire/mqwire/transport/shm"
)

// pattern is the bytes every test body is cut from: body i of n bytes is
// pattern[i%4096:][:n].
var pattern = func() []byte {
	b := make([]byte, 2<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}()

func bodyOf(i, n int) []byte { return pattern[i%4096:][:n] }

// bodySize is the size of test body i: from 64 KiB to 1 MiB, and now and
// then one too small to lend.
func bodySize(i int) int {
	if i%9 == 4 {
		return 1000 + i
	}
	return shm.LoanMin + (i*7919)%(1<<20-shm.LoanMin+1)
}

// writeBodies writes count bodies, each after an 8-byte header (size,
// number), lending those it can and writing the others inline. It returns
// how many went by loan.
func writeBodies(c net.Conn, count int) (loans int, err error) {
	lc := c.(socket.LoanConn)
	for i := range count {
		n := bodySize(i)
		var hdr [8]byte
		binary.LittleEndian.PutUint32(hdr[:], uint32(n))
		binary.LittleEndian.PutUint32(hdr[4:], uint32(i))
		if buf, ok := lc.Loan(n); ok {
			copy(buf, bodyOf(i, n))
			if err := lc.WriteLoan(hdr[:], buf); err != nil {
				return loans, err
			}
			loans++
			continue
		}
		if _, err := c.Write(append(hdr[:], bodyOf(i, n)...)); err != nil {
			return loans, err
		}
	}
	return loans, nil
}

// readBodies reads count bodies written by writeBodies, taking loans with
// ReadLoan (every 7th with a wrong size, which must fall back to Read) and
// releasing them, some from other goroutines. It returns how many came by
// loan.
func readBodies(c net.Conn, count int) (loans int, err error) {
	lc := c.(socket.LoanConn)
	var wg sync.WaitGroup
	defer wg.Wait()
	for i := range count {
		var hdr [8]byte
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			return loans, fmt.Errorf("header %d: %w", i, err)
		}
		n, k := int(binary.LittleEndian.Uint32(hdr[:])), int(binary.LittleEndian.Uint32(hdr[4:]))
		if k != i || n != bodySize(i) {
			return loans, fmt.Errorf("header %d says body %d of %d bytes", i, k, n)
		}
		ask := n
		if i%7 == 3 {
			ask = n + 8
		}
		if body, release, ok := readLoan(lc, ask); ok {
			if ask != n {
				return loans, fmt.Errorf("ReadLoan(%d) took a loan of %d", ask, len(body))
			}
			loans++
			if !bytes.Equal(body, bodyOf(i, n)) {
				return loans, fmt.Errorf("loaned body %d differs", i)
			}
			if i%2 == 0 {
				release()
			} else {
				wg.Add(1)
				go func() { defer wg.Done(); release(); release() }()
			}
			continue
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(c, body); err != nil {
			return loans, fmt.Errorf("body %d: %w", i, err)
		}
		if !bytes.Equal(body, bodyOf(i, n)) {
			return loans, fmt.Errorf("inline body %d differs", i)
		}
	}
	return loans, nil
}

// expectedStream is the byte stream writeBodies(count) makes.
func expectedStream(count int) []byte {
	var b []byte
	for i := range count {
		n := bodySize(i)
		b = binary.LittleEndian.AppendUint32(b, uint32(n))
		b = binary.LittleEndian.AppendUint32(b, uint32(i))
		b = append(b, bodyOf(i, n)...)
	}
	return b
}

// readPlain reads size bytes with plain Read calls of odd sizes.
func readPlain(c net.Conn, size int) ([]byte, error) {
	out := make([]byte, 0, size)
	buf := make([]byte, 100003)
	for len(out) < size {
		n, err := c.Read(buf[:min(len(buf), size-len(out))])
		if err != nil {
			return out, err
		}
		out = append(out, buf[:n]...)
	}
	return out, nil
}

// writeInBackground runs writeBodies on its own goroutine; the function
// it returns waits for it and returns what writeBodies did.
func writeInBackground(c net.Conn, count int) func() (loans int, err error) {
	type result struct {
		loans int
		err   error
	}
	done := make(chan result, 1)
	go func() {
		n, err := writeBodies(c, count)
		done <- result{n, err}
	}()
	return func() (int, error) {
		r := <-done
		return r.loans, r.err
	}
}

func TestLoanRoundTrip(t *testing.T) {
	testutil.CheckGoroutines(t)
	a, d := rawConns(t, "")
	const count = 120
	written := writeInBackground(a, count)
	got, err := readBodies(d, count)
	if err != nil {
		t.Fatal(err)
	}
	sent, err := written()
	if err != nil {
		t.Fatal(err)
	}
	// A loan fails when all 16 slots are out, so not every large body
	// goes by loan.
	if sent < count/2 || got == 0 || got > sent {
		t.Fatalf("%d sent by loan, %d taken by loan, of %d", sent, got, count)
	}
	t.Logf("%d of %d bodies lent, %d taken in place", sent, count, got)
}

// TestLoanPlainRead: a reader that never calls ReadLoan sees the exact
// byte stream, and the slots come back as it reads them.
func TestLoanPlainRead(t *testing.T) {
	testutil.CheckGoroutines(t)
	a, d := rawConns(t, "?slots=2&slotsize=1114112")
	const count = 60
	written := writeInBackground(a, count)
	want := expectedStream(count)
	got, err := readPlain(d, len(want))
	if err != nil {
		t.Fatal(err)
	}
	sent, err := written()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("stream differs")
	}
	if sent <= 2 {
		t.Fatalf("only %d of %d bodies lent through 2 slots: slots not given back", sent, count)
	}
}

func TestLoanExhausted(t *testing.T) {
	testutil.CheckGoroutines(t)
	a, d := rawConns(t, "?slots=4&slotsize=65536")
	la, ld := a.(socket.LoanConn), d.(socket.LoanConn)
	if la.LoanMin() != shm.LoanMin || ld.LoanMin() != shm.LoanMin {
		t.Fatalf("LoanMin %d, %d", la.LoanMin(), ld.LoanMin())
	}
	if _, ok := la.Loan(shm.LoanMin - 1); ok {
		t.Fatal("loan below LoanMin")
	}
	if _, ok := la.Loan(65537); ok {
		t.Fatal("loan above the slot size")
	}
	if err := la.WriteLoan(nil, make([]byte, 65536)); !errors.Is(err, socket.ErrBadState) {
		t.Fatalf("WriteLoan of a foreign buffer: %v", err)
	}
	for i := range 4 {
		buf, ok := la.Loan(65536)
		if !ok {
			t.Fatalf("loan %d of 4 refused", i)
		}
		copy(buf, bodyOf(i, 65536))
		if err := la.WriteLoan([]byte{byte(i)}, buf); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := la.Loan(65536); ok {
		t.Fatal("a fifth loan of four slots")
	}
	var releases []func()
	for i := range 4 {
		var b [1]byte
		if _, err := io.ReadFull(d, b[:]); err != nil || b[0] != byte(i) {
			t.Fatalf("head %d: %v %v", i, b, err)
		}
		body, release, ok := readLoan(ld, 65536)
		if !ok || !bytes.Equal(body, bodyOf(i, 65536)) {
			t.Fatalf("loan %d: ok %v", i, ok)
		}
		releases = append(releases, release)
	}
	if _, ok := la.Loan(65536); ok {
		t.Fatal("a loan while the peer holds all slots")
	}
	releases[2]()
	buf, ok := la.Loan(65536)
	if !ok {
		t.Fatal("no loan after a release")
	}
	if _, ok := la.Loan(65536); ok {
		t.Fatal("two loans after one release")
	}
	// Inline bytes come next: ReadLoan says no and Read gets them.
	a.Write([]byte("inline"))
	if _, _, ok := ld.ReadLoan(6); ok {
		t.Fatal("ReadLoan took inline bytes")
	}
	if got, _ := readPlain(d, 6); string(got) != "inline" {
		t.Fatalf("read %q", got)
	}
	if err := la.WriteLoan(nil, buf); err != nil {
		t.Fatal(err)
	}
	for _, r := range releases {
		r()
	}
}

// TestLoanReleaseAfterClose: bodies stay readable after both ends close,
// and the mapping goes once the last is released.
func TestLoanReleaseAfterClose(t *testing.T) {
	testutil.CheckGoroutines(t)
	a, d := rawConns(t, "?slots=4&slotsize=131072")
	la, ld := a.(socket.LoanConn), d.(socket.LoanConn)
	var bodies [][]byte
	var releases []func()
	for i := range 3 {
		buf, ok := la.Loan(100000)
		if !ok {
			t.Fatal("no loan")
		}
		copy(buf, bodyOf(i, 100000))
		if err := la.WriteLoan(nil, buf); err != nil {
			t.Fatal(err)
		}
		body, release, ok := readLoan(ld, 100000)
		if !ok {
			t.Fatal("ReadLoan refused a loan")
		}
		bodies, releases = append(bodies, body), append(releases, release)
	}
	// A buffer from Loan stays writable across Close, until WriteLoan.
	lent, ok := la.Loan(100000)
	if !ok {
		t.Fatal("no fourth loan")
	}
	a.Close()
	d.Close()
	if m, _ := mappings(t); m != 2 {
		t.Fatalf("%d mappings after Close with loans out, want 2", m)
	}
	copy(lent, bodyOf(9, 100000))
	if err := la.WriteLoan(nil, lent); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("WriteLoan after Close: %v", err)
	}
	if m, _ := mappings(t); m != 1 {
		t.Fatalf("%d mappings after the last WriteLoan, want 1", m)
	}
	var wg sync.WaitGroup
	for i := range bodies {
		if !bytes.Equal(bodies[i], bodyOf(i, 100000)) {
			t.Fatalf("body %d differs after Close", i)
		}
		wg.Add(1)
		go func() { defer wg.Done(); releases[i]() }()
	}
	wg.Wait()
	releases[0]() // a second release does nothing
	if m, f := mappings(t); m != 0 || f != 0 {
		t.Fatalf("%d mappings, %d memfds after the last release", m, f)
	}
}

func TestLoanNoPool(t *testing.T) {
	a, d := rawConns(t, "?slots=0")
	la, ld := a.(socket.LoanConn), d.(socket.LoanConn)
	if _, ok := la.Loan(shm.LoanMin); ok {
		t.Fatal("loan without a pool")
	}
	if la.LoanMin() != math.MaxInt {
		t.Fatalf("LoanMin %d without a pool", la.LoanMin())
	}
	a.Write([]byte("x"))
	if _, _, ok := ld.ReadLoan(1); ok {
		t.Fatal("ReadLoan without a pool")
	}
	if err := shm.WriteBadLoan(a, 0, 1, 0, 1); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 10)
	if n, err := d.Read(buf); n != 1 || err != nil {
		t.Fatalf("read %d, %v", n, err)
	}
	var ce *shm.CorruptError
	if _, err := d.Read(buf); !errors.As(err, &ce) {
		t.Fatalf("loan record without a pool: %v", err)
	}
}

// loanHelper is the peer process of the cross-process loan tests.
func loanHelper(ctx context.Context, quit <-chan struct{}, role, url string, count int) error {
	c, err := shm.DialRaw(ctx, strings.TrimPrefix(url, "shm://"))
	if err != nil {
		return err
	}
	defer c.Close()
	lc := c.(socket.LoanConn)
	switch role {
	case "loanwrite":
		if _, err := writeBodies(c, count); err != nil {
			return err
		}
	case "loanbench":
		// Send 1 MiB bodies until the parent closes: by loan (count 0,
		// waiting for a free slot) or by 64 KiB writes (count 1).
		body := bodyOf(0, 1<<20)
		for {
			if count == 0 {
				buf, ok := lc.Loan(1 << 20)
				for !ok {
					runtime.Gosched()
					if buf, ok = lc.Loan(1 << 20); !ok && ctx.Err() != nil {
						return nil
					}
				}
				copy(buf, body)
				if lc.WriteLoan(nil, buf) != nil {
					return nil
				}
				continue
			}
			for off := 0; off < len(body); off += 64 << 10 {
				if _, err := c.Write(body[off : off+64<<10]); err != nil {
					return nil
				}
			}
		}
	case "loanhold":
		// Lend count bodies, take count loans and hold them, then say so.
		if _, err := writeBodies(c, count); err != nil {
			return err
		}
		for i := range count {
			if _, _, ok := lc.ReadLoan(100000); !ok {
				return fmt.Errorf("loan %d not taken", i)
			}
		}
		if _, err := c.Write([]byte("k")); err != nil {
			return err
		}
	case "badloan":
		// The SP header of a PUSH socket, a good message, then a bad loan.
		c.Write([]byte{0, 'S', 'P', 0, 0, 0x50, 0, 0})
		c.Write([]byte{0, 0, 0, 0, 0, 0, 0, 2, 'o', 'k'})
		time.Sleep(50 * time.Millisecond)
		c.Write([]byte{0, 0, 0, 0, 0, 1, 0, 0})
		var err error
		switch count {
		case 0:
			err = shm.WriteBadLoan(c, 999, 1, 0, 65536) // no such slot
		case 1:
			err = shm.WriteBadLoan(c, 0, 7, 0, 65536) // wrong generation
		default:
			err = shm.WriteBadLoan(c, 0, 1, 65536, 1<<20+65536) // past the slot
		}
		if err != nil {
			return err
		}
	case "badrelease":
		// Take one loan, give back one that was never made, then say so.
		if _, _, ok := lc.ReadLoan(100000); !ok {
			return errors.New("no loan")
		}
		shm.WriteBadRelease(c, 1<<32|5)
		if _, err := c.Write([]byte("r")); err != nil {
			return err
		}
	}
	select {
	case <-quit:
	case <-ctx.Done():
	}
	return nil
}

// acceptRaw listens on a fresh path and starts a helper in role that dials
// it; it returns the accepted end.
func acceptRaw(t *testing.T, role string, count int) (net.Conn, *peer) {
	url := shmURL(t)
	l := must(shm.ListenRaw(strings.TrimPrefix(url, "shm://")))
	defer l.Close()
	p := startPeer(t, role, url, "sp", count)
	c, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, p
}

func TestLoanCrossProcess(t *testing.T) {
	t.Run("ReadLoan", func(t *testing.T) {
		t.Parallel()
		c, _ := acceptRaw(t, "loanwrite", 100)
		got, err := readBodies(c, 100)
		if err != nil {
			t.Fatal(err)
		}
		if got < 30 {
			t.Fatalf("only %d of 100 bodies taken in place", got)
		}
	})
	t.Run("Read", func(t *testing.T) {
		t.Parallel()
		c, _ := acceptRaw(t, "loanwrite", 60)
		want := expectedStream(60)
		got, err := readPlain(c, len(want))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatal("stream differs")
		}
	})
}

// TestLoanPeerKilled: the peer dies holding our loans and having lent us
// bodies. Ours stay readable until released; the connection ends; nothing
// is left once we close and release.
func TestLoanPeerKilled(t *testing.T) {
	t.Parallel()
	c, p := acceptRaw(t, "loanhold", 4)
	lc := c.(socket.LoanConn)
	var bodies [][]byte
	var releases []func()
	for i := range 4 {
		var hdr [8]byte
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			t.Fatal(err)
		}
		n := bodySize(i)
		body, release, ok := readLoan(lc, n)
		if !ok {
			t.Fatalf("body %d not lent", i)
		}
		bodies, releases = append(bodies, body), append(releases, release)
	}
	for i := range 4 {
		buf, ok := lc.Loan(100000)
		if !ok {
			t.Fatalf("loan %d refused", i)
		}
		if err := lc.WriteLoan(nil, buf); err != nil {
			t.Fatal(err)
		}
	}
	var k [1]byte
	if _, err := io.ReadFull(c, k[:]); err != nil || k[0] != 'k' {
		t.Fatalf("peer's go-ahead: %q, %v", k, err)
	}
	p.kill()
	if _, err := c.Read(k[:]); err != io.EOF {
		t.Fatalf("read after the peer died: %v", err)
	}
	if _, ok := lc.Loan(100000); ok {
		t.Fatal("loan to a dead peer")
	}
	if _, err := c.Write(k[:]); !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("write to a dead peer: %v", err)
	}
	for i, b := range bodies {
		if !bytes.Equal(b, bodyOf(i, bodySize(i))) {
			t.Fatalf("body %d changed", i)
		}
	}
	c.Close()
	for _, r := range releases {
		r()
	}
	deadline := time.Now().Add(timeout)
	for {
		// Other tests run in parallel: ask this connection.
		if !shm.Mapped(c) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("mapping left after Close and the last release")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestLoanPeerScribbles: a peer that sends bad loan records fails its own
// pipe with a *shm.CorruptError; a good peer's pipe on the same socket goes
// on.
func TestLoanPeerScribbles(t *testing.T) {
	for v, name := range []string{"bad slot", "bad generation", "past the slot"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := must(pull.New())
			ev := s.Events(256)
			url := listen(t, s)
			startPeer(t, "push", url, "sp", 1)
			if got := recvString(t, s); got != "0" {
				t.Fatalf("got %q", got)
			}
			startPeer(t, "badloan", url, "sp", v)
			if got := recvString(t, s); got != "ok" {
				t.Fatalf("got %q", got)
			}
			e := waitEvent(t, ev, socket.EventDisconnected, func(e socket.Event) bool { return e.Err != nil })
			var ce *shm.CorruptError
			if !errors.As(e.Err, &ce) || !errors.Is(e.Err, socket.ErrProtocol) {
				t.Fatalf("disconnect error %v, want a *shm.CorruptError", e.Err)
			}
			waitPipes(t, s, 1)
		})
	}
}

// TestLoanBadRelease: a peer that gives back a slot it was never lent
// fails the connection, on the lender's next Loan and write.
func TestLoanBadRelease(t *testing.T) {
	t.Parallel()
	c, _ := acceptRaw(t, "badrelease", 0)
	lc := c.(socket.LoanConn)
	buf, ok := lc.Loan(100000)
	if !ok {
		t.Fatal("no loan")
	}
	if err := lc.WriteLoan(nil, buf); err != nil {
		t.Fatal(err)
	}
	var r [1]byte
	if _, err := io.ReadFull(c, r[:]); err != nil || r[0] != 'r' {
		t.Fatalf("peer's go-ahead: %q, %v", r, err)
	}
	if _, ok := lc.Loan(100000); ok {
		t.Fatal("loan after a bad release")
	}
	var ce *shm.CorruptError
	if _, err := c.Write(r[:]); !errors.As(err, &ce) || !errors.Is(err, socket.ErrProtocol) {
		t.Fatalf("write after a bad release: %v", err)
	}
	if _, err := c.Read(r[:]); !errors.As(err, &ce) {
		t.Fatalf("read after a bad release: %v", err)
	}
}

// BenchmarkBody1MCrossProcess receives 1 MiB bodies from a peer process on
// a bare stream and reports bytes/s: lent (taken in place with ReadLoan and
// released, after a look at both ends) or written in 64 KiB writes through
// the ring (read into a buffer).
func BenchmarkBody1MCrossProcess(b *testing.B) {
	for mode, name := range []string{"loan", "write"} {
		b.Run(name, func(b *testing.B) {
			url := shmURL(b)
			l := must(shm.ListenRaw(strings.TrimPrefix(url, "shm://")))
			defer l.Close()
			startPeer(b, "loanbench", url, "", mode)
			c := must(l.Accept())
			defer c.Close()
			lc := c.(socket.LoanConn)
			in := make([]byte, 1<<20)
			want := bodyOf(0, 1<<20)
			b.SetBytes(1 << 20)
			b.ResetTimer()
			for range b.N {
				if mode == 0 {
					body, release, ok := readLoan(lc, 1<<20)
					if !ok {
						b.Fatal("body not lent")
					}
					if body[0] != want[0] || body[len(body)-1] != want[len(want)-1] {
						b.Fatal("body differs")
					}
					release()
					continue
				}
				if _, err := io.ReadFull(c, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestReadLoanWaits: ReadLoan waits for the next record as Read does, ends
// at its deadline (and Read then reports it), and Close wakes it.
func TestReadLoanWaits(t *testing.T) {
	testutil.CheckGoroutines(t)
	for _, params := range []string{"", "?spin=0"} {
		t.Run("spin"+params, func(t *testing.T) {
			a, d := rawConns(t, params)
			la, ld := a.(socket.LoanConn), d.(socket.LoanConn)
			d.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
			if _, _, ok := ld.ReadLoan(shm.LoanMin); ok {
				t.Fatal("ReadLoan with nothing sent")
			}
			if _, err := d.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("read past its deadline: %v", err)
			}
			d.SetReadDeadline(time.Time{})
			go func() {
				time.Sleep(30 * time.Millisecond)
				buf, ok := la.Loan(shm.LoanMin)
				if !ok {
					t.Error("no loan")
					return
				}
				copy(buf, bodyOf(5, shm.LoanMin))
				la.WriteLoan(nil, buf)
			}()
			body, release, ok := readLoan(ld, shm.LoanMin)
			if !ok || !bytes.Equal(body, bodyOf(5, shm.LoanMin)) {
				t.Fatalf("parked ReadLoan: ok %v", ok)
			}
			release()
			done := make(chan bool)
			go func() { _, _, ok := ld.ReadLoan(shm.LoanMin); done <- ok }()
			time.Sleep(30 * time.Millisecond)
			d.Close()
			if <-done {
				t.Fatal("ReadLoan after Close")
			}
		})
	}
}

// TestLoanCloseRaces closes connections while bodies are lent, read in
// place, copied out and released from other goroutines: every call
// returns, no body is touched after its mapping is gone (a fault would
// kill the test), and nothing is left once all are released.
func TestLoanCloseRaces(t *testing.T) {
	testutil.CheckGoroutines(t)
	for i := range 20 {
		a, d := rawConns(t, "?slots=4&slotsize=65536&ring=65536&spin="+[]string{"0", "50us"}[i%2])
		var wg sync.WaitGroup
		for _, c := range []net.Conn{a, d} {
			lc := c.(socket.LoanConn)
			wg.Add(2)
			go func() {
				defer wg.Done()
				for {
					if buf, ok := lc.Loan(65536); ok {
						buf[0], buf[65535] = 1, 2
						if lc.WriteLoan([]byte{7}, buf) != nil {
							return
						}
					} else if _, err := c.Write(make([]byte, 65537)); err != nil {
						return
					}
				}
			}()
			go func() {
				defer wg.Done()
				var hdr [1]byte
				for k := 0; ; k++ {
					if _, err := c.Read(hdr[:]); err != nil {
						return
					}
					if hdr[0] != 7 {
						continue // inline bytes
					}
					body, release, ok := readLoan(lc, 65536)
					if !ok {
						continue // comes through Read
					}
					wg.Add(1)
					go func() {
						defer wg.Done()
						if k%3 == 0 {
							time.Sleep(time.Millisecond)
						}
						if body[0] != 1 || body[65535] != 2 {
							t.Error("body changed")
						}
						release()
					}()
				}
			}()
		}
		time.Sleep(time.Duration(i%5) * time.Millisecond)
		[]net.Conn{a, d}[i%2].Close()
		[]net.Conn{a, d}[(i+1)%2].Close()
		wg.Wait()
		if shm.Mapped(a) || shm.Mapped(d) {
			t.Fatal("mapping left after Close and every release")
		}
	}
	if m, f := mappings(t); m != 0 || f != 0 {
		t.Errorf("%d mappings and %d memfds left", m, f)
	}
}

// A burst of large bodies leaves its slots in memory only for a while: once
// free for the trim delay, all but the two most recently freed give their
// pages back, the trim timer stops, and a trimmed slot carries the next
// body intact.
func TestIdleSlotsTrimmed(t *testing.T) {
	testutil.CheckGoroutines(t)
	defer shm.SetTrimIdle(100 * time.Millisecond)()
	const slots, size = 8, 1 << 20
	a, d := rawConns(t, fmt.Sprintf("?slots=%d&slotsize=%d", slots, size+64<<10))
	la, ld := a.(socket.LoanConn), d.(socket.LoanConn)
	lend := func(i int) {
		t.Helper()
		buf, ok := la.Loan(size)
		if !ok {
			t.Fatalf("no slot for body %d", i)
		}
		copy(buf, bodyOf(i, size))
		if err := la.WriteLoan(nil, buf); err != nil {
			t.Fatal(err)
		}
	}
	take := func(i int) {
		t.Helper()
		body, release, ok := readLoan(ld, size)
		if !ok || !bytes.Equal(body, bodyOf(i, size)) {
			t.Fatalf("body %d: lent %v, intact %v", i, ok, ok && bytes.Equal(body, bodyOf(i, size)))
		}
		release()
	}
	for i := range slots { // all slots out at once
		lend(i)
	}
	for i := range slots {
		take(i)
	}
	if n, _ := shm.PoolResident(a); n < slots*size {
		t.Fatalf("%d bytes of the pool in memory after a burst over every slot, want at least %d", n, slots*size)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, armed := shm.PoolResident(a)
		if n <= 2*(size+64<<10) && !armed {
			t.Logf("%d bytes in memory after the trim", n)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d bytes of the pool still in memory (timer armed: %v), want at most two slots", n, armed)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for i := range slots { // every slot again, trimmed ones too
		lend(100 + i)
	}
	for i := range slots {
		take(100 + i)
	}
}

// readLoan is ReadLoan with the loan's release as a function, as these
// tests use it.
func readLoan(lc socket.LoanConn, n int) ([]byte, func(), bool) {
	body, token, ok := lc.ReadLoan(n)
	return body, func() { lc.ReleaseLoan(token) }, ok
}
