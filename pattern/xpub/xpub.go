// Package xpub is ZeroMQ's XPUB socket: a publisher that also hands its
// subscribers' subscriptions to the application. It exists only over ZMTP
// (its peers are libzmq or mqwire SUB and XSUB sockets); it has no SP
// counterpart, so it dials in ZMTP and its listeners refuse SP peers.
//
// Send publishes as pub does: each subscriber gets the messages whose first
// frame starts with one of its subscriptions, and a subscriber whose queue
// is full misses the message (counted as socket.DropQueueFull), unless
// NoDrop is on: then Send waits until every subscriber the message is for
// has room. WelcomeMessage sends each new subscriber a message of its own
// when it connects.
//
// Recv returns what the subscribers send upstream, in libzmq's form: a
// one-frame message whose body is 1 then the topic for a subscription, 0
// then the topic for a cancel. As in libzmq 4.3.4, the socket keeps which
// subscribers want each topic, and by default only the first subscription
// to a topic (across all subscribers) and the cancel that leaves no
// subscriber to it are passed up; a cancel for a topic the subscriber had
// not subscribed to is passed up too. Verbose passes up every subscription,
// Verboser every subscription and every cancel. A subscriber that
// disconnects cancels its subscriptions. Messages an XSUB sends upstream
// that are not subscriptions are passed up as they are.
//
// Manual (libzmq's ZMQ_XPUB_MANUAL) leaves subscribing to the
// application: every subscription and cancel is passed up and none is
// applied until the application applies it, to the subscriber it came from
// or to another, with Subscribe and Unsubscribe. That is how a publisher
// vets, rewrites or refuses subscriptions.
//
// A subscriber's subscriptions are a set, as in libzmq: subscribing twice
// from one connection is the same as once, and one cancel removes it (a
// ZeroMQ SUB or XSUB counts its own subscriptions and sends the cancel
// only when the last is gone).
//
// What the subscribers send waits in the receive queue until the
// application reads it: up to RecvHWM messages from each subscriber, but
// up to 65,536 subscription notifications (libzmq queues them without
// bound), so that an application that reads seldom or never still has
// every subscription applied. Past that, the subscriber whose message does
// not fit is not read from until the application reads. Subscriptions take
// effect for publishing as they arrive, before the application reads them.
package xpub

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/mqwire/mqwire/internal/trie"
	"github.com/mqwire/mqwire/socket"
	_ "github.com/mqwire/mqwire/transport/all" // every built-in transport
	"github.com/mqwire/mqwire/wire/zmtp"
)

type proto struct {
	s     *socket.Socket
	pipes *socket.PipeSet
	recvq *socket.RecvQueue

	mu            sync.Mutex
	topics        map[string]int // topic -> number of subscribers to it
	verboseSubs   bool
	verboseCancel bool
	welcome       []byte // sent to each new subscriber, if not nil
	manual        bool

	noDrop atomic.Bool
	invert atomic.Bool
}

// New returns an XPUB socket.
func New(opts ...socket.Option) (*socket.Socket, error) { return socket.New(&proto{}, opts...) }

// Verbose (libzmq's ZMQ_XPUB_VERBOSE) passes every subscription up to the
// application, not only the first to a topic; cancels are passed up only
// when the last subscriber to a topic cancels. Verbose(false) turns both
// Verbose and Verboser off.
func Verbose(on bool) socket.Option {
	return socket.ProtocolOption("xpub.Verbose", func(p *proto) error {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.verboseSubs, p.verboseCancel = on, false
		return nil
	})
}

// Verboser (libzmq's ZMQ_XPUB_VERBOSER) passes every subscription and every
// cancel up to the application, including those of a subscriber that
// disconnects.
func Verboser(on bool) socket.Option {
	return socket.ProtocolOption("xpub.Verboser", func(p *proto) error {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.verboseSubs, p.verboseCancel = on, on
		return nil
	})
}

// NoDrop (libzmq's ZMQ_XPUB_NODROP) makes Send wait, rather than drop,
// while a subscriber that the message is for has a full queue: Send
// returns once every such subscriber has room and has the message queued,
// or fails when its context or the send timeout ends (the message is then
// still the caller's, and no subscriber got it). A slow subscriber then
// slows the publisher, as a slow puller does a pusher.
func NoDrop(on bool) socket.Option {
	return socket.ProtocolOption("xpub.NoDrop", func(p *proto) error {
		p.noDrop.Store(on)
		return nil
	})
}

// WelcomeMessage (libzmq's ZMQ_XPUB_WELCOME_MSG) sends body to each
// subscriber as it connects, before anything published. A ZeroMQ SUB
// filters it like any message, so it reaches subscribers that subscribe to
// a prefix of it. An empty or nil body sends nothing (the default).
func WelcomeMessage(body []byte) socket.Option {
	return socket.ProtocolOption("xpub.WelcomeMessage", func(p *proto) error {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.welcome = nil
		if len(body) > 0 {
			p.welcome = bytes.Clone(body)
		}
		return nil
	})
}

// Manual (libzmq's ZMQ_XPUB_MANUAL) makes the socket pass every
// subscription and cancel up without applying it; the application applies
// what it chooses with Subscribe and Unsubscribe. A subscriber that leaves
// has a cancel passed up for each topic it was subscribed to.
func Manual(on bool) socket.Option {
	return socket.ProtocolOption("xpub.Manual", func(p *proto) error {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.manual = on
		return nil
	})
}

// InvertMatching (libzmq's ZMQ_INVERT_MATCHING) makes the socket send each
// subscriber the messages that match none of its subscriptions, rather
// than those that match one; the subscribers must invert too
// (sub.InvertMatching).
func InvertMatching(on bool) socket.Option {
	return socket.ProtocolOption("xpub.InvertMatching", func(p *proto) error {
		p.invert.Store(on)
		return nil
	})
}

// ErrNotXPUB is returned by Subscribe, Unsubscribe and Topics on a socket
// that is not an xpub.
var ErrNotXPUB = errors.New("xpub: not an xpub socket")

// Subscribe subscribes the subscriber on pipe (the Pipe of a message Recv
// returned) to topic, as if it had asked: what is published to topic goes
// to it from now on. It is how an application under Manual applies a
// subscription. It fails with socket.ErrNoPeer if the subscriber is gone.
func Subscribe(s *socket.Socket, pipe socket.PipeID, topic []byte) error {
	return change(s, pipe, topic, true)
}

// Unsubscribe takes topic away from the subscriber on pipe, as if it had
// cancelled it. It fails with socket.ErrNoPeer if the subscriber is gone.
func Unsubscribe(s *socket.Socket, pipe socket.PipeID, topic []byte) error {
	return change(s, pipe, topic, false)
}

// Topics returns the topics the socket's subscribers are subscribed to,
// sorted and each once ("" is a subscription to everything), as
// go-zeromq/zmq4's XPUB lists them; under Manual, those the application
// applied with Subscribe.
func Topics(s *socket.Socket) ([]string, error) {
	p, ok := s.Protocol().(*proto)
	if !ok {
		return nil, ErrNotXPUB
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Sorted(maps.Keys(p.topics)), nil
}

func change(s *socket.Socket, pipe socket.PipeID, topic []byte, sub bool) error {
	p, ok := s.Protocol().(*proto)
	if !ok {
		return ErrNotXPUB
	}
	pp := s.Pipe(pipe)
	if pp == nil {
		return fmt.Errorf("%w: pipe %d", socket.ErrNoPeer, pipe)
	}
	subs, ok := pp.Data.(*subscriptions)
	if !ok {
		return fmt.Errorf("%w: pipe %d", socket.ErrNoPeer, pipe)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	subs.mu.Lock()
	defer subs.mu.Unlock()
	if subs.topics == nil { // the subscriber left
		return fmt.Errorf("%w: pipe %d", socket.ErrNoPeer, pipe)
	}
	p.apply(subs, sub, string(topic))
	return nil
}

// apply makes a subscription or cancel take effect for subs and reports
// whether it was news (a topic added or removed) and whether it was the
// first subscriber to the topic or the last to leave it. p.mu and subs.mu
// are held.
func (p *proto) apply(subs *subscriptions, sub bool, topic string) (changed, edge bool) {
	_, had := subs.topics[topic]
	switch {
	case sub && !had:
		subs.topics[topic] = struct{}{}
		subs.trie.Add([]byte(topic))
		p.topics[topic]++
		return true, p.topics[topic] == 1
	case !sub && had:
		delete(subs.topics, topic)
		subs.trie.Remove([]byte(topic))
		return true, p.forget(topic)
	}
	return false, false
}

func (p *proto) Info() socket.ProtocolInfo {
	return socket.ProtocolInfo{Name: "xpub", PeerName: "xsub", CanSend: true, CanRecv: true, ZMTPType: zmtp.TypeXPUB}
}

// subscriptions are what one subscriber asked for: the set of its topics,
// and the same as a trie to match messages against. The pipe's reader
// writes them, senders read them.
type subscriptions struct {
	mu     sync.RWMutex
	trie   trie.Trie
	topics map[string]struct{}
}

func (p *proto) Init(s *socket.Socket) {
	p.s = s
	p.pipes = socket.NewPipeSet(s)
	p.recvq = socket.NewLazyRecvQueue(s)
	p.topics = map[string]int{}
}

func (p *proto) AddPipe(pp *socket.Pipe) error {
	pp.Data = &subscriptions{topics: map[string]struct{}{}}
	p.mu.Lock()
	welcome := p.welcome
	p.mu.Unlock()
	if welcome != nil {
		// Before the pipe joins the set: nothing published is queued
		// on it ahead of the welcome, and its queue is empty.
		pp.Offer(socket.NewMessageBytes(welcome))
	}
	p.pipes.Add(pp)
	return nil
}

// RemovePipe cancels the subscriptions of a subscriber that left, passing
// up the cancels that leave a topic without subscribers (all of them with
// Verboser). They are passed up only if the receive queue has room.
func (p *proto) RemovePipe(pp *socket.Pipe) {
	p.pipes.Remove(pp)
	subs, ok := pp.Data.(*subscriptions)
	if !ok {
		return
	}
	var notes []*socket.Message
	p.mu.Lock()
	subs.mu.Lock()
	for topic := range subs.topics {
		last := p.forget(topic)
		if last || p.verboseCancel || p.manual {
			notes = append(notes, notification(false, []byte(topic), pp))
		}
	}
	subs.topics = nil
	subs.trie = trie.Trie{}
	subs.mu.Unlock()
	p.mu.Unlock()
	for _, m := range notes {
		if !p.recvq.TryPutWithin(pp, m, maxNotifications) {
			pp.Drop(m, socket.DropQueueFull)
		}
	}
}

// forget takes one subscriber away from topic and reports whether it was
// the last. p.mu is held.
func (p *proto) forget(topic string) bool {
	n := p.topics[topic] - 1
	if n <= 0 {
		delete(p.topics, topic)
		return true
	}
	p.topics[topic] = n
	return false
}

// notification is a subscription change as libzmq's XPUB hands it up.
func notification(sub bool, topic []byte, pp *socket.Pipe) *socket.Message {
	m := socket.NewMessage(1 + len(topic))
	m.Body[0] = 0
	if sub {
		m.Body[0] = 1
	}
	copy(m.Body[1:], topic)
	m.Pipe = pp.ID()
	return m
}

// Deliver applies a subscriber's subscription or cancel and passes it up
// when libzmq would; other messages (an XSUB's) are passed up as they are.
func (p *proto) Deliver(pp *socket.Pipe, m *socket.Message) {
	subs, ok := pp.Data.(*subscriptions)
	if !ok {
		pp.Drop(m, socket.DropClosed)
		return
	}
	if m.Control == socket.ControlNone {
		m.Pipe = pp.ID()
		p.recvq.Put(pp, m)
		return
	}
	sub := m.Subscribes()
	for topic := range m.Topics() {
		p.change(pp, subs, sub, topic)
	}
	m.Free()
}

// change applies one subscription or cancel of a subscriber and passes it
// up when libzmq would.
func (p *proto) change(pp *socket.Pipe, subs *subscriptions, sub bool, topic []byte) {
	var notify bool
	p.mu.Lock()
	subs.mu.Lock()
	switch {
	case p.manual:
		notify = true // the application decides
	case sub:
		_, edge := p.apply(subs, true, string(topic))
		notify = edge || p.verboseSubs
	default:
		changed, edge := p.apply(subs, false, string(topic))
		// libzmq passes up a cancel of what was not subscribed.
		notify = !changed || edge || p.verboseCancel
	}
	subs.mu.Unlock()
	p.mu.Unlock()
	if !notify {
		return
	}
	// A notification that waited for room would hold up the subscriptions
	// behind it, which the publisher needs whether or not the application
	// reads: libzmq queues its notifications without bound; this bound
	// keeps what a subscriber can make us hold finite.
	p.recvq.PutWithin(pp, notification(sub, topic, pp), maxNotifications)
}

// maxNotifications is how many subscription notifications from one
// subscriber wait unread (or RecvHWM, if more) before that subscriber is
// read from no further until the application reads.
const maxNotifications = 1 << 16

// Send publishes m to the subscribers whose subscriptions match its first
// frame; under NoDrop it waits for them to have room.
func (p *proto) Send(ctx context.Context, m *socket.Message) error {
	invert := p.invert.Load()
	want := func(pp *socket.Pipe) bool {
		subs, ok := pp.Data.(*subscriptions)
		if !ok {
			return false
		}
		subs.mu.RLock()
		defer subs.mu.RUnlock()
		return subs.trie.Match(m.Body) != invert
	}
	if p.noDrop.Load() {
		return p.pipes.BroadcastToWait(ctx, m, want)
	}
	p.pipes.BroadcastTo(m, want)
	return nil
}

// TrySend publishes m unless NoDrop may make Send wait (socket.TrySender).
func (p *proto) TrySend(m *socket.Message) (bool, error) {
	if p.noDrop.Load() {
		return false, nil
	}
	return true, p.Send(context.Background(), m)
}

// Recv returns the next subscription, cancel or upstream message.
func (p *proto) Recv(ctx context.Context) (*socket.Message, error) { return p.recvq.Get(ctx) }

// TryRecv returns a message that already waits, or nil (socket.TryReceiver).
func (p *proto) TryRecv() *socket.Message { return p.recvq.TryGet() }
