package socket

import (
	"math/bits"
	"sync"
	"sync/atomic"
	"time"
)

// RecvQueue is the socket-wide queue of received messages most patterns
// use. It holds at most RecvHWM messages from each pipe, as libzmq bounds
// each pipe's queue (RecvHWM is read when the queue is first used, so that
// a RecvHWM given to the pattern's New, applied after Protocol.Init,
// counts). Bounding each pipe rather than the whole queue is what makes
// receiving fair: a pipe whose reader always runs cannot fill the queue and
// leave the others' readers waiting for room it takes first. Under a flood
// every pipe has its share waiting, and the consumer, taking in order,
// takes from each in turn.
//
// It is a ring built for a busy producer (a pipe's reader goroutine, or an
// inproc sender) and a busy consumer (the application) on different cores:
// producers and consumers each have a lock of their own, and they meet only
// on the ring's slots and on the two positions, which each side reads
// again only when its cached copy of the other's says the ring is full or
// empty. A side that has nothing to do waits on a channel that the other
// signals only when it knows someone waits. The fields each side writes on
// every message sit on cache lines of their own. Several producers and
// several consumers are fine too.
type RecvQueue struct {
	// Set once, then only read.
	s        *Socket
	once     sync.Once
	hwm      uint64
	maxBytes int64         // RecvQueueBytes: a stream pipe's bytes queued; 0 = no bound
	notEmpty chan struct{} // a token for a waiting consumer (capacity 1)
	_        [56]byte      // 56 for maxBytes: what follows keeps its offsets

	// runMax is the longest run the consumer takes before counting it
	// back, and half the share below which waiting producers are woken.
	runMax int64
	half   int64
	// anon is the share of the puts that name no pipe (TryPut).
	anon recvShare

	// Read on every message, written seldom.
	pwaiting atomic.Int32 // producers waiting for room
	cwaiting atomic.Int32 // consumers waiting for a message
	// confl is the queue under Conflate (nil until it is first used).
	confl atomic.Pointer[conflation]
	// preferNew: a put that does not wait makes room by dropping its
	// pipe's oldest entry (SetPreferNew).
	preferNew atomic.Bool
	_         [60]byte // 60, not 64: what follows keeps the offsets it was measured at

	// The ring; it starts small and grows as needed, under both locks,
	// and shrinks back when it has been empty a while (shrink). grownAt
	// is when it last grew (under both locks).
	mask      uint64
	slots     []entry
	firstSize uint64
	grownAt   time.Time
	_         [64]byte

	// The producers' side: written by them on every message.
	pmu      sync.Mutex
	tail     atomic.Uint64 // the next slot to fill; advanced under pmu
	headSeen uint64        // the producers' last look at head (under pmu)
	room     chan struct{} // closed when room is made, if producers wait (under pmu)
	// notify are the receiving pipes whose inproc senders wait for room
	// (TryPutFrom), woken with the producers waiting on room (under pmu).
	notify []*Pipe
	_      [64]byte

	// The consumers' side: written by them on every message.
	// hcons is the next slot to take; head is it as the producers see it,
	// published under cmu every headEvery takes and whenever the queue
	// looks empty, so that it lags only while entries remain (each
	// publication is a barrier: a shm receiver alone was 1.07x faster
	// publishing every 16th). Producers that find no room by head look at
	// hcons before they grow the ring.
	cmu      sync.Mutex
	hcons    uint64        // (under cmu)
	head     atomic.Uint64 // hcons, published
	tailSeen uint64        // the consumers' last look at tail (under cmu)
	warmed   uint64        // entries before this have been read ahead (under cmu)
	// runShare is the share of the entries taken last, and runTaken how
	// many of them are not yet taken off its count (under cmu): counting
	// back a run at a time keeps the consumer off the producer's line.
	runShare *recvShare
	runTaken int64
	runBytes int64 // the bytes of those runTaken entries
	// stash holds free messages of class stashClass for the spans taken
	// (under cmu): filled a magazine at a time, it spares each message
	// made from a span its two visits to the pool (see takeStashed).
	stash      *magazine
	stashClass int8
	stashMade  bool   // the stash has made new messages once
	stashTaken uint64 // messages made from spans since it last did
	// letChunk is the chunk of the small spans taken last, and letN how
	// many of them are not yet let go (under cmu): such spans are copied
	// out under cmu, and a run of them from one chunk let go at once, one
	// atomic add instead of one per message (see letGoLater).
	letChunk *chunk
	letN     int32
	_        [56]byte // 56 for runBytes: the queue keeps the size it was measured at
}

// entry is one queued message: a whole message, or a span of a chunk of
// bytes read from a stream, made into a message by the consumer that takes
// it (chunk.go). p is the pipe it came from (nil for TryPut). n is the
// span's length, or, once a message is queued under a byte bound, its
// length (sized; else 0), so that what is taken off its share's bytes is
// what was put on.
type entry struct {
	m   *Message
	c   *chunk
	off uint32
	n   uint32
	p   *Pipe
}

// sized sets a message entry's n to the message's length (at most
// 2^32-1: the bound it counts against is below that).
func (e *entry) sized() {
	if e.m != nil {
		e.n = uint32(min(uint64(e.m.Len()), 1<<32-1))
	}
}

// message returns the entry's message, making it from the span if need be.
func (e *entry) message() *Message { return e.messageIn(nil) }

// messageIn is message, making the message from the span in m, a free
// message of the span's class, if m is not nil.
func (e *entry) messageIn(m *Message) *Message {
	if e.m != nil {
		return e.m
	}
	m = e.copySpan(m)
	e.c.unref()
	return m
}

// copySpan makes the span's message, in m if it is not nil, without
// letting go of the span.
func (e *entry) copySpan(m *Message) *Message {
	if m == nil {
		m = NewMessage(int(e.n))
	} else {
		m.free = false
		m.reset(int(e.n))
	}
	copy(m.Body, e.c.buf[e.off:e.off+e.n])
	m.Pipe = e.p.id
	return m
}

// initialSlots is the ring's first size (or RecvHWM's, if smaller).
const initialSlots = 1024

// NewLazyRecvQueue returns the socket's receive queue; patterns call it from
// Init.
func NewLazyRecvQueue(s *Socket) *RecvQueue {
	return &RecvQueue{s: s, notEmpty: make(chan struct{}, 1)}
}

func (q *RecvQueue) init() {
	q.once.Do(func() {
		q.s.started.Store(true)
		q.hwm = uint64(q.s.cfg.recvHWM.Load())
		q.maxBytes = q.s.cfg.recvQueueBytes.Load()
		q.half = int64(q.hwm / 2)
		q.runMax = min(max(int64(q.hwm/4), 1), 32)
		size := min(uint64(1)<<bits.Len64(q.hwm-1), initialSlots)
		q.mask, q.firstSize = size-1, size
		q.slots = make([]entry, size)
	})
}

// Put queues m, waiting while the queue is full until p or the socket closes;
// then m is dropped.
func (q *RecvQueue) Put(p *Pipe, m *Message) { q.PutWithin(p, m, 0) }

// PutWithin is Put with p's share of the queue bounded by limit messages
// rather than RecvHWM (limit is raised to RecvHWM if below it);
// RecvQueueBytes still bounds a stream pipe's share. XPUB queues its
// subscription notifications so: the subscriptions behind a
// notification that waits for room are not applied until it is queued.
func (q *RecvQueue) PutWithin(p *Pipe, m *Message, limit int) {
	q.init()
	if q.s.cfg.conflate.Load() {
		q.replace(p, m)
		return
	}
	q.putWait(p, entry{m: m, p: p}, max(uint64(max(limit, 0)), q.hwm))
}

// TryPutWithin is TryPut with p's share bounded by limit messages rather
// than RecvHWM (limit is raised to RecvHWM if below it).
func (q *RecvQueue) TryPutWithin(p *Pipe, m *Message, limit int) bool {
	q.init()
	if q.s.cfg.conflate.Load() {
		q.replace(p, m)
		return true
	}
	limit = max(limit, 0)
	e := entry{m: m, p: p}
	if q.putUnder(e, max(uint64(limit), q.hwm), false, nil) == nil {
		return true
	}
	return q.preferNew.Load() && q.evictUntil(p, func() bool {
		return q.putUnder(e, max(uint64(limit), q.hwm), false, nil) == nil
	})
}

// evictUntil drops p's oldest entries (evictFor) until put, tried after
// each, succeeds, and reports whether it did. Under the count bound one
// eviction makes room; under the byte bound a large message may need
// several small ones gone.
func (q *RecvQueue) evictUntil(p *Pipe, put func() bool) bool {
	for q.evictFor(p) {
		if put() {
			return true
		}
	}
	return false
}

// SetPreferNew makes the puts that do not wait (TryPut, and the chunked
// reads of a lossy pipe) make room when their pipe's share is full by
// dropping the oldest entry queued, if it is that pipe's (DropQueueFull),
// rather than dropping what they put: a slow consumer then gets the newest
// messages, as nng's sub0 gives them (NNG_OPT_SUB_PREFNEW, on by
// default there). The oldest entry is the next to be taken; when it is
// another pipe's, the new message is dropped as without the setting, so
// that no pipe's messages make room for another's.
func (q *RecvQueue) SetPreferNew(on bool) { q.preferNew.Store(on) }

// evictFor drops the queue's oldest entry, the next to be taken, if it is
// p's, and reports whether it did. It takes it as tryGet would, and counts
// the take back at once, so that p's share has room for a put.
func (q *RecvQueue) evictFor(p *Pipe) bool {
	if p == nil {
		return false
	}
	q.cmu.Lock()
	h := q.hcons
	if h == q.tail.Load() || q.slots[h&q.mask].p != p {
		q.cmu.Unlock()
		return false
	}
	e := q.slots[h&q.mask]
	q.slots[h&q.mask] = entry{}
	q.hcons = h + 1
	q.head.Store(h + 1)
	if q.tailSeen < h+1 {
		q.tailSeen = q.tail.Load()
	}
	// Counted back now, so that the put that follows sees the room; the
	// run counted back with it may be another share's, whose producers
	// may wait.
	wake := q.countTaken(q.shareOf(p), e.n, false)
	q.cmu.Unlock()
	if wake {
		q.makeRoom()
	}
	if e.m != nil {
		p.Drop(e.m, DropQueueFull)
	} else {
		p.cnt.drops[DropQueueFull].Add(1)
		e.c.unref()
	}
	return true
}

// putWait queues e, waiting while p's share holds limit entries until p or
// the socket closes; then e is dropped. It reports whether e was queued.
func (q *RecvQueue) putWait(p *Pipe, e entry, limit uint64) bool {
	q.init()
	sh := &p.rshare
	for {
		room := q.putUnder(e, limit, true, nil)
		if room == nil {
			return true
		}
		var closed bool
		select {
		case <-room:
		case <-p.done:
			closed = true
		case <-q.s.closing:
			closed = true
		}
		sh.waiting.Add(-1)
		q.pwaiting.Add(-1)
		if closed {
			p.dropEntry(e)
			return false
		}
	}
}

// dropEntry counts e as dropped because the pipe or socket closed.
func (p *Pipe) dropEntry(e entry) {
	if e.m != nil {
		p.Drop(e.m, DropClosed)
		return
	}
	p.cnt.drops[DropClosed].Add(1)
	e.c.unref()
}

// TryPut queues m, from pipe p, if p's share of the queue has room, and
// reports whether it did. With p nil, m counts in the share of what comes
// from no pipe.
func (q *RecvQueue) TryPut(p *Pipe, m *Message) bool { return q.TryPutWithin(p, m, 0) }

// TryPutFrom queues m, handed over on the goroutine of p's inproc peer
// (TryDeliverer), if there is room: up to RecvHWM plus the sender's
// SendHWM, the capacity of an inproc pipe across its two queues, so that
// the sender need not queue on its own side and leave the delivery to a
// third goroutine. When there is no room, the sender's socket is told once
// the consumers have made room (its Send waits for that); the caller
// still owns m then.
func (q *RecvQueue) TryPutFrom(p *Pipe, m *Message) bool {
	q.init()
	if q.s.cfg.conflate.Load() {
		q.replace(p, m)
		return true
	}
	limit, direct := q.limitFrom(p)
	e := entry{m: m, p: p}
	if !direct {
		return q.putUnder(e, limit, false, nil) == nil
	}
	return q.putUnder(e, limit, false, p) == nil
}

// TryPutFromTrimmed is TryPutFrom for a message from an inproc peer whose
// first n body bytes are protocol header words, as a sender puts them in
// front of the body: they become m's header (or are dropped, unless keep).
// When there is no room, m is left as it came. m must have no header yet:
// then taking the words off moves only the slices, and putting the slices
// back restores it.
func (q *RecvQueue) TryPutFromTrimmed(p *Pipe, m *Message, n int, keep bool) bool {
	header, body := m.Header, m.Body
	m.TrimHeader(n)
	if !keep {
		m.Header = m.Header[:0]
	}
	if q.TryPutFrom(p, m) {
		return true
	}
	m.Header, m.Body = header, body
	return false
}

// HasRoomFrom reports whether TryPutFrom would take a message from p now.
func (q *RecvQueue) HasRoomFrom(p *Pipe) bool {
	q.init()
	if q.s.cfg.conflate.Load() {
		return true
	}
	limit, _ := q.limitFrom(p)
	return q.hasRoom(&p.rshare, int64(limit))
}

// limitFrom is how many entries of p's the queue holds for a hand-over
// from p: RecvHWM, plus the sender's SendHWM when p is an inproc pipe
// whose sender can be told of room (direct).
func (q *RecvQueue) limitFrom(p *Pipe) (limit uint64, direct bool) {
	if out := p.port.Out; out != nil && p.port.Taken != nil {
		return q.hwm + uint64(out.hwm), true
	}
	return q.hwm, false
}

// PutBatch queues the messages of ms in order, as Put does each one, and
// clears ms. It takes the producers' lock once for as many as there is
// room for.
func (q *RecvQueue) PutBatch(p *Pipe, ms []*Message) {
	var buf [64]entry
	for rest := ms; len(rest) > 0; {
		k := min(len(rest), len(buf))
		for i := range k {
			buf[i] = entry{m: rest[i], p: p}
		}
		q.putEntries(p, buf[:k])
		rest = rest[k:]
	}
	clear(ms)
}

// putEntries queues es in order, as putWait does each one, and clears es.
func (q *RecvQueue) putEntries(p *Pipe, es []entry) { q.putEntriesOr(p, es, true) }

// tryPutEntries queues as many of es as there is room for, in order, drops
// the rest (DropQueueFull) and clears es.
func (q *RecvQueue) tryPutEntries(p *Pipe, es []entry) { q.putEntriesOr(p, es, false) }

// putEntriesOr queues es in order, as many as there is room for at once
// (putSome); the rest wait for room one by one (wait) or are dropped. Once
// one is dropped because p or the socket closed, so is every one after it,
// in this batch and the next (p is closing then): what the application
// gets from p stays an unbroken run. What a pipe closing because a write
// failed has read goes in while there is room (Pipe.dropsRead).
func (q *RecvQueue) putEntriesOr(p *Pipe, es []entry, wait bool) {
	closed := p.dropsRead()
	n := 0
	if !closed {
		n = q.putSome(p, es)
	}
	for i := n; i < len(es); i++ {
		e := es[i]
		switch {
		case closed:
			p.dropEntry(e)
		case wait:
			closed = !q.putWait(p, e, q.hwm)
		case q.preferNew.Load() && q.evictUntil(p, func() bool { return q.putSome(p, es[i:i+1]) == 1 }):
			// queued in place of p's oldest
		case e.m != nil:
			p.Drop(e.m, DropQueueFull)
		default:
			p.cnt.drops[DropQueueFull].Add(1)
			e.c.unref()
		}
	}
	clear(es)
}

// free returns how many more entries from p the queue takes now: many
// under Conflate, which replaces what waits.
func (q *RecvQueue) free(p *Pipe) int {
	q.init()
	if q.s.cfg.conflate.Load() {
		return maxInBatch
	}
	sh := &p.rshare
	q.pmu.Lock()
	used := sh.put - sh.taken.Load()
	full := q.full(sh, int64(q.hwm), true)
	q.pmu.Unlock()
	if full {
		return 0
	}
	// putSome stops at the byte bound itself.
	return int(min(int64(q.hwm)-used, maxInBatch))
}

// putSome queues as many of es (from p) as there is room for, taking the
// producers' lock once, and returns how many that was; it never waits.
// The caller still owns the rest.
func (q *RecvQueue) putSome(p *Pipe, es []entry) int {
	q.init()
	if q.s.cfg.conflate.Load() {
		for i := range es {
			q.replace(p, es[i].message())
		}
		clear(es)
		return len(es)
	}
	sh := &p.rshare
	q.pmu.Lock()
	t, n := q.reserve(sh, uint64(len(es)))
	var bytes int64
	b := q.bytesFor(sh)
	for i := range n {
		if b > 0 && i > 0 && sh.putBytes+bytes-sh.takenBytesSeen >= b {
			n = i // the byte bound, reached within the batch
			break
		}
		if b > 0 {
			es[i].sized()
		}
		bytes += int64(es[i].n)
		q.slots[(t+i)&q.mask] = es[i]
	}
	sh.added(int64(n), bytes)
	q.tail.Store(t + n)
	q.pmu.Unlock()
	if n > 0 {
		q.wakeConsumer()
	}
	clear(es[:n])
	return int(n)
}

// reserve returns the tail and how many of k entries fit under sh's
// bound, RecvHWM, growing the ring for them if need be; the caller holds
// pmu.
func (q *RecvQueue) reserve(sh *recvShare, k uint64) (t, n uint64) {
	t = q.tail.Load()
	used := uint64(max(sh.used(int64(q.hwm)), 0))
	if used >= q.hwm || sh.stream && q.full(sh, int64(q.hwm), false) {
		return t, 0
	}
	n = min(k, q.hwm-used)
	q.makeSlots(t, n)
	return t, n
}

// makeSlots makes sure the ring has n free slots from tail t, growing it
// if need be; the caller holds pmu.
func (q *RecvQueue) makeSlots(t, n uint64) {
	if t-q.headSeen+n > q.mask+1 {
		q.headSeen = q.head.Load()
		if t-q.headSeen+n > q.mask+1 {
			q.grow(t, n)
		}
	}
}

// grow makes the ring large enough for n more entries from tail t,
// copying what it holds, unless the consumers' own head (which the
// published one may lag) shows room already; the caller holds pmu.
func (q *RecvQueue) grow(t, n uint64) {
	q.cmu.Lock()
	defer q.cmu.Unlock()
	q.headSeen = q.hcons
	need := t - q.hcons + n
	size := q.mask + 1
	if need <= size {
		return
	}
	for size < need { // need is within a bound: RecvHWM (plus SendHWM, or PutWithin's limit) per pipe
		size *= 2
	}
	slots := make([]entry, size)
	for i := q.hcons; i != t; i++ {
		slots[i&(size-1)] = q.slots[i&q.mask]
	}
	q.slots, q.mask = slots, size-1
	q.grownAt = time.Now()
}

// shrinkAfter is how long a ring grown past its first size stays so before
// a consumer that empties it makes it small again. A burst from many pipes
// grows the ring (RecvHWM per pipe); without shrinking it would hold that
// memory for good, and shrinking at once would regrow it burst after burst.
var shrinkAfter = 10 * time.Second

// mayShrink reports whether the ring is grown and has been for
// shrinkAfter; the caller holds cmu.
func (q *RecvQueue) mayShrink() bool {
	return q.mask+1 > q.firstSize && time.Since(q.grownAt) > shrinkAfter
}

// shrink gives the ring its first size again if it is empty.
func (q *RecvQueue) shrink() {
	q.pmu.Lock()
	defer q.pmu.Unlock()
	q.cmu.Lock()
	defer q.cmu.Unlock()
	if !q.mayShrink() || q.hcons != q.tail.Load() {
		return
	}
	q.slots, q.mask = make([]entry, q.firstSize), q.firstSize-1
}

// putUnder queues e, of e.p's share, and returns nil if the share has
// fewer than limit entries. When it is full it queues nothing and returns
// closedChan if !wait (the caller still owns e), or else a channel closed
// when there may be room, having counted the caller as a waiting producer.
// When notify is not nil, notify's sender is told when there is room
// (TryPutFrom, makeRoom) and putUnder returns closedChan.
func (q *RecvQueue) putUnder(e entry, limit uint64, wait bool, notify *Pipe) <-chan struct{} {
	sh := q.shareOf(e.p)
	if q.bytesFor(sh) > 0 {
		e.sized()
	}
	q.pmu.Lock()
	t := q.tail.Load()
	// The count is looked at here, not in full, so that a put of a share
	// with no byte bound (inproc's) makes no call for it.
	if sh.used(int64(limit)) >= int64(limit) || sh.stream && q.full(sh, int64(limit), false) {
		// A waiter counts itself as waiting before it looks again: a
		// consumer that makes room after our last look sees it.
		switch {
		case notify != nil:
			if notify.roomWait.CompareAndSwap(false, true) {
				q.notify = append(q.notify, notify)
				sh.willWait()
				sh.waiting.Add(1) // until makeRoom, even if there is room now
				q.pwaiting.Add(1)
			}
		case wait:
			sh.willWait()
			sh.waiting.Add(1)
			q.pwaiting.Add(1)
		default:
			q.pmu.Unlock()
			return closedChan
		}
		if q.full(sh, int64(limit), true) {
			if notify != nil {
				q.pmu.Unlock()
				return closedChan
			}
			if q.room == nil {
				q.room = make(chan struct{})
			}
			room := q.room
			q.pmu.Unlock()
			return room
		}
		if notify == nil {
			sh.waiting.Add(-1)
			q.pwaiting.Add(-1)
		}
	}
	q.makeSlots(t, 1)
	q.slots[t&q.mask] = e
	sh.added(1, int64(e.n))
	q.tail.Store(t + 1)
	q.pmu.Unlock()
	q.wakeConsumer()
	return nil
}

// closedChan is what put returns for "full" when the caller does not wait.
var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// wakeConsumer gives a waiting consumer the token, if one waits.
func (q *RecvQueue) wakeConsumer() {
	if q.cwaiting.Load() > 0 {
		select {
		case q.notEmpty <- struct{}{}:
		default:
		}
	}
}

// conflation is a receive queue under Conflate: each pipe's newest
// message, as libzmq conflates each connection, handed out in the order in
// which the pipes' messages began to wait.
type conflation struct {
	waiting atomic.Int32 // len(order), read without the lock
	mu      sync.Mutex
	newest  map[*Pipe]*Message // nil: the puts that name no pipe
	order   []*Pipe
}

// take returns the message of the pipe that has waited longest, or nil.
func (c *conflation) take() *Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.order) == 0 {
		return nil
	}
	p := c.order[0]
	copy(c.order, c.order[1:])
	c.order[len(c.order)-1] = nil
	c.order = c.order[:len(c.order)-1]
	m := c.newest[p]
	delete(c.newest, p)
	c.waiting.Add(-1)
	return m
}

// replace makes m the message of p's that waits, in place of any other of
// p's (Conflate); the one replaced is counted as DropConflated.
func (q *RecvQueue) replace(p *Pipe, m *Message) {
	c := q.confl.Load()
	if c == nil {
		q.confl.CompareAndSwap(nil, &conflation{newest: make(map[*Pipe]*Message)})
		c = q.confl.Load()
	}
	c.mu.Lock()
	old, had := c.newest[p]
	c.newest[p] = m
	if !had {
		c.order = append(c.order, p)
		c.waiting.Add(1)
	}
	c.mu.Unlock()
	if old != nil {
		from := p
		if from == nil || from.id != old.Pipe {
			from = q.s.Pipe(old.Pipe)
		}
		if from != nil {
			from.Drop(old, DropConflated)
		} else {
			old.Free() // its pipe is gone; nowhere to count it
		}
	}
	q.wakeConsumer()
}
