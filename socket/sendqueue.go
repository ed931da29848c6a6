package socket

import (
	"net"
	"sync"
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
}

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

// push queues m, of n bytes, unless that would pass a bound, and reports
// whether it did. An empty queue takes any one message, however large.
func (q *sendQueue) push(m *Message, n int) bool {
	q.mu.Lock()
	if !q.fits(n) {
		q.mu.Unlock()
		return false
	}
	q.items = append(q.items, m)
	q.bytes += int64(n)
	wake := q.sleeping && q.turn != turnApp // the application wakes it
	if wake {
		q.sleeping = false
	}
	q.mu.Unlock()
	if wake {
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
	return true
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
	wake := q.sleeping && (len(q.items) > 0 || left != nil || q.ctrlWait)
	if wake {
		q.sleeping = false
		q.ctrlWait = false
	}
	q.mu.Unlock()
	if wake {
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
}

// claimCtrl gives the writer the turn to write a command, unless the
// application writes; then the writer is woken when it is done.
func (q *sendQueue) claimCtrl() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.turn == turnApp {
		q.ctrlWait, q.sleeping = true, true
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
