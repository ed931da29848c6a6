package socket

import (
	"context"
	"sync/atomic"
)

// The consumers' side of the RecvQueue (recvqueue.go): taking messages,
// reading ahead of them, and waking the producers that wait for room.

// Get waits for a message until ctx ends or the socket closes.
func (q *RecvQueue) Get(ctx context.Context) (*Message, error) {
	q.init()
	if m := q.tryGet(); m != nil {
		return m, nil
	}
	if err := q.s.ReadThrough(ctx, q.nonEmpty); err != nil {
		return q.lastLook(ctx, err)
	}
	if m := q.tryGet(); m != nil {
		return m, nil
	}
	q.cwaiting.Add(1)
	q.s.RecvWaiting(1)
	defer func() {
		q.cwaiting.Add(-1)
		q.s.RecvWaiting(-1)
	}()
	for {
		// Look again now that producers can see us waiting: what they
		// queued before that, they did not signal.
		if m := q.tryGet(); m != nil {
			return m, nil
		}
		select {
		case <-q.notEmpty:
		case <-ctx.Done():
			return q.lastLook(ctx, ctxErr(ctx))
		case <-q.s.closing:
			return nil, ErrClosed
		}
	}
}

// lastLook is Get's end when it would fail with err. If ctx has ended and
// inproc senders queued messages for this socket that their pipes' readers
// are still delivering, it waits briefly for them: a receive that does not
// wait sees a message sent to it before it began, as with libzmq's inproc
// and ZMQ_DONTWAIT, even at a pipe's start-up, when the first messages go
// through the receiving pipe's goroutine.
func (q *RecvQueue) lastLook(ctx context.Context, err error) (*Message, error) {
	if ctx.Err() != nil && q.s.awaitInproc(q.nonEmpty) {
		if m := q.tryGet(); m != nil {
			return m, nil
		}
	}
	return nil, err
}

// readAheadMax is how many queued messages a consumer reads ahead.
const readAheadMax = 16

// warmSink keeps readAhead's loads from being optimized away.
var warmSink atomic.Uint32

// readAhead reads a word of each queued message from h up to t (at most
// readAheadMax of them), one right after the other, and returns where it
// stopped. A message that a producer on another core has just written is a
// cache miss for the consumer. Misses taken back to back overlap; one per
// Get would each wait for the one before, since no load can pass the locked
// instructions between two Gets. Measured on inproc push/pull of 64 B (2
// cores): 5.3 M msg/s without, 7.6 M with. The caller holds cmu.
func (q *RecvQueue) readAhead(h, t uint64) uint64 {
	t = min(t, h+readAheadMax)
	var x uint32
	for i := h; i < t; i++ {
		e := &q.slots[i&q.mask]
		if e.m != nil {
			x += uint32(len(e.m.Body))
		} else if e.n > 0 { // an empty span may start at its chunk's end
			x += uint32(e.c.buf[e.off])
		}
	}
	if x == 1<<31 { // so that the loads are used; seldom true, harmless then
		warmSink.Store(x)
	}
	return t
}

// TryGet returns the next message if one waits, or nil, without waiting
// or reading through (TryReceiver).
func (q *RecvQueue) TryGet() *Message {
	q.init()
	return q.tryGet()
}

// nonEmpty reports whether a message waits.
func (q *RecvQueue) nonEmpty() bool {
	if c := q.confl.Load(); c != nil && c.waiting.Load() > 0 {
		return true
	}
	return q.head.Load() != q.tail.Load()
}

// makeRoom wakes the producers waiting for room: those in putWait, and
// the inproc senders of TryPutFrom.
func (q *RecvQueue) makeRoom() {
	var buf [4]*Pipe
	q.pmu.Lock()
	if q.room != nil {
		close(q.room)
		q.room = nil
	}
	ps := append(buf[:0], q.notify...)
	clear(q.notify)
	q.notify = q.notify[:0]
	q.pmu.Unlock()
	for _, p := range ps {
		p.roomWait.Store(false)
		p.rshare.waiting.Add(-1)
		q.pwaiting.Add(-1)
		p.port.Taken() // the sender's socket: its Send tries again
	}
}

// headEvery is how many takes may go by before the consumers publish
// their head (RecvQueue.hcons).
const headEvery = 16

// tryGet returns the next message, or nil if there is none.
func (q *RecvQueue) tryGet() *Message {
	if c := q.confl.Load(); c != nil && c.waiting.Load() > 0 { // under Conflate, or just after it
		if m := c.take(); m != nil {
			return m
		}
	}
	q.cmu.Lock()
	h := q.hcons
	if h == q.tailSeen {
		if q.tailSeen = q.tail.Load(); h == q.tailSeen {
			q.cmu.Unlock()
			return nil
		}
	}
	if h >= q.warmed {
		q.warmed = q.readAhead(h, q.tailSeen)
	}
	e := q.slots[h&q.mask]
	q.slots[h&q.mask] = entry{}
	q.hcons = h + 1
	more := h+1 != q.tailSeen
	if !more || (h+1)%headEvery == 0 {
		q.head.Store(h + 1)
	}
	var m *Message
	if e.m == nil {
		m = q.takeStashed(classOf(int(e.n)))
		if e.n <= letGoCopyMax {
			e.m = e.copySpan(m)
			q.letGoLater(e.c)
		}
	}
	if !more {
		q.letGoRun()
	}
	wake := q.countTaken(q.shareOf(e.p), e.n, more)
	shrink := !more && q.mayShrink()
	q.cmu.Unlock()
	if wake || !more && q.pwaiting.Load() > 0 {
		q.makeRoom()
	}
	if shrink {
		q.shrink()
	}
	if more && q.cwaiting.Load() > 0 {
		// Another consumer waits while messages are left: pass the token.
		q.wakeConsumer()
	}
	return e.messageIn(m)
}

// letGoCopyMax is the largest span tryGet copies out under cmu, letting go
// of it with the run of its chunk's spans (letGoLater); larger ones are
// copied after cmu is unlocked, so that consumers copy them side by side.
const letGoCopyMax = 1024

// letGoLater counts a span of c that has been copied out as let go, to be
// let go at once with the rest of its run: when a span of another chunk is
// taken, or the queue looks empty. (A reader that finds its chunk's spans
// all let go starts the chunk again from its front; it looks when it
// reads, after the queue was emptied.) The caller holds cmu.
func (q *RecvQueue) letGoLater(c *chunk) {
	if c != q.letChunk {
		q.letGoRun()
		q.letChunk = c
	}
	q.letN++
}

// letGoRun lets go of the spans letGoLater counted; the caller holds cmu.
func (q *RecvQueue) letGoRun() {
	if q.letN > 0 {
		q.letChunk.unrefN(q.letN)
	}
	q.letChunk, q.letN = nil, 0
}
