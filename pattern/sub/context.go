package sub

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/mqwire/mqwire/internal/trie"
	"github.com/mqwire/mqwire/socket"
)

// Context is a subscriber of its own on a cooked sub0 socket, as nng's sub0
// contexts are: it has its own subscriptions and its own queue of the
// messages that match them, and receives independently of the socket and
// of its other contexts. Each message that arrives goes to every context
// it matches (each gets a copy), and to the socket's own queue if it
// matches the socket's subscriptions. So one connection can feed several
// consumers, each interested in its own topics.
//
// A context's queue holds as many messages as the socket's RecvHWM when
// the context was made (at most 65,536; SetQueueLen changes it); when it
// is full the oldest waiting message is
// dropped for the new one (nng's default, PreferNew), counted against the
// pipe it came from (DropQueueFull). A context never holds a publisher
// back. ZeroMQ publishers are told of every prefix that the socket or any
// of its contexts subscribes to, and of its cancellation once none does.
// Contexts match by prefix only: a socket under InvertMatching has none.
type Context struct {
	p      *proto
	subs   map[string]struct{} // under p.mu
	match  trie.Trie           // under p.mu
	q      atomic.Pointer[ctxQueue]
	done   chan struct{} // closed by Close
	closed atomic.Bool
	// putMu makes a full queue's drop of its oldest message and the put
	// of the new one a single step, for deliveries from several pipes.
	putMu sync.Mutex
}

// maxContextQueue bounds a context's queue, which is made whole when the
// context is (RecvHWM goes up to 16 M).
const maxContextQueue = 1 << 16

// ctxQueue is a context's queue; SetQueueLen replaces it with another,
// closing replaced so that a Recv waiting on it looks again.
type ctxQueue struct {
	ch       chan *socket.Message
	replaced chan struct{}
}

func newCtxQueue(n int) *ctxQueue {
	return &ctxQueue{ch: make(chan *socket.Message, n), replaced: make(chan struct{})}
}

// queue returns the context's current queue.
func (c *Context) queue() chan *socket.Message { return c.q.Load().ch }

// NewContext returns a new context, with no subscription, on a cooked
// sub0 socket.
func NewContext(s *socket.Socket) (*Context, error) {
	p, ok := s.Protocol().(*proto)
	if !ok || p.raw {
		return nil, fmt.Errorf("%w: contexts need a cooked sub0 socket", socket.ErrNotSupported)
	}
	c := &Context{p: p, subs: map[string]struct{}{}, done: make(chan struct{})}
	c.q.Store(newCtxQueue(min(s.RecvHWM(), maxContextQueue)))
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.invert {
		return nil, fmt.Errorf("%w: contexts match by prefix; the socket inverts its matching", socket.ErrBadState)
	}
	p.ctxs = append(p.ctxs, c)
	p.nctxs.Store(int32(len(p.ctxs)))
	return c, nil
}

// Subscribe adds a prefix to the context's subscriptions; an empty prefix
// receives everything. Subscribing to a prefix twice is the same as once.
func (c *Context) Subscribe(prefix []byte) error {
	p := c.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if c.closed.Load() {
		return socket.ErrClosed
	}
	if _, ok := c.subs[string(prefix)]; ok {
		return nil
	}
	told := p.heldLocked(prefix)
	c.subs[string(prefix)] = struct{}{}
	c.match.Add(prefix)
	if !told {
		prefix = bytes.Clone(prefix)
		p.zmtp.Each(func(pp *socket.Pipe) { tell(pp, socket.ControlSubscribe, prefix) })
	}
	return nil
}

// Unsubscribe removes a prefix added with Subscribe, and the messages
// waiting for the context that match none of its subscriptions any more
// (as mangos's sub contexts do); removing a prefix that is not there fails
// with socket.ErrBadOption.
func (c *Context) Unsubscribe(prefix []byte) error {
	p := c.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if c.closed.Load() {
		return socket.ErrClosed
	}
	if _, ok := c.subs[string(prefix)]; !ok {
		return fmt.Errorf("%w: context not subscribed to %q", socket.ErrBadOption, prefix)
	}
	c.dropSubLocked(prefix)
	c.pruneLocked()
	return nil
}

// pruneLocked frees the messages waiting that the context's subscriptions
// no longer match, keeping the others in order. Under p.mu, which holds
// deliveries off; a Recv may take messages meanwhile.
func (c *Context) pruneLocked() {
	var keep []*socket.Message
	q := c.queue()
	for range len(q) {
		select {
		case m := <-q:
			if c.match.Match(m.Body) {
				keep = append(keep, m)
			} else {
				m.Free()
			}
		default:
		}
	}
	for _, m := range keep {
		q <- m // room: only this loop puts now
	}
}

// SetQueueLen makes the context's queue hold n messages, 1 to 65,536
// (mangos's OptionReadQLen on a sub context). The newest n of those
// waiting are kept, the older ones freed.
func (c *Context) SetQueueLen(n int) error {
	if n < 1 || n > maxContextQueue {
		return fmt.Errorf("%w: sub.Context.SetQueueLen(%d): 1 to %d", socket.ErrBadOption, n, maxContextQueue)
	}
	p := c.p
	p.mu.Lock() // holds deliveries and pruning off
	defer p.mu.Unlock()
	if c.closed.Load() {
		return socket.ErrClosed
	}
	c.putMu.Lock()
	defer c.putMu.Unlock()
	old := c.q.Load()
	var waiting []*socket.Message
	for draining := true; draining; {
		select {
		case m := <-old.ch:
			waiting = append(waiting, m)
		default:
			draining = false
		}
	}
	if len(waiting) > n {
		for _, m := range waiting[:len(waiting)-n] {
			m.Free()
		}
		waiting = waiting[len(waiting)-n:]
	}
	q := newCtxQueue(n)
	for _, m := range waiting {
		q.ch <- m
	}
	c.q.Store(q)
	close(old.replaced)
	return nil
}

// QueueLen returns how many messages the context's queue holds.
func (c *Context) QueueLen() int { return cap(c.queue()) }

// dropSubLocked removes prefix from the context's subscriptions and tells
// ZeroMQ publishers when no one subscribes to it any more.
func (c *Context) dropSubLocked(prefix []byte) {
	delete(c.subs, string(prefix))
	c.match.Remove(prefix)
	if !c.p.heldLocked(prefix) {
		prefix = bytes.Clone(prefix)
		c.p.zmtp.Each(func(pp *socket.Pipe) { tell(pp, socket.ControlCancel, prefix) })
	}
}

// Recv waits for the next message that matches the context's
// subscriptions, bounded by ctx and the socket's RecvTimeout.
func (c *Context) Recv(ctx context.Context) (*socket.Message, error) {
	if m := c.TryRecv(); m != nil {
		return m, nil
	}
	if c.closed.Load() {
		return nil, socket.ErrClosed
	}
	s := c.p.s
	ctx, w := s.WithRecvTimeout(ctx)
	defer w.End()
	if err := s.ReadThrough(ctx, func() bool { return len(c.queue()) > 0 }); err != nil {
		return nil, err
	}
	if m := c.TryRecv(); m != nil {
		return m, nil
	}
	s.RecvWaiting(1)
	defer s.RecvWaiting(-1)
	for {
		q := c.q.Load()
		select {
		case m := <-q.ch:
			return m, nil
		case <-q.replaced: // SetQueueLen: wait on the new queue
		case <-c.done:
			return nil, socket.ErrClosed
		case <-ctx.Done():
			return nil, socket.CtxErr(ctx)
		case <-s.Closing():
			return nil, socket.ErrClosed
		}
	}
}

// TryRecv returns a message that already waits for the context, or nil.
func (c *Context) TryRecv() *socket.Message {
	select {
	case m := <-c.queue():
		return m
	default:
		return nil
	}
}

// Close ends the context: its subscriptions go (ZeroMQ publishers are
// told of those no one else holds), the messages waiting for it are
// freed, and a Recv waiting on it returns socket.ErrClosed.
func (c *Context) Close() error {
	p := c.p
	p.mu.Lock()
	if c.closed.Swap(true) {
		p.mu.Unlock()
		return socket.ErrClosed
	}
	p.ctxs = slices.DeleteFunc(p.ctxs, func(x *Context) bool { return x == c })
	p.nctxs.Store(int32(len(p.ctxs)))
	for _, prefix := range slices.Sorted(maps.Keys(c.subs)) {
		c.dropSubLocked([]byte(prefix))
	}
	p.mu.Unlock()
	// No delivery reaches the context from here on: deliveries hold p.mu.
	close(c.done)
	q := c.queue() // SetQueueLen replaces it no more: closed is set
	for {
		select {
		case m := <-q:
			m.Free()
		default:
			return nil
		}
	}
}

// offer puts m, the context's copy of a message from pp, on its queue,
// dropping the oldest message waiting when the queue is full. Called with
// p.mu read-held.
func (c *Context) offer(pp *socket.Pipe, m *socket.Message) {
	c.putMu.Lock()
	defer c.putMu.Unlock()
	q := c.queue()
	select {
	case q <- m:
		return
	default:
	}
	select {
	case old := <-q:
		dropFrom(pp, old)
	default: // a receiver took one meanwhile
	}
	select {
	case q <- m:
	default:
		dropFrom(pp, m)
	}
}

// dropFrom counts m as dropped for a full queue against pp and frees it.
func dropFrom(pp *socket.Pipe, m *socket.Message) {
	if pp == nil {
		m.Free()
		return
	}
	pp.Drop(m, socket.DropQueueFull)
}

// heldLocked reports whether the socket or any of its contexts subscribes
// to prefix: what ZeroMQ publishers have been told. Under p.mu.
func (p *proto) heldLocked(prefix []byte) bool {
	if _, ok := p.subs[string(prefix)]; ok {
		return true
	}
	return p.ctxHoldsLocked(prefix)
}

// ctxHoldsLocked reports whether any context subscribes to prefix.
func (p *proto) ctxHoldsLocked(prefix []byte) bool {
	for _, c := range p.ctxs {
		if _, ok := c.subs[string(prefix)]; ok {
			return true
		}
	}
	return false
}

// toldLocked returns every prefix ZeroMQ publishers are to know: the
// socket's and its contexts'.
func (p *proto) toldLocked() []string {
	if len(p.ctxs) == 0 {
		return slices.Collect(maps.Keys(p.subs))
	}
	all := maps.Clone(p.subs)
	if all == nil {
		all = map[string]int{}
	}
	for _, c := range p.ctxs {
		for prefix := range c.subs {
			all[prefix] = 1
		}
	}
	return slices.Collect(maps.Keys(all))
}

// feedLocked gives each context that body matches its copy: of m, all
// its frames, or, where the message is still bytes in a pipe's read
// buffer (m nil), of body. Under p.mu (read).
func (p *proto) feedLocked(pp *socket.Pipe, m *socket.Message, body []byte) {
	for _, c := range p.ctxs {
		if !c.match.Match(body) {
			continue
		}
		var cp *socket.Message
		if m != nil {
			cp = m.Clone()
		} else {
			cp = socket.NewMessageBytes(body)
			cp.Pipe = pp.ID()
		}
		c.offer(pp, cp)
	}
}
