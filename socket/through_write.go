package socket

import (
	"errors"
	"net"
	"os"
	"sync/atomic"
	"time"
	"unsafe"
)

// The write half of reading and writing through (see through.go): the
// application writing its own messages while it holds the write turn.

// writeThrough writes m on the application's goroutine when the pipe's
// application reads through and nothing is queued or being written ahead
// of m; it reports whether it took m. What the connection does not take at
// once is left to the writer goroutine, with m when part of a large body
// is still to go.
func (p *Pipe) writeThrough(m *Message) bool {
	if st := p.rstate.Load(); p.tryWriter == nil || st != rsApp && st != rsAway {
		return false // first, as it is on every message of a send-only socket
	}
	if p.loanMin > 0 && m.Len() >= p.loanMin {
		return false // large bodies on a loaning connection go by loan
	}
	if p.sealed != nil && m.Len() > sealedThroughMax {
		return false // see sealedThroughMax
	}
	if p.syscallWrites && p.inBurst() {
		return false // a burst: queued, for the writer to batch
	}
	q := p.sendq
	if !q.claim() {
		return false
	}
	if p.syscallWrites {
		p.throughs.Add(1)
		// What was read before the write counts; what arrives during it
		// comes after it.
		p.inAtThrough.Store(p.cnt.msgsIn.Load())
		defer func() { p.lastThrough.Store(monoNow()) }()
	}
	w := p.throughWriter()
	w.codec.appendMessage(w, m)
	w.iov = append(w.iov[:0], w.segs...)
	if w.segStart < len(w.buf) {
		w.iov = append(w.iov, w.buf[w.segStart:])
	}
	n, err := p.tryThrough(w)
	size := uint64(m.Len())
	var left net.Buffers
	keep := false
	if err == nil {
		left, keep = unwritten(w.iov, n, w.buf)
		if keep && p.sealed == nil {
			if left, err = p.finishThrough(left); err != nil || len(left) == 0 {
				left, keep = nil, false
			}
		}
		left = p.leftAfterTry(left)
	}
	clear(w.segs)
	w.segs, w.buf, w.segStart = w.segs[:0], w.buf[:0], 0
	clear(w.iov)
	w.release()
	if keep {
		q.release(left, m) // the writer frees m once the rest is out
	} else {
		m.Free()
		q.release(left, nil)
	}
	if err != nil {
		p.cnt.drops[DropClosed].Add(1)
		p.closeForWrite(err)
		return true
	}
	p.cnt.msgsOut.Add(1)
	p.cnt.bytesOut.Add(size)
	return true
}

// inBurst reports whether a send comes as part of a burst: nothing has
// been read since the last write through, which ended less than
// throughBurstGap ago. A burst goes to the writer goroutine, which writes
// it in a few system calls where writing through would make one for each
// message. A request and its reply never look like one: the reply is
// read in between.
func (p *Pipe) inBurst() bool {
	return p.cnt.msgsIn.Load() == p.inAtThrough.Load() && monoNow()-p.lastThrough.Load() < throughBurstGap.Load()
}

// throughBurstGap is how soon (ns) after a write through a send with
// nothing read in between counts as a burst (inBurst). A system call costs
// a few microseconds; sends closer than 20 us are worth batching. A
// variable for the tests (SetThroughBurstGap).
var throughBurstGap atomic.Int64

func init() { throughBurstGap.Store(int64(20 * time.Microsecond)) }

// monoNow is a monotonic clock reading in nanoseconds.
func monoNow() int64 { return int64(time.Since(monoStart)) }

var monoStart = time.Now()

// throughWriter returns the writer the application writes with while it
// holds the write turn, with a buffer.
func (p *Pipe) throughWriter() *streamWriter {
	if p.tw == nil {
		p.tw = newStreamWriter(p)
	}
	p.tw.acquire()
	return p.tw
}

// flushFull writes the front of p's full send queue on the application's
// goroutine, when the writer goroutine is idle, and reports whether it
// did (and so made room). The writer would encode, on another core,
// messages the application has just made on this one: each a cache miss
// there, and a core the receiver needs. Until the tail timer fires, the
// writer is not woken for what is queued behind (sendQueue.deferring), so
// an application that keeps its queue full writes every batch itself.
// What the connection does not take goes to the writer, as for a
// write-through.
func (p *Pipe) flushFull() bool {
	if p.tryWriter == nil || p.closing.Load() {
		return false
	}
	q := p.sendq
	ms := q.claimFront(p.codec, p.loanMin)
	if len(ms) == 0 {
		return false
	}
	w := p.throughWriter()
	var size uint64
	for _, m := range ms {
		w.codec.appendMessage(w, m)
		size += uint64(m.Len())
	}
	w.iov = append(w.iov[:0], w.buf)
	n, err := p.tryWriter.TryWrite(w.iov)
	var left net.Buffers
	if err == nil && n < len(w.buf) {
		// The connection is full: go on writing for a while, as the
		// application's Send would otherwise wait for room anyway, and
		// leave the writer what is still left then.
		w.iov = append(w.iov[:0], w.buf[n:])
		if p.sealed != nil {
			left, _ = unwritten(w.iov, 0, w.buf)
		} else if left, err = p.finishThrough(w.iov); err == nil && len(left) > 0 {
			left, _ = unwritten(left, 0, w.buf)
		} else {
			left = nil
		}
	}
	if err == nil {
		left = p.leftAfterTry(left)
	}
	clear(w.iov)
	w.buf = w.buf[:0]
	w.release()
	freeMessages(ms)
	q.front = ms[:0]
	q.release(left, nil)
	if err != nil {
		p.cnt.drops[DropClosed].Add(uint64(len(ms)))
		p.closeForWrite(err)
	} else {
		p.cnt.msgsOut.Add(uint64(len(ms)))
		p.cnt.bytesOut.Add(size)
	}
	p.sock.signalReady() // room for other senders too
	return true
}

// tryThrough writes what the connection takes of w.iov at once, in two
// writes when the writer splits a large body's batch (see splitLeadMin).
func (p *Pipe) tryThrough(w *streamWriter) (int, error) {
	if !w.split(w.iov) {
		return p.tryWriter.TryWrite(w.iov)
	}
	defer w.clearSplit()
	n, err := p.tryWriter.TryWrite(w.lead)
	if err != nil || n < buffersLen(w.lead) {
		return n, err
	}
	k, err := p.tryWriter.TryWrite(w.rest)
	return n + k, err
}

// throughFinish is how long an application that wrote a large message
// through goes on writing what the connection did not take at once, waiting
// for the peer to read, before it leaves the rest to the writer goroutine.
const throughFinish = 20 * time.Millisecond

// finishThrough writes left, the rest of a message written through whose
// body is written in place, for up to throughFinish, and returns what is
// still left. Handing the rest to the writer goroutine at once costs a
// wake-up of another thread for every partial write, and for a large
// message those are much of a round trip: 1 MiB over ipc took 420-495 us
// one way with the hand-over and 295-390 us without. (A shorter time costs
// more than its expiries: with 2 ms, 3 writes in 600 ran out of it, and
// the round trip took as long as with the hand-over, as if a near
// deadline alone slowed the poller's waits; with 20 ms it did not.) So a
// Send of a large message to a peer that is not reading can take up to
// throughFinish.
func (p *Pipe) finishThrough(left net.Buffers) (net.Buffers, error) {
	p.conn.SetWriteDeadline(time.Now().Add(throughFinish))
	left, err := p.out.writeBuffers(left)
	p.conn.SetWriteDeadline(time.Time{})
	if errors.Is(err, os.ErrDeadlineExceeded) {
		err = nil // the writer goroutine goes on with the rest
	}
	return left, err
}

// unwritten returns what is left of iov after its first n bytes: parts in
// the write buffer buf are copied (buf goes back to its pool), other parts
// (large bodies) are kept in place, and keep says there are such parts.
func unwritten(iov net.Buffers, n int, buf []byte) (left net.Buffers, keep bool) {
	for _, b := range iov {
		if n >= len(b) {
			n -= len(b)
			continue
		}
		b = b[n:]
		n = 0
		if inBuffer(b, buf) {
			b = append([]byte(nil), b...)
		} else {
			keep = true
		}
		left = append(left, b)
	}
	return left, keep
}

// inBuffer reports whether b lies in buf's backing array.
func inBuffer(b, buf []byte) bool {
	if len(b) == 0 || cap(buf) == 0 {
		return false
	}
	start := &buf[:1][0]
	end := &buf[:cap(buf)][cap(buf)-1]
	p := &b[0]
	return uintptr(unsafe.Pointer(p)) >= uintptr(unsafe.Pointer(start)) &&
		uintptr(unsafe.Pointer(p)) <= uintptr(unsafe.Pointer(end))
}
