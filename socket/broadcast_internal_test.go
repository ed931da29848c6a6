package socket

import (
	"bytes"
	"sync/atomic"
	"testing"
)

// A publication goes to stream pipes shared, not copied; a pipe that hands
// messages over by reference (inproc) and a loaned body get copies.
func TestShareForStreamPipesOnly(t *testing.T) {
	m := NewMessage(100)
	copy(m.Body, "publication")

	stream := &Pipe{}
	if c := shareFor(stream, m); c != m {
		t.Fatal("a stream pipe got a copy")
	}
	if !m.shared || m.shares.Load() != 1 {
		t.Fatalf("shared %v with %d other owners, want one", m.shared, m.shares.Load())
	}

	inproc := &Pipe{mp: nopPort{}}
	c := shareFor(inproc, m)
	if c == m || c.shared || !bytes.Equal(c.Body, m.Body) {
		t.Fatalf("inproc pipe: got %p (shared %v, body %q), want a copy of %p", c, c.shared, c.Body, m)
	}
	c.Free()

	// Both owners free it; only the last one's Free pools it.
	m.Free()
	if m.free || !m.shared {
		t.Fatal("the first Free of a shared message pooled it")
	}
	m.Free()
	if !m.free || m.shared {
		t.Fatal("the last Free did not pool the message")
	}

	lent := newLoanedMessage([]byte("lent"), countReleases{new(atomic.Int32)}, 1)
	if c := shareFor(stream, lent); c == lent || lent.shared {
		t.Fatal("a loaned body was shared")
	}
}

// nopPort marks a pipe as a message-transport pipe; it is never used.
type nopPort struct{ MessagePort }
