package socket

import (
	"bytes"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// TestLoanedMessage: a loan ends exactly once, by Free, Detach or the
// collector, and header words trimmed off a loaned body are copies.
func TestLoanedMessage(t *testing.T) {
	var released atomic.Int32
	shared := []byte("\x00\x00\x00\x07hello, loan")
	newLoan := func() *Message {
		return newLoanedMessage(shared, countReleases{&released}, 7)
	}

	m := newLoan()
	m.TrimHeader(4)
	shared[3] = 9 // the peer writes to the shared memory again
	if !bytes.Equal(m.Header, []byte{0, 0, 0, 7}) || string(m.Body) != "hello, loan" {
		t.Fatalf("header %x body %q", m.Header, m.Body)
	}
	shared[3] = 7
	m.Free()
	m.Free()
	if n := released.Load(); n != 1 {
		t.Fatalf("released %d times after Free, want 1", n)
	}

	m = newLoan()
	m.Detach()
	shared[4] = 'X'
	if m.Loaned() || released.Load() != 2 || string(m.Body) != string("\x00\x00\x00\x07hello, loan") {
		t.Fatalf("after Detach: loaned %v, released %d, body %q", m.Loaned(), released.Load(), m.Body)
	}
	shared[4] = 'h'
	m.Free()
	if released.Load() != 2 {
		t.Fatal("Free of a detached message released the loan again")
	}

	func() { _ = newLoan() }() // dropped without Free
	deadline := time.Now().Add(5 * time.Second)
	for released.Load() != 3 {
		if time.Now().After(deadline) {
			t.Fatal("the collector did not give a dropped loan back")
		}
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
}

// countReleases is a lender that counts what is given back to it.
type countReleases struct{ n *atomic.Int32 }

func (c countReleases) ReleaseLoan(token uint64) { c.n.Add(1) }

// TestLoanedPushFrame: frames put in front of a loaned body are copies, the
// first in the holder's room, the next in a slice of its own, so that
// neither overwrites the other; a holder used again has its room back.
func TestLoanedPushFrame(t *testing.T) {
	var released atomic.Int32
	shared := []byte("body")
	m := newLoanedMessage(shared, countReleases{&released}, 1)
	m.PushFrame([]byte("first"))
	m.PushFrame([]byte("second"))
	got := []string{string(m.Body)}
	for _, f := range m.Frames {
		got = append(got, string(f))
	}
	if want := "[second first body]"; fmt.Sprint(got) != want {
		t.Fatalf("frames %v, want %s", got, want)
	}
	m.Free()
	m = newLoanedMessage(shared, countReleases{&released}, 2)
	if m.loan.frameUsed {
		t.Fatal("a holder used again still has its frame room taken")
	}
	m.Free()
}
