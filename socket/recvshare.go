package socket

import "sync/atomic"

// A RecvQueue bounds what each pipe has in it (RecvHWM per pipe, as libzmq
// bounds each pipe's queue): this is the count of each pipe's share, kept
// so that neither the producers nor the consumer take a cache miss per
// message for it.

// recvShare is what one producer, a pipe or the puts that name none, has
// waiting in a RecvQueue: put less taken. Its producers' and consumers'
// halves are on cache lines of their own, as the queue's are, so that
// counting costs neither side a miss per message.
type recvShare struct {
	_ [64]byte
	// put counts the entries put, ever (under the queue's pmu: a plain
	// addition, where an atomic store was a barrier a message). putAtWait
	// is put as it was when a producer last began to wait for room, for
	// the consumers, who hold no pmu: put does not grow while the share is
	// full. takenSeen is the producers' last look at taken (under pmu):
	// they look again only when the share looks full.
	put       int64
	putAtWait atomic.Int64
	takenSeen int64
	// putBytes, bytesAtWait and takenBytesSeen are the same for the
	// entries' bytes (entry.n), which RecvQueueBytes bounds.
	putBytes       int64
	bytesAtWait    atomic.Int64
	takenBytesSeen int64
	// stream: the share is a stream pipe's, which RecvQueueBytes bounds
	// (set before the pipe is used).
	stream bool
	_      [15]byte
	// taken counts the entries taken and counted back, ever: the consumer
	// counts back a run at a time (flushRun), so the share may look fuller
	// than it is by a run; takenBytes their bytes. waiting counts the
	// producers waiting for room.
	taken      atomic.Int64
	takenBytes atomic.Int64
	waiting    atomic.Int32
	_          [44]byte
}

// used returns how many of the share's entries the producers see queued,
// looking at taken again if they have reached limit; the caller holds pmu.
func (sh *recvShare) used(limit int64) int64 {
	n := sh.put - sh.takenSeen
	if n >= limit {
		sh.takenSeen = sh.taken.Load()
		n = sh.put - sh.takenSeen
	}
	return n
}

// full reports whether sh has no room for another entry under limit
// entries and the queue's byte bound, looking at the consumers' counts
// again (fresh) or only when the producers' last look says full. A share
// with nothing queued always has room. The caller holds pmu.
func (q *RecvQueue) full(sh *recvShare, limit int64, fresh bool) bool {
	if fresh {
		sh.takenSeen = sh.taken.Load()
	}
	if sh.used(limit) >= limit {
		return true
	}
	b := q.bytesFor(sh)
	if b == 0 || !fresh && sh.putBytes-sh.takenBytesSeen < b {
		return false
	}
	sh.takenBytesSeen = sh.takenBytes.Load()
	sh.takenSeen = sh.taken.Load()
	return sh.putBytes-sh.takenBytesSeen >= b && sh.put > sh.takenSeen
}

// bytesFor is the byte bound of sh's entries: RecvQueueBytes for a stream
// pipe's, none for an inproc pipe's or for puts that name no pipe.
func (q *RecvQueue) bytesFor(sh *recvShare) int64 {
	if sh.stream {
		return q.maxBytes
	}
	return 0
}

// hasRoom reports whether sh takes an entry now under limit and the byte
// bound, for a caller that does not hold pmu.
func (q *RecvQueue) hasRoom(sh *recvShare, limit int64) bool {
	q.pmu.Lock()
	defer q.pmu.Unlock()
	return !q.full(sh, limit, true)
}

// added counts n entries of bytes put; the caller holds pmu.
func (sh *recvShare) added(n, bytes int64) {
	sh.put += n
	sh.putBytes += bytes
}

// willWait records put for the consumers before a producer counts itself
// as waiting for room (see flushRun); the caller holds pmu.
func (sh *recvShare) willWait() {
	sh.putAtWait.Store(sh.put)
	sh.bytesAtWait.Store(sh.putBytes)
}

// shareOf returns p's share of q, or the share of puts without a pipe.
func (q *RecvQueue) shareOf(p *Pipe) *recvShare {
	if p == nil {
		return &q.anon
	}
	return &p.rshare
}

// countTaken counts an entry of sh's, of bytes, as taken, and reports whether
// producers waiting for room are to be woken: they wait until their share
// is down to half, not for every message taken, since each wake-up costs
// them a channel. The takes of a run from one share are counted back at
// once: at its end, when the queue looks empty (!more), or after runMax.
// The caller holds cmu.
func (q *RecvQueue) countTaken(sh *recvShare, bytes uint32, more bool) (wake bool) {
	if sh != q.runShare {
		wake = q.flushRun()
		q.runShare = sh
	}
	q.runTaken++
	q.runBytes += int64(bytes)
	if q.runTaken >= q.runMax || !more {
		wake = q.flushRun() || wake
	}
	return wake
}

// flushRun takes the run's takes off its share's count and reports
// whether that share's producers wait and may now put. The caller holds
// cmu.
func (q *RecvQueue) flushRun() bool {
	sh, k := q.runShare, q.runTaken
	if k == 0 {
		return false
	}
	q.runTaken = 0
	// An inproc pipe's entries carry no bytes: its run costs one atomic
	// add, not two, on the line its producer reads.
	if q.runBytes != 0 {
		sh.takenBytes.Add(q.runBytes)
		q.runBytes = 0
	}
	taken := sh.taken.Add(k)
	// putAtWait may be behind put (a put from p under a higher limit
	// since): the share then looks emptier, and its producers are woken
	// early, never late. A producer held by the byte bound is woken once
	// its share's bytes are below it.
	if sh.waiting.Load() == 0 {
		return false
	}
	b := q.bytesFor(sh)
	return sh.putAtWait.Load()-taken <= q.half || b > 0 && sh.bytesAtWait.Load()-sh.takenBytes.Load() < b
}
