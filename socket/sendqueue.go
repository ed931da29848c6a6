package socket

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// sendQueue is a pipe's queue of messages to send, bounded in messages
// (SendHWM) and, on stream pipes, in bytes (SendQueueBytes). Senders push
// one message at a time; the one consumer (the pipe's writer, or an inproc
// peer's reader) takes everything queued at once, so that it touches the
// lock once per batch, and tells the queue when it has finished with what
// it took, so that a lingering Close knows when everything is out. What a
// stream writer took counts against SendQueueBytes until written, but no
// longer against SendHWM (as a writer's batch in libzmq no longer counts
// against its pipe's high-water mark); what an inproc reader took counts
// against both (boundHeld).
type sendQueue struct {
	mu    sync.Mutex
	items []*Message
	bytes int64 // of items
	held  int   // messages the consumer took and has not finished
	// heldBytes are held's bytes: they count against SendQueueBytes, so
	// that large messages being written and queued stay few enough to be
	// hot in cache (1 MiB over ipc and shm was a third slower without).
	heldBytes int64
	// boundHeld counts held messages against SendHWM: an inproc peer's
	// reader takes a batch and may wait to deliver it, so what it holds is
	// still queued as far as the sender can tell.
	boundHeld bool
	hwm       int
	maxBytes  int64 // 0: no byte bound
	// sleeping says the consumer found the queue empty and may wait on
	// wake; the next push gives it a token.
	sleeping bool
	wake     chan struct{}
	// turn says who writes on a stream pipe (through.go): the writer
	// goroutine, the application writing through, or nobody. leftover is
	// what the connection did not take of a write-through, for the writer
	// to write first; ctrlWait says the writer has a command to write and
	// waits for the application's turn to end.
	turn     writeTurn
	leftover partial
	ctrlWait bool
	// selfFlush: the application may write full queues itself (a
	// stream pipe whose connection takes writes that do not wait).
	selfFlush bool
	// deferring says the application wrote the last full queue itself
	// (Pipe.flushFull), or outpaced the writer: a push then does not wake
	// the writer, which would encode on another core what the application
	// just made, and the tail timer, armed by the first message queued
	// since, wakes it within tailDelay instead, for what the application
	// leaves when it stops sending.
	deferring   bool
	tailArmed   bool
	tail        *time.Timer
	lastClaim   time.Time  // of claimFront's last batch, which tailDue waits on
	front       []*Message // claimFront's slice, given back by the turn's holder
	selfFlushes int        // batches claimFront gave the application (tests read it)
	// A stream pipe's writer goroutine runs only while it has something
	// to write: it ends when it finds nothing (writerLeaves), and what
	// would have woken it starts another (startWriter, set for stream
	// pipes). writerGone says none runs; ended says the pipe is closing
	// and none is to start; stay says the socket lingers, and the writer
	// stays to close its pipe once the queue is empty.
	startWriter func()
	writerGone  bool
	ended       bool
	stay        bool
}

// tailDelay bounds how long messages queued behind an application's own
// flush wait for the writer when the application sends no more: 1 ms. It
// is a variable only so that tests can make it long (SetTailDelay), and
// atomic since timers of sockets closed by earlier tests may still read it.
func tailDelay() time.Duration { return time.Duration(tailDelayNs.Load()) }

var tailDelayNs atomic.Int64

func init() { tailDelayNs.Store(int64(time.Millisecond)) }

// writerIdle is how long a stream pipe's writer goroutine waits with
// nothing to write before it ends (between once and twice this): long
// enough that a connection with traffic keeps its writer, which a wake-up
// costs less than a new goroutine (a reply per request on a server with
// ten clients was about a tenth slower when each reply started one). A
// variable, atomic, for the tests (SetWriterIdle), as tailDelay is.
func writerIdle() time.Duration { return time.Duration(writerIdleNs.Load()) }

var writerIdleNs atomic.Int64

func init() { writerIdleNs.Store(int64(time.Second)) }

// partial is what the connection did not take of a write-through: bytes
// to write, in order, and the message whose body they may point into (nil
// if none), freed once they are out.
type partial struct {
	bufs net.Buffers
	m    *Message
}

// writeTurn is who writes a stream pipe's connection.
type writeTurn uint8

const (
	turnIdle writeTurn = iota
	turnWriter
	turnApp
)

func newSendQueue(hwm int, maxBytes int64) *sendQueue {
	return &sendQueue{hwm: hwm, maxBytes: maxBytes, wake: make(chan struct{}, 1)}
}

// push queues m, of n bytes, unless that would pass a bound (and not
// always), and reports whether it did. An empty queue takes any one
// message, however large.
func (q *sendQueue) push(m *Message, n int, always bool) bool {
	q.mu.Lock()
	if !always && !q.fits(n) {
		q.mu.Unlock()
		return false
	}
	q.items = append(q.items, m)
	q.bytes += int64(n)
	if n > copyLimit {
		q.deferring = false // the writer writes large bodies, at once
	}
	q.unlockSignal(q.kick()) // not while the application writes: it wakes it
	return true
}

// kick decides, when something was queued or left to write, whether the
// writer is to be woken now: not while it is awake or the application has
// the turn, and not while the application writes its own full queues
// (deferring), when the tail timer is armed instead. It clears sleeping
// when it says yes. q.mu is held.
func (q *sendQueue) kick() bool {
	if !q.sleeping || q.turn == turnApp {
		return false
	}
	if q.leftover.bufs == nil && !q.ctrlWait { // only messages to write, if any
		if len(q.items) == 0 {
			return false
		}
		if q.deferring {
			if !q.tailArmed {
				q.tailArmed = true
				if q.tail == nil {
					q.tail = time.AfterFunc(tailDelay(), q.tailDue)
				} else {
					q.tail.Reset(tailDelay())
				}
			}
			return false
		}
	}
	q.sleeping = false
	return true
}

// signal gives the writer its token.
func (q *sendQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// tailDue ends the application's deferral, and the writer writes what is
// left, unless the application claimed a batch within the last tailDelay:
// then it is still writing its own queue, and the timer waits for what
// follows its last claim. Waking the writer in the middle of a stream had
// it take over the queue, on another core, for the rest of the stream.
func (q *sendQueue) tailDue() {
	q.mu.Lock()
	if wait := tailDelay() - time.Since(q.lastClaim); wait > 0 && q.tail != nil {
		q.tail.Reset(wait)
		q.mu.Unlock()
		return
	}
	q.tailArmed = false
	q.unlockSignal(q.stopDeferring())
}

// endDeferral ends the application's deferral at once and wakes the
// writer for what is queued: the application is about to wait for a
// message, and what it queued last (a request, say, after a burst) must
// not wait for the tail timer.
func (q *sendQueue) endDeferral() {
	q.mu.Lock()
	q.unlockSignal(q.deferring && q.stopDeferring())
}

// stopDeferring ends the application's deferral and reports whether the
// writer is to be woken (kick); q.mu is held.
func (q *sendQueue) stopDeferring() bool {
	q.deferring = false
	return q.kick()
}

// unlockSignal unlocks q.mu and, if wake, gives the writer its token, or
// starts a writer goroutine when none runs.
func (q *sendQueue) unlockSignal(wake bool) {
	start := wake && q.writerGone && !q.ended
	if start {
		q.writerGone = false
	}
	q.mu.Unlock()
	switch {
	case start:
		q.startWriter()
	case wake:
		q.signal()
	}
}

// writerLeaves ends the writer goroutine's run, and reports true, if it
// still has nothing to do: nothing queued or left over, no command waiting
// (ctrls is how many the pipe's command channel holds), the pipe not
// closing and the socket not lingering. The writer asks once it has been
// idle for writerIdle; an idle connection so keeps no writer goroutine
// (nor its stack).
func (q *sendQueue) writerLeaves(ctrls int) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.startWriter == nil || q.ended || q.stay || ctrls > 0 || !q.sleeping ||
		len(q.items) > 0 || q.leftover.bufs != nil || q.ctrlWait {
		return false
	}
	q.writerGone = true
	return true
}

// commandQueued starts a writer for a command just put on the pipe's
// command channel, if none runs; a running one takes it from there.
func (q *sendQueue) commandQueued() {
	q.mu.Lock()
	q.unlockSignal(q.writerGone)
}

// lingering keeps the writer, starting one if none runs, so that it
// closes the pipe once everything queued is out (Socket.linger).
func (q *sendQueue) lingering() {
	q.mu.Lock()
	q.stay = true
	q.unlockSignal(q.writerGone)
}

// end says the pipe is closing: no writer starts from now on. It reports
// whether none runs either, when the caller is to close writerDone.
func (q *sendQueue) end() (noWriter bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.ended = true
	noWriter, q.writerGone = q.writerGone, false
	return noWriter
}

// stopTail stops the tail timer (the pipe is closing; its writer writes or
// drops what is left).
func (q *sendQueue) stopTail() {
	q.mu.Lock()
	if q.tail != nil {
		q.tail.Stop()
	}
	q.mu.Unlock()
}

// selfFlushable reports whether the application may write m itself from a
// full queue (Pipe.flushFull): a single-frame message whose body is copied
// into the write buffer (up to copyLimit bytes), and below loanMin when
// that is not 0. Larger bodies go by writev or loan, from the writer.
func selfFlushable(m *Message, loanMin int) bool {
	return len(m.Frames) == 0 && len(m.Body) <= copyLimit && (loanMin == 0 || m.Len() < loanMin)
}

// claimFront gives the application the write turn and the front of the
// queue, as much of it as an empty write buffer takes whole, of messages
// selfFlushable. It returns nil when it cannot: when the front message is
// not such (and then the writer, woken if it sleeps, writes as before),
// when the writer is at work (and then the application, having outpaced
// it, defers its wake-ups: sendQueue.deferring), or when something of a
// write-through or a command waits. A claim defers the writer's wake-ups
// too, until the tail timer says so.
func (q *sendQueue) claimFront(codec streamCodec, loanMin int) []*Message {
	q.mu.Lock()
	if !q.selfFlush || len(q.items) == 0 {
		q.mu.Unlock()
		return nil
	}
	if !selfFlushable(q.items[0], loanMin) {
		q.unlockSignal(q.stopDeferring())
		return nil
	}
	defer q.mu.Unlock()
	if !q.sleeping || q.held != 0 {
		q.deferring = true
		return nil
	}
	if q.turn != turnIdle || q.leftover.bufs != nil || q.ctrlWait {
		return nil
	}
	size, k, bytes := 0, 0, int64(0)
	for _, m := range q.items {
		if !selfFlushable(m, loanMin) {
			break
		}
		n := codec.overhead(m) + len(m.Body)
		if size+n > writeBufferSize {
			break
		}
		size += n
		bytes += int64(m.Len())
		k++
	}
	q.turn = turnApp
	q.deferring = true
	q.selfFlushes++
	q.lastClaim = time.Now()
	out := append(q.front[:0], q.items[:k]...)
	q.front = nil // the turn's holder's until it gives it back
	clear(q.items[:k])
	q.items = append(q.items[:0], q.items[k:]...)
	q.bytes -= bytes
	return out
}

// fits reports whether a message of n bytes would pass no bound; q.mu is
// held.
func (q *sendQueue) fits(n int) bool {
	count := len(q.items)
	if q.boundHeld {
		count += q.held
	}
	busy := len(q.items)+q.held > 0
	return count < q.hwm && (q.maxBytes == 0 || !busy || q.bytes+q.heldBytes+int64(n) <= q.maxBytes)
}

// roomFor reports whether push would take a message of n bytes now.
func (q *sendQueue) roomFor(n int) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.fits(n)
}

// take returns everything queued, in dst's place (dst must be empty); the
// messages count as held until done. When nothing is queued it returns dst
// and the consumer may wait on q.wake, which the next push signals.
func (q *sendQueue) take(dst []*Message) []*Message {
	out, _ := q.takeAll(dst)
	return out
}

// takeAll is take for a stream writer: it also returns the leftover of a
// write-through, to be written first, and gives the writer the turn while
// it has something to write.
func (q *sendQueue) takeAll(dst []*Message) ([]*Message, partial) {
	q.mu.Lock()
	if q.turn == turnApp || (len(q.items) == 0 && q.leftover.bufs == nil) {
		q.sleeping = true
		if q.turn != turnApp {
			q.turn = turnIdle
		}
		q.mu.Unlock()
		return dst, partial{}
	}
	q.turn = turnWriter
	left := q.leftover
	q.leftover = partial{}
	if len(q.items) == 0 {
		q.mu.Unlock()
		return dst, left
	}
	out := q.items
	q.items = dst[:0]
	q.held += len(out)
	if q.maxBytes > 0 { // only a byte-bounded consumer says how many it wrote
		q.heldBytes += q.bytes
	}
	q.bytes = 0
	q.mu.Unlock()
	return out, left
}

// claim gives the application the write turn if nothing is queued or
// being written.
func (q *sendQueue) claim() bool {
	q.mu.Lock()
	ok := q.turn == turnIdle && q.sleeping && len(q.items) == 0 && q.held == 0 && q.leftover.bufs == nil
	if ok {
		q.turn = turnApp
	}
	q.mu.Unlock()
	return ok
}

// release ends the application's write turn, leaving left (what the
// connection did not take, pointing into m's body if m is not nil) to the
// writer, and wakes the writer if it has something to do.
func (q *sendQueue) release(left net.Buffers, m *Message) {
	q.mu.Lock()
	q.turn = turnIdle
	q.leftover = partial{bufs: left, m: m}
	wake := q.kick()
	if wake {
		q.ctrlWait = false
	}
	q.unlockSignal(wake)
}

// claimCtrl gives the writer the turn to write a command, unless the
// application writes (then the writer is woken when it is done) or left
// the rest of a write to the writer.
func (q *sendQueue) claimCtrl() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.turn == turnApp {
		q.ctrlWait, q.sleeping = true, true
		return false
	}
	if q.leftover.bufs != nil {
		// The rest of a write-through goes first (the writer takes it
		// next): a command written before it would land inside a frame.
		return false
	}
	q.turn = turnWriter
	return true
}

// done tells the queue that the consumer has finished with k of the
// messages it took, of n bytes in all.
func (q *sendQueue) done(k int, n int64) {
	q.mu.Lock()
	q.held -= k
	q.heldBytes -= n
	q.mu.Unlock()
}

// len returns how many messages are queued or held.
func (q *sendQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := len(q.items) + q.held
	if q.leftover.bufs != nil {
		n++
	}
	return n
}
