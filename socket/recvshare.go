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
	_         [40]byte
	// taken counts the entries taken and counted back, ever: the consumer
	// counts back a run at a time (flushRun), so the share may look fuller
	// than it is by a run. waiting counts the producers waiting for room.
	taken   atomic.Int64
	waiting atomic.Int32
	_       [52]byte
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

// queued returns how many of sh's entries are in the queue, for a caller
// that does not hold pmu.
func (q *RecvQueue) queued(sh *recvShare) int64 {
	q.pmu.Lock()
	defer q.pmu.Unlock()
	return sh.put - sh.taken.Load()
}

// added counts n entries put; the caller holds pmu.
func (sh *recvShare) added(n int64) { sh.put += n }

// willWait records put for the consumers before a producer counts itself
// as waiting for room (see flushRun); the caller holds pmu.
func (sh *recvShare) willWait() { sh.putAtWait.Store(sh.put) }

// shareOf returns p's share of q, or the share of puts without a pipe.
func (q *RecvQueue) shareOf(p *Pipe) *recvShare {
	if p == nil {
		return &q.anon
	}
	return &p.rshare
}

// countTaken counts an entry of sh's as taken, and reports whether
// producers waiting for room are to be woken: they wait until their share
// is down to half, not for every message taken, since each wake-up costs
// them a channel. The takes of a run from one share are counted back at
// once: at its end, when the queue looks empty (!more), or after runMax.
// The caller holds cmu.
func (q *RecvQueue) countTaken(sh *recvShare, more bool) (wake bool) {
	if sh != q.runShare {
		wake = q.flushRun()
		q.runShare = sh
	}
	q.runTaken++
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
	taken := sh.taken.Add(k)
	// putAtWait may be behind put (a put from p under a higher limit
	// since): the share then looks emptier, and its producers are woken
	// early, never late.
	return sh.waiting.Load() > 0 && sh.putAtWait.Load()-taken <= q.half
}
