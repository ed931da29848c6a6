// Package pub is the pub0 pattern: every message goes to every subscriber.
// SP subscribers (nng, nanomsg, mangos) filter for themselves; ZeroMQ
// subscribers (libzmq SUB over ZMTP) send their subscriptions, and the
// publisher sends each only what it subscribed to, matched with a trie. A
// subscriber's subscriptions are a set, as in libzmq's publishers: a
// duplicate SUBSCRIBE changes nothing and one CANCEL removes the topic
// (libzmq's SUB and XSUB count their own subscriptions, send every
// SUBSCRIBE, and send the CANCEL only when the last one goes). A subscriber
// whose queue is at the high-water mark misses the message; the drop is
// counted and the others are not slowed, unless NoDrop is on.
package pub

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/mqwire/mqwire/internal/trie"
	"github.com/mqwire/mqwire/socket"
	_ "github.com/mqwire/mqwire/transport/all" // every built-in transport
	"github.com/mqwire/mqwire/wire/sp"
	"github.com/mqwire/mqwire/wire/zmtp"
)

type proto struct {
	pipes  *socket.PipeSet
	raw    bool
	noDrop atomic.Bool
	invert atomic.Bool
}

// InvertMatching (libzmq's ZMQ_INVERT_MATCHING) makes the socket send a
// ZeroMQ subscriber the messages that match none of its subscriptions,
// rather than those that match one; the subscriber must invert too
// (sub.InvertMatching). SP subscribers filter for themselves and get
// everything, as before.
func InvertMatching(on bool) socket.Option {
	return socket.ProtocolOption("pub.InvertMatching", func(p *proto) error {
		p.invert.Store(on)
		return nil
	})
}

// NoDrop (libzmq's ZMQ_XPUB_NODROP, which applies to its PUB too) makes
// Send wait, rather than drop, while a subscriber the message is for has a
// full queue: Send returns once every such subscriber has room and has the
// message queued, or fails when its context or the send timeout ends (the
// message is then still the caller's, and no subscriber got it). An SP
// subscriber filters for itself, so every SP subscriber counts. A slow
// subscriber then slows the publisher, as a slow puller does a pusher.
func NoDrop(on bool) socket.Option {
	return socket.ProtocolOption("pub.NoDrop", func(p *proto) error {
		p.noDrop.Store(on)
		return nil
	})
}

// New returns a pub0 socket.
func New(opts ...socket.Option) (*socket.Socket, error) { return socket.New(&proto{}, opts...) }

// NewRaw returns a raw pub0 socket (it behaves as the cooked one).
func NewRaw(opts ...socket.Option) (*socket.Socket, error) {
	return socket.New(&proto{raw: true}, opts...)
}

func (p *proto) Info() socket.ProtocolInfo {
	return socket.ProtocolInfo{Self: sp.ProtoPub0, Peer: sp.ProtoSub0, Name: "pub0", PeerName: "sub0", CanSend: true, Raw: p.raw, ZMTPType: zmtp.TypePUB}
}

// subscriptions are what one subscriber asked for. The pipe's reader
// writes them, senders read them. listed: the subscriber filters for
// itself (our sub over inproc), and the set is kept for Topics only.
type subscriptions struct {
	mu     sync.RWMutex
	trie   trie.Trie
	listed bool // set before the pipe is added
}

func (p *proto) Init(s *socket.Socket) { p.pipes = socket.NewPipeSet(s) }

func (p *proto) AddPipe(pp *socket.Pipe) error {
	// ZMTP subscribers send their subscriptions, and so does an XSUB over
	// inproc; an SP subscriber filters for itself. Our sub over inproc
	// filters for itself too, and tells its subscriptions only for Topics.
	switch {
	case pp.ZMTP() || pp.PeerName() == zmtp.TypeXSUB:
		pp.Data = &subscriptions{}
	case pp.ByReference() && pp.PeerProtocol() == sp.ProtoSub0:
		pp.Data = &subscriptions{listed: true}
	}
	p.pipes.Add(pp)
	return nil
}

func (p *proto) RemovePipe(pp *socket.Pipe) { p.pipes.Remove(pp) }

// Deliver takes the subscriptions of a ZMTP subscriber, and of a sub or
// xsub over inproc; anything else is discarded (SP subscribers send
// nothing).
func (p *proto) Deliver(pp *socket.Pipe, m *socket.Message) {
	subs, ok := pp.Data.(*subscriptions)
	if !ok || m.Control == socket.ControlNone {
		pp.Drop(m, socket.DropBadHeader)
		return
	}
	subs.mu.Lock()
	sub := m.Subscribes()
	for topic := range m.Topics() {
		subs.trie.Remove(topic) // a set: at most one count per topic
		if sub {
			subs.trie.Add(topic)
		}
	}
	subs.mu.Unlock()
	m.Free()
}

// Send publishes m to every SP subscriber and to the ZMTP subscribers whose
// subscriptions match it; under NoDrop it waits for them to have room.
func (p *proto) Send(ctx context.Context, m *socket.Message) error {
	invert := p.invert.Load()
	want := func(pp *socket.Pipe) bool {
		subs, ok := pp.Data.(*subscriptions)
		if !ok || subs.listed {
			return true // SP, or our sub over inproc: the subscriber filters
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

func (p *proto) Recv(context.Context) (*socket.Message, error) { return nil, socket.ErrNotSupported }

// ErrNotPUB is returned by Topics on a socket that is not a pub.
var ErrNotPUB = errors.New("pub: not a pub socket")

// Topics returns the topics the socket's subscribers are subscribed to,
// sorted and each once ("" is a subscription to everything), as
// go-zeromq/zmq4's PUB lists them: those of ZeroMQ subscribers (over any
// transport) and of sub and xsub sockets of this process over inproc. An
// SP subscriber (nng, nanomsg, mangos) keeps its subscriptions to itself
// and is not in the list. A publisher can wait for a subscriber's topic to
// appear here before it publishes, so that the subscriber misses nothing.
func Topics(s *socket.Socket) ([]string, error) {
	p, ok := s.Protocol().(*proto)
	if !ok {
		return nil, ErrNotPUB
	}
	var topics []string
	p.pipes.Each(func(pp *socket.Pipe) {
		subs, ok := pp.Data.(*subscriptions)
		if !ok {
			return
		}
		subs.mu.RLock()
		defer subs.mu.RUnlock()
		for topic := range subs.trie.All() {
			topics = append(topics, string(topic))
		}
	})
	slices.Sort(topics)
	return slices.Compact(topics), nil
}
