package socket

import (
	"context"
	"sync"
	"sync/atomic"
)

// Protocol is the routing policy of one pattern: which pipe gets a message,
// what header it carries, what is done with what arrives. A protocol sees
// messages and pipes, never bytes.
//
// Locking: the socket calls AddPipe and RemovePipe without holding its own
// locks, and a protocol must not hold its lock while it waits for a pipe.
type Protocol interface {
	// Info describes the protocol.
	Info() ProtocolInfo
	// Init is called once by New, before any option is applied.
	Init(s *Socket)
	// AddPipe is called when a pipe has finished its handshake. An error
	// refuses the pipe (pair0 takes one peer at a time).
	AddPipe(p *Pipe) error
	// RemovePipe is called once when a pipe that AddPipe took has closed.
	RemovePipe(p *Pipe)
	// Deliver is called by a pipe's reader goroutine with each message that
	// arrives. It may wait (back-pressure) until the pipe or socket closes.
	Deliver(p *Pipe, m *Message)
	// Send and Recv implement Socket.Send and Socket.Recv.
	Send(ctx context.Context, m *Message) error
	Recv(ctx context.Context) (*Message, error)
}

// ProtocolCloser is implemented by protocols that hold something to let go
// of when the socket closes, such as timers: Close calls CloseProtocol once
// the socket's goroutines have ended.
type ProtocolCloser interface {
	CloseProtocol()
}

// Conflater is implemented by receiving protocols that can say whether
// they honour Conflate: those whose messages reach the application through
// their RecvQueue do; a cooked REQ's replies and a cooked surveyor's
// answers go to their request or survey instead, and Conflate is refused
// there rather than accepted and ignored.
type Conflater interface {
	Conflates() bool
}

// TryReceiver is implemented by protocols whose Recv can hand over a message
// that is already waiting without a context. With a receive timeout set, the
// socket tries it before it makes the timeout's context, which costs a timer
// and several allocations that a message already there does not need.
type TryReceiver interface {
	// TryRecv returns the next message if one waits, or nil.
	TryRecv() *Message
}

// TrySender is the same for Send and the send timeout.
type TrySender interface {
	// TrySend sends m if that needs no waiting, and reports true with
	// Send's error; it reports false, leaving m alone, when Send would
	// have to wait.
	TrySend(m *Message) (bool, error)
}

// TryDeliverer is implemented by protocols that can take an arriving message
// without waiting. An inproc sender calls TryDeliver on its own goroutine,
// so the message goes straight to the receiving pattern with no reader
// goroutine in between; when it returns false (say the receive queue is
// full) the message takes the usual way, through the pipe's queue and
// Deliver, unless the protocol's queue said it will tell the sender when
// it has room (RecvQueue.TryPutFrom): then the sender waits for that.
// TryDeliver may run on any goroutine, concurrently with Deliver and with
// the sender holding its own pattern's locks: it must neither wait nor
// send.
type TryDeliverer interface {
	TryDeliver(p *Pipe, m *Message) bool
}

// RoomReporter is implemented by a TryDeliverer that can tell, without
// queueing anything, whether TryDeliver would take a message arriving on
// p now (RecvQueue.HasRoomFrom): a sender that must not drop (a publisher
// under NoDrop) asks before it sends.
type RoomReporter interface {
	HasRoom(p *Pipe) bool
}

// BatchDeliverer is implemented by protocols that can take several arriving
// messages at once (those whose Deliver only queues them). A stream pipe's
// reader then hands over everything its read buffer held in one call,
// instead of one call (and one lock, one wake-up) per message. The call
// has Deliver's rules: it may wait for room.
type BatchDeliverer interface {
	DeliverBatch(p *Pipe, ms []*Message)
}

// ProtocolInfo describes a protocol.
type ProtocolInfo struct {
	Self, Peer       uint16 // SP protocol numbers; 0 for ZeroMQ-only types
	Name, PeerName   string // "req0", "rep0", ...
	CanSend, CanRecv bool
	Raw              bool   // raw mode: headers are the application's
	ZMTPType         string // the ZeroMQ socket type it is over ZMTP; "" if none
}

// PipeSet is the list of a socket's pipes that a pattern sends on, with
// round-robin and broadcast helpers. It is safe for concurrent use.
type PipeSet struct {
	s     *Socket
	mu    sync.Mutex
	pipes []*Pipe
	// snap is a copy of pipes, replaced (never changed) under mu, so that
	// round-robin sending reads it without the lock; next is where the
	// next round starts.
	snap atomic.Pointer[[]*Pipe]
	next atomic.Uint64
	// early holds what SendRoundRobin took while no pipe was connected,
	// with Immediate(false); the first pipe to come takes it.
	early []*Message
	// gate, if set (SetGate, before the set is used), keeps pipes out of
	// round-robin sending while it says so.
	gate SendGate
}

// A SendGate keeps some of a set's pipes out of round-robin sending for a
// while: req lets a connection whose replies are matched by their order
// carry one request at a time. Claim reports whether p may take a
// message now and, if so, reserves it; Release gives back a reservation
// that p did not use (its queue was full). Both must be safe for
// concurrent use and must not wait.
type SendGate interface {
	Claim(p *Pipe) bool
	Release(p *Pipe)
}

// SetGate makes g decide which pipes round-robin sending offers messages
// to. A pattern calls it once, in Init. When g opens a pipe again, the
// pattern calls Wake. A gated set keeps nothing for a first pipe
// (Immediate(false)): SendRoundRobin waits for a pipe the gate lets in.
func (ps *PipeSet) SetGate(g SendGate) { ps.gate = g }

// Wake makes senders waiting in SendRoundRobin look at the pipes again:
// the set's gate has opened one.
func (ps *PipeSet) Wake() { ps.s.signalReady() }

// NewPipeSet makes an empty set for socket s. A pattern makes its sets
// once, in Init: each stays known to the socket, to count at Close what it
// kept for a first pipe that never came (Immediate(false)).
func NewPipeSet(s *Socket) *PipeSet {
	ps := &PipeSet{s: s}
	s.onClosed(ps.dropEarly)
	return ps
}

// dropEarly counts what Immediate(false) kept for a first pipe that never
// came as dropped (DropClosed), when the socket has closed.
func (ps *PipeSet) dropEarly() {
	ps.mu.Lock()
	early := ps.early
	ps.early = nil
	ps.mu.Unlock()
	for _, m := range early {
		ps.s.Drop(m, DropClosed)
	}
}

// Add puts p in the set.
func (ps *PipeSet) Add(p *Pipe) {
	ps.mu.Lock()
	ps.pipes = append(ps.pipes, p)
	ps.publish()
	for len(ps.early) > 0 && p.TrySend(ps.early[0]) {
		ps.early[0] = nil
		ps.early = ps.early[1:]
	}
	ps.mu.Unlock()
	ps.s.signalReady()
}

// queueEarly keeps m for the first pipe to come when there is none yet and
// Immediate(false) is set, up to SendHWM messages, and reports whether it
// did.
func (ps *PipeSet) queueEarly(m *Message) bool {
	if ps.gate != nil || ps.s.cfg.immediate.Load() {
		return false
	}
	select {
	case <-ps.s.closing: // too late: nothing would take it, or count it
		return false
	default:
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if len(ps.pipes) > 0 || int64(len(ps.early)) >= ps.s.cfg.sendHWM.Load() {
		return false
	}
	ps.early = append(ps.early, m)
	return true
}

// Remove takes p out of the set.
func (ps *PipeSet) Remove(p *Pipe) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	for i, q := range ps.pipes {
		if q == p {
			ps.pipes = append(ps.pipes[:i], ps.pipes[i+1:]...)
			ps.publish()
			if next := ps.next.Load(); next > uint64(i) {
				ps.next.CompareAndSwap(next, next-1)
			}
			return
		}
	}
}

// publish makes a copy of pipes the snapshot round-robin sending reads;
// the caller holds mu.
func (ps *PipeSet) publish() {
	snap := append([]*Pipe(nil), ps.pipes...)
	ps.snap.Store(&snap)
}

// Len returns the number of pipes in the set.
func (ps *PipeSet) Len() int {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return len(ps.pipes)
}

// TrySendRoundRobin offers m to each pipe in turn without waiting and
// returns the pipe that took it, or nil.
func (ps *PipeSet) TrySendRoundRobin(m *Message) *Pipe { return ps.tryRoundRobin(m) }

// tryRoundRobin offers m to each pipe in turn that the set's gate (if any)
// lets in, starting after the last one that took a message, and returns
// the pipe that took it. It reads the set's snapshot and takes no lock:
// concurrent senders may start their rounds at the same pipe, which only
// blurs the turns.
func (ps *PipeSet) tryRoundRobin(m *Message) *Pipe {
	sp := ps.snap.Load()
	if sp == nil {
		return nil
	}
	pipes := *sp
	gate := ps.gate
	if len(pipes) == 1 && gate == nil { // the common case: no turns to keep
		if p := pipes[0]; p.TrySend(m) {
			return p
		}
		return nil
	}
	n := uint64(len(pipes))
	start := ps.next.Load()
	if start >= n { // the set shrank since it was stored
		start = 0
	}
	j := start
	for range n {
		p := pipes[j]
		if gate == nil || gate.Claim(p) {
			if p.TrySend(m) {
				if j++; j == n {
					j = 0
				}
				if j != start {
					ps.next.Store(j)
				}
				return p
			}
			if gate != nil {
				gate.Release(p) // its queue was full
			}
		}
		if j++; j == n {
			j = 0
		}
	}
	return nil
}

// SendRoundRobin queues m on the next pipe that has room, waiting while every
// pipe is full or there is none, until ctx ends or the socket closes. It
// returns the pipe that took m, or nil when Immediate(false) kept m for the
// first pipe to come. This is the load balancing of push, req and
// surveyor-less patterns: one message goes to exactly one peer.
func (ps *PipeSet) SendRoundRobin(ctx context.Context, m *Message) (*Pipe, error) {
	if p := ps.tryRoundRobin(m); p != nil {
		return p, nil
	}
	if ps.queueEarly(m) {
		return nil, nil
	}
	s := ps.s
	s.waiters.Add(1)
	defer s.waiters.Add(-1)
	for {
		ready := s.readyChan()
		if p := ps.tryRoundRobin(m); p != nil {
			return p, nil
		}
		if ps.queueEarly(m) {
			return nil, nil
		}
		if p := s.solo.Load(); p != nil && p.flushFull() {
			continue // room made: the sender wrote its full queue itself
		}
		select {
		case <-ready:
		case <-ctx.Done():
			return nil, ctxErr(ctx)
		case <-s.closing:
			return nil, ErrClosed
		}
	}
}

// Broadcast queues m, shared or copied (shareFor), on every pipe but except
// (which may be nil), without waiting: a pipe whose queue is full misses
// the message, counted as a drop. m itself is consumed.
func (ps *PipeSet) Broadcast(m *Message, except *Pipe) {
	ps.BroadcastTo(m, func(p *Pipe) bool { return p != except })
}

// BroadcastTo is Broadcast to the pipes for which want returns true (a
// publisher's filter). want is called once per pipe, with the set's lock
// held. Every pipe but the last one wanted gets m shared, or a copy
// (shareFor); the last gets m.
func (ps *PipeSet) BroadcastTo(m *Message, want func(*Pipe) bool) {
	ps.broadcast(m, want, (*Pipe).offer)
}

// BroadcastAlways queues m on every pipe, past the pipes' high-water marks
// if need be (OfferAlways): for a subscription, which every publisher must
// get. m itself is consumed.
func (ps *PipeSet) BroadcastAlways(m *Message) {
	ps.broadcast(m, func(*Pipe) bool { return true }, (*Pipe).OfferAlways)
}

// broadcast is BroadcastTo, queuing with offer.
func (ps *PipeSet) broadcast(m *Message, want func(*Pipe) bool, offer func(*Pipe, *Message)) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	var pending *Pipe
	for _, p := range ps.pipes {
		if !want(p) {
			continue
		}
		if pending != nil {
			offer(pending, shareFor(pending, m))
		}
		pending = p
	}
	if pending == nil {
		m.Free()
		return
	}
	offer(pending, m)
}

// BroadcastToWait is BroadcastTo for a publisher that must not drop
// (libzmq's ZMQ_XPUB_NODROP): it waits until every pipe wanted has room
// for m, then queues it on each, so that none misses it. It returns an
// error, with m still the caller's, if ctx ends or the socket closes first.
// want may be called again for a pipe on each look.
func (ps *PipeSet) BroadcastToWait(ctx context.Context, m *Message, want func(*Pipe) bool) error {
	s := ps.s
	waiting := false
	defer func() {
		if waiting {
			s.waiters.Add(-1)
		}
	}()
	for {
		var ready <-chan struct{}
		if waiting {
			ready = s.readyChan()
		}
		if ps.broadcastIfRoom(m, want) {
			return nil
		}
		if !waiting {
			// Count ourselves as waiting, then look again: room made
			// before the count was not signalled.
			waiting = true
			s.waiters.Add(1)
			continue
		}
		select {
		case <-ready:
		case <-ctx.Done():
			return ctxErr(ctx)
		case <-s.closing:
			return ErrClosed
		}
	}
}

// broadcastIfRoom queues m on every pipe wanted if each has room for it, and
// reports whether it did. Under the set's lock nothing else queues on
// these pipes, so room seen stays room.
func (ps *PipeSet) broadcastIfRoom(m *Message, want func(*Pipe) bool) bool {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	n := m.Len()
	var wanted []*Pipe
	for _, p := range ps.pipes {
		if !want(p) {
			continue
		}
		if !p.roomFor(n) {
			return false
		}
		wanted = append(wanted, p)
	}
	for i, p := range wanted {
		c := m
		if i < len(wanted)-1 {
			c = shareFor(p, m)
		}
		// Room seen is room: nothing else queues on p's own queue under
		// the set's lock. Another sender may take the last room in an
		// inproc peer's queue meanwhile: then c goes on p's queue.
		if !p.trySendOr(c, sendSpill) {
			p.Drop(c, DropQueueFull)
		}
	}
	if len(wanted) == 0 {
		m.Free()
	}
	return true
}

// shareFor returns what pipe p is to be sent of m, which the caller keeps
// sending to other pipes: m itself with an owner added (Share) when p
// writes it to a stream, whose writer only reads it and frees its share
// once it is written, so that a publisher with a thousand subscribers
// does not copy each message a thousand times; a copy when p hands
// messages over by reference (inproc), whose peer owns and may change
// what it is given, or when m is a loan of shared memory.
func shareFor(p *Pipe, m *Message) *Message {
	if p.mp != nil || m.loan != nil {
		return m.Clone()
	}
	m.Share()
	return m
}

// roomFor reports whether TrySend would take a message of n bytes now; a
// closing pipe counts as having room (what it is sent is dropped, as on
// any pipe that closes).
func (p *Pipe) roomFor(n int) bool {
	if p.closing.Load() {
		return true
	}
	if q := p.directPeer(); q != nil {
		// Handed over straight to the peer's queue (handOverInproc).
		if rr, ok := q.direct.(RoomReporter); ok && !rr.HasRoom(q) {
			return false
		}
	}
	return p.sendq.roomFor(n)
}

// Offer queues m on the pipe without waiting, or drops it (counted as
// DropQueueFull): for what must not hold the pattern up, such as a probe,
// a welcome, a subscription change, or a lossy send.
func (p *Pipe) Offer(m *Message) { p.offer(m) }

// OfferAlways queues m on the pipe without waiting, past its high-water
// mark if need be: for what the peer must get however much of it there
// is, such as a subscriber's subscriptions, which are its peer's filter
// (a subscriber with 5,000 of them that connected to a ZeroMQ publisher
// got a fifth of its topics while they were offered, as libzmq's does).
// m is dropped only when the pipe is closing.
func (p *Pipe) OfferAlways(m *Message) {
	if !p.trySendOr(m, sendAlways) {
		p.Drop(m, DropClosed)
	}
}

// offer queues m without waiting, or drops it as DropQueueFull.
func (p *Pipe) offer(m *Message) {
	if !p.TrySend(m) {
		p.Drop(m, DropQueueFull)
	}
}

// AnyByReference reports whether a pipe of the set hands messages to its
// peer by reference (inproc), reading the set's snapshot without a lock.
func (ps *PipeSet) AnyByReference() bool {
	if sp := ps.snap.Load(); sp != nil {
		for _, p := range *sp {
			if p.ByReference() {
				return true
			}
		}
	}
	return false
}

// Each calls f for every pipe in the set, with the set's lock held.
func (ps *PipeSet) Each(f func(*Pipe)) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	for _, p := range ps.pipes {
		f(p)
	}
}
