//go:build linux

package shm

import (
	"os"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Giving idle memory back. A connection's slots and rings are shared memory
// in its memfd, whose pages stay in memory once written, for as long as the
// connection lasts: after a burst, up to every slot and the whole ring of
// each side. Each side gives back what it owns (its slots, its outgoing
// ring) once it has been idle for trimIdle, from a timer that runs only
// while there is something to give back.

// trimKeep free slots, the most recently freed, keep their pages: the next
// loans take them.
const trimKeep = 2

// trimIdle is how long a free slot keeps its pages (nanoseconds; a
// variable for the tests, SetTrimIdle).
var trimIdle atomic.Int64

func init() { trimIdle.Store(int64(time.Second)) }

// clockStart anchors monoNow, which reads the monotonic clock.
var clockStart = time.Now()

func monoNow() int64 { return int64(time.Since(clockStart)) }

// armTrimLocked arms the trim timer unless it is armed; wmu is held.
func (c *conn) armTrimLocked() {
	if c.trimArmed {
		return
	}
	c.armTrimSlow()
}

// armTrimSlow is armTrimLocked's rare part, out of the write path.
func (c *conn) armTrimSlow() {
	if c.closed.Load() {
		return
	}
	c.trimArmed = true
	d := time.Duration(trimIdle.Load())
	if c.trimT == nil {
		c.trimT = time.AfterFunc(d, c.trimTick)
	} else {
		c.trimT.Reset(d)
	}
}

// trimTick gives back the pages of what has been idle for trimIdle: our
// ring's, when little or nothing was written to it since the last tick
// and the peer has read it all, and (taking the peer's releases first)
// those of slots free that long (outPool.trim). It arms itself again while slots are out
// or hold pages, or the ring holds pages; a connection that has been idle
// that long has no timer running.
func (c *conn) trimTick() {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.trimArmed = false
	if c.closed.Load() || c.fail.Load() != nil {
		return
	}
	again := c.trimRing()
	if c.outp != nil {
		now := monoNow()
		if err := c.outp.drain(now); err != nil {
			c.setFail(err)
			return
		}
		if pending, out := c.outp.trim(now, trimIdle.Load(), trimKeep, discardPages); pending || out {
			again = true
		}
	}
	if again {
		c.armTrimLocked()
	}
}

// trimRing gives back our ring's data pages when the ring has been quiet
// since the last tick (fewer than trimTrickle bytes written) and the peer
// has read everything in it: the peer reads nothing past our head, and our
// next write faults the pages in again. It reports whether the ring still
// holds pages to give back later.
func (c *conn) trimRing() bool {
	data := c.out.r.data
	if len(data)%pageSize != 0 || uintptr(unsafe.Pointer(unsafe.SliceData(data)))%uintptr(pageSize) != 0 {
		return false // a ring smaller than a page shares its pages
	}
	head := c.out.head
	quiet := head-c.tickHead < trimTrickle
	c.tickHead = head
	switch {
	case head == c.ringTrimmedAt:
		return false // nothing written since the last trim
	case !quiet:
		return true
	}
	if err := c.out.loadTail(); err != nil || c.out.tail != head {
		return true // unread bytes (or a bad tail, which the writer meets)
	}
	discardPages(data)
	c.ringTrimmedAt = head
	return false
}

// trimTrickle is how many bytes a tick's worth of writes may add to the
// ring and still count as quiet: heartbeats, or a few small messages a
// second, must not keep every page a burst faulted in for as long as they
// go on. What a trickle writes after a trim costs it a page fault or two.
const trimTrickle = 4096

var pageSize = os.Getpagesize()

// discardPages gives b's pages back to the system: b is shared memory
// backed by the connection's memfd, and MADV_REMOVE punches the hole in the
// file, for both processes. What b held reads as zeros afterwards.
func discardPages(b []byte) { unix.Madvise(b, unix.MADV_REMOVE) }
