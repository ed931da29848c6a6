package socket

import (
	"fmt"
	"testing"
)

// testQueue returns a receive queue of RecvHWM hwm on a bare socket, and
// two pipes to put with.
func testQueue(hwm int64) (*RecvQueue, *Pipe, *Pipe) {
	s := &Socket{}
	s.cfg.recvHWM.Store(hwm)
	q := NewLazyRecvQueue(s)
	q.init()
	return q, &Pipe{sock: s, id: 1}, &Pipe{sock: s, id: 2}
}

// spans writes bodies into c one after the other and returns their entries,
// counted as the reader's spans.
func spans(c *chunk, p *Pipe, at int, bodies ...string) []entry {
	var es []entry
	for _, b := range bodies {
		n := copy(c.buf[at:], b)
		es = append(es, entry{c: c, off: uint32(at), n: uint32(n), p: p})
		c.span()
		at += n
	}
	return es
}

// A take copies small spans out and lets go of a run of them from one chunk
// at once: when the next span is another chunk's, or the queue looks empty.
// A large span is let go when it is taken. Nothing is let go before its
// bytes are copied, and every message holds its own bytes.
func TestRecvQueueLetsGoSpansInRuns(t *testing.T) {
	q, p, _ := testQueue(1000)
	// Chunks made here, not from the pool: the reader keeps its hold on
	// them (the bias), so that they never go back to the pool meanwhile.
	c1 := &chunk{buf: make([]byte, chunkSize)}
	c2 := &chunk{buf: make([]byte, chunkSize)}
	c1.refs.Store(chunkBias)
	c2.refs.Store(chunkBias)
	var want []string
	for i := range 40 {
		want = append(want, fmt.Sprintf("one-%02d", i))
	}
	big := string(make([]byte, letGoCopyMax+1))
	want = append(want, "two-a", "two-b", big, "two-c")
	es := spans(c1, p, 0, want[:40]...)
	es = append(es, spans(c2, p, 0, want[40:]...)...)
	if n := q.putSome(p, es); n != len(want) {
		t.Fatalf("put %d of %d", n, len(want))
	}
	// outstanding is how many of c's spans the queue has not let go.
	outstanding := func(c *chunk) int32 { return c.refs.Load() - (chunkBias - c.spans) }
	check := func(i int, c1Out, c2Out int32) {
		t.Helper()
		m := q.tryGet()
		if m == nil || string(m.Body) != want[i] {
			t.Fatalf("take %d: got %v, want %q", i, m, want[i])
		}
		m.Free()
		if a, b := outstanding(c1), outstanding(c2); a != c1Out || b != c2Out {
			t.Fatalf("after take %d: chunks hold %d and %d spans, want %d and %d", i, a, b, c1Out, c2Out)
		}
	}
	for i := range 40 {
		check(i, 40, 4) // c1's run is let go only when it ends
	}
	check(40, 0, 4) // a span of c2: c1's run of 40 let go at once
	check(41, 0, 4) // c2's run goes on
	check(42, 0, 3) // the large span: let go as it is taken
	check(43, 0, 0) // the queue is empty: c2's run of 3 let go
	if m := q.tryGet(); m != nil {
		t.Fatalf("a take from the empty queue got %q", m.Body)
	}
}

// The consumers publish their head only every headEvery takes, or when the
// queue looks empty; a producer that finds no room by the published head
// looks at the consumers' own before growing the ring, so that the lag
// grows nothing. An emptied queue reads as empty.
func TestRecvQueueHeadLagGrowsNothing(t *testing.T) {
	q, p1, p2 := testQueue(1024)
	size := q.mask + 1
	if size != 1024 {
		t.Fatalf("first ring size %d, want 1024", size)
	}
	msgs := func(p *Pipe, prefix string, n int) []entry {
		es := make([]entry, n)
		for i := range es {
			m := NewMessage(0)
			m.Body = fmt.Appendf(m.Body, "%s%d", prefix, i)
			es[i] = entry{m: m, p: p}
		}
		return es
	}
	if n := q.putSome(p1, msgs(p1, "a", 1024)); n != 1024 {
		t.Fatalf("put %d of 1024", n)
	}
	for i := range 20 {
		if m := q.tryGet(); m == nil || string(m.Body) != fmt.Sprint("a", i) {
			t.Fatalf("take %d: got %v", i, m)
		}
	}
	if pub := q.head.Load(); pub != 16 || q.hcons != 20 {
		t.Fatalf("head published at %d, taken to %d; want 16 and 20", pub, q.hcons)
	}
	// 20 more from another pipe (p1's share is full) fit in the slots
	// taken, though the published head says 4 of them are not free.
	if n := q.putSome(p2, msgs(p2, "b", 20)); n != 20 {
		t.Fatalf("put %d of 20", n)
	}
	if q.mask+1 != size {
		t.Fatalf("the ring grew to %d entries for a lagging head", q.mask+1)
	}
	for i := 20; i < 1024; i++ {
		if m := q.tryGet(); m == nil || string(m.Body) != fmt.Sprint("a", i) {
			t.Fatalf("take %d: got %v", i, m)
		}
	}
	for i := range 20 {
		if m := q.tryGet(); m == nil || string(m.Body) != fmt.Sprint("b", i) {
			t.Fatalf("take b%d: got %v", i, m)
		}
	}
	if q.nonEmpty() || q.head.Load() != q.hcons {
		t.Fatalf("emptied queue: nonEmpty %v, head published %d of %d", q.nonEmpty(), q.head.Load(), q.hcons)
	}
}

// What the reader of a closing pipe has read and not yet queued is dropped,
// unless the pipe closes only because a write failed: then the peer sent it
// before going away (a write to it, a PONG say, failing before the reader
// queued its last messages), and it is delivered while there is room.
func TestRecvQueueKeepsWhatWasReadWhenAWriteFailed(t *testing.T) {
	for _, writeFailed := range []bool{false, true} {
		t.Run(fmt.Sprint("write failed ", writeFailed), func(t *testing.T) {
			q, p, _ := testQueue(8)
			p.closing.Store(true)
			p.writeFailed.Store(writeFailed)
			es := []entry{{m: NewMessageBytes([]byte("a")), p: p}, {m: NewMessageBytes([]byte("b")), p: p}}
			q.putEntries(p, es)
			var got []string
			for m := q.tryGet(); m != nil; m = q.tryGet() {
				got = append(got, string(m.Body))
				m.Free()
			}
			dropped := p.cnt.drops[DropClosed].Load()
			switch {
			case writeFailed && (len(got) != 2 || dropped != 0):
				t.Errorf("a write failed: got %q, %d dropped; want both, none dropped", got, dropped)
			case !writeFailed && (len(got) != 0 || dropped != 2):
				t.Errorf("closed: got %q, %d dropped; want none, both dropped", got, dropped)
			}
		})
	}
}
