// Package sub is the sub0 pattern: it receives what publishers send, keeping
// the messages whose body starts with one of its subscriptions (or, under
// InvertMatching, those that start with none). With no subscription it
// receives nothing; the empty prefix subscribes to all.
//
// When the receive queue is full, what comes from an SP publisher (nng,
// nanomsg, mangos, or pub over inproc) never stalls the connection: the
// oldest message waiting from that publisher is dropped to make room for
// it, as nng's sub0 does by default, so that a slow reader gets the newest
// messages (PreferNew; with PreferNew(false) the new message is dropped
// instead). Either drop is counted (DropQueueFull). What comes
// from a ZeroMQ publisher (over ZMTP, or an xpub over inproc) waits for
// room, as in libzmq, which holds the publisher back until it drops at its
// own high-water mark (or, under NoDrop, waits). A ZeroMQ publisher is told
// every subscription, so that it sends only what matches; the subscriber
// still filters what arrives.
//
// Subscriptions are a set, as in nng: subscribing twice is subscribing
// once. CountSubscriptions gives libzmq's rules instead, where each
// subscription counts until it is unsubscribed.
//
// Contexts (NewContext), as nng's sub0 has them, are subscribers of their
// own on the socket's connections: each has its subscriptions and its
// queue, and gets a copy of every message that matches them.
package sub

import (
	"bytes"
	"context"
	"fmt"
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
	s     *socket.Socket
	recvq *socket.RecvQueue
	raw   bool
	// mu is written by every delivery (RLock), on the sender's core over
	// inproc, and recvq is read by every Recv, on the receiver's: they sit
	// on separate cache lines (inproc pub/sub of 64 B: 205 ns a message
	// with them on one line).
	_  [64]byte
	mu sync.RWMutex
	// The subscriptions: each prefix with how many times it is subscribed
	// to (1 unless counting), and a trie to match, so that a message costs
	// its matching path whatever the number of subscriptions.
	subs     map[string]int
	match    trie.Trie
	counting bool            // CountSubscriptions: libzmq's rules, not nng's
	invert   bool            // InvertMatching: keep what matches no subscription
	zmtp     *socket.PipeSet // publishers told of every subscription (ZMTP ones, and xpubs and pubs over inproc)
	ctxs     []*Context      // the open contexts (context.go)
	nctxs    atomic.Int32    // len(ctxs), read without mu
}

// New returns a sub0 socket with no subscription.
func New(opts ...socket.Option) (*socket.Socket, error) { return socket.New(&proto{}, opts...) }

// NewRaw returns a raw sub0 socket: no filtering, every message is received.
func NewRaw(opts ...socket.Option) (*socket.Socket, error) {
	return socket.New(&proto{raw: true}, opts...)
}

// Subscribe adds a prefix; an empty prefix receives everything. Subscribing
// to a prefix twice is the same as once (as in nng), unless the socket
// counts its subscriptions (CountSubscriptions).
func Subscribe(prefix []byte) socket.Option {
	prefix = bytes.Clone(prefix)
	return filterOption("sub.Subscribe", func(p *proto) error {
		n, ok := p.subs[string(prefix)]
		switch {
		case !ok:
			if p.subs == nil {
				p.subs = map[string]int{}
			}
			p.match.Add(prefix)
		case !p.counting:
			return nil
		}
		p.subs[string(prefix)] = n + 1
		// Counting, libzmq's SUB tells its publishers every subscription,
		// a repeated one too (an XPUB_VERBOSE publisher sees each). A new
		// prefix that a context holds has been told already.
		if ok || !p.ctxHoldsLocked(prefix) {
			p.zmtp.Each(func(pp *socket.Pipe) { tell(pp, socket.ControlSubscribe, prefix) })
		}
		return nil
	})
}

// filterOption is an option that changes what the socket filters by:
// refused on a raw socket, which does not filter, and applied under mu.
func filterOption(name string, apply func(p *proto) error) socket.Option {
	return socket.ProtocolOption(name, func(p *proto) error {
		if p.raw {
			return fmt.Errorf("%w: raw sub0 does not filter", socket.ErrOptionNotApplicable)
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		return apply(p)
	})
}

// CountSubscriptions makes the socket count its subscriptions as libzmq's
// SUB does: a prefix subscribed to twice stays until it is unsubscribed
// from twice, ZeroMQ publishers are told of every Subscribe and of the
// Unsubscribe that removes a prefix, and unsubscribing from a prefix not
// subscribed to does nothing. Off (the default), the socket follows nng's
// sub0: a prefix is subscribed to or not, one Unsubscribe removes it, and
// unsubscribing from a prefix not subscribed to fails. Turning it off
// makes every prefix count once.
func CountSubscriptions(on bool) socket.Option {
	return filterOption("sub.CountSubscriptions", func(p *proto) error {
		p.counting = on
		if !on {
			for prefix := range p.subs {
				p.subs[prefix] = 1
			}
		}
		return nil
	})
}

// InvertMatching (libzmq's ZMQ_INVERT_MATCHING) makes the socket keep the
// messages that match none of its subscriptions, and drop those that
// match one. A ZeroMQ publisher must invert too (pub.InvertMatching,
// xpub.InvertMatching), since it filters by the same subscriptions; an SP
// publisher sends everything, so the subscriber's own filter decides.
func InvertMatching(on bool) socket.Option {
	return filterOption("sub.InvertMatching", func(p *proto) error {
		if on && len(p.ctxs) > 0 {
			return fmt.Errorf("%w: the socket's contexts match by prefix", socket.ErrBadState)
		}
		p.invert = on
		return nil
	})
}

// Unsubscribe removes a prefix added with Subscribe (or, counting, one of
// its subscriptions: CountSubscriptions). Removing one that is not there
// fails with socket.ErrBadOption, unless the socket counts.
func Unsubscribe(prefix []byte) socket.Option {
	return socket.ProtocolOption("sub.Unsubscribe", func(p *proto) error {
		p.mu.Lock()
		defer p.mu.Unlock()
		n, ok := p.subs[string(prefix)]
		switch {
		case !ok && p.counting:
			return nil
		case !ok:
			return fmt.Errorf("%w: not subscribed to %q", socket.ErrBadOption, prefix)
		case n > 1:
			p.subs[string(prefix)] = n - 1
			return nil
		}
		delete(p.subs, string(prefix))
		p.match.Remove(prefix)
		if !p.ctxHoldsLocked(prefix) {
			p.zmtp.Each(func(pp *socket.Pipe) { tell(pp, socket.ControlCancel, prefix) })
		}
		return nil
	})
}

func (p *proto) Info() socket.ProtocolInfo {
	return socket.ProtocolInfo{Self: sp.ProtoSub0, Peer: sp.ProtoPub0, Name: "sub0", PeerName: "pub0", CanRecv: true, Raw: p.raw, ZMTPType: zmtp.TypeSUB}
}

func (p *proto) Init(s *socket.Socket) {
	p.s = s
	p.recvq = socket.NewLazyRecvQueue(s)
	p.recvq.SetPreferNew(true)
	p.zmtp = socket.NewPipeSet(s)
}

// PreferNew says what a full receive queue does with a message from an SP
// publisher (nng's NNG_OPT_SUB_PREFNEW): on (the default, as in nng), the
// oldest message waiting from that publisher is dropped to make room for
// it, so that a slow reader gets the newest; off, the new message is
// dropped. When the oldest message waiting is another publisher's, the new
// one is dropped either way: no publisher's messages make room for
// another's. Messages from ZeroMQ publishers wait for room instead, as
// libzmq's SUB does, and are not dropped here.
func PreferNew(on bool) socket.Option {
	return socket.ProtocolOption("sub.PreferNew", func(p *proto) error {
		p.recvq.SetPreferNew(on)
		return nil
	})
}

// AddPipe tells a ZMTP publisher the subscriptions so far, and an XPUB over
// inproc too: it publishes only what it was asked for, and its application
// may want to see them. A pub over inproc is told as well, though it
// sends everything and this socket filters: it lists them (pub.Topics).
func (p *proto) AddPipe(pp *socket.Pipe) error {
	tells := pp.ZMTP() || pp.PeerName() == zmtp.TypeXPUB ||
		pp.ByReference() && pp.PeerProtocol() == sp.ProtoPub0
	if p.raw || !tells {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	pp.TellSubscriptions(slices.Values(p.toldLocked()))
	p.zmtp.Add(pp)
	return nil
}

func (p *proto) RemovePipe(pp *socket.Pipe) { p.zmtp.Remove(pp) }

// tell queues a subscription change for a ZMTP publisher, past the pipe's
// high-water mark if need be: the publisher filters by what it is told,
// so a subscription lost would be topics never sent (libzmq loses those
// past SNDHWM, as when a subscriber with more than 1,000 of them
// reconnects).
func tell(pp *socket.Pipe, c socket.Control, prefix []byte) {
	m := socket.NewMessageBytes(prefix)
	m.Control = c
	pp.OfferAlways(m)
}

// matches reports whether the socket's own queue wants a message with
// this body.
func (p *proto) matches(body []byte) bool {
	if p.raw {
		return true
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.match.Match(body) != p.invert
}

// route is matches for a message arriving from pp (m, or body where the
// message is still bytes in the pipe's read buffer), which it also gives
// to the contexts it matches. It is called once for each message.
func (p *proto) route(pp *socket.Pipe, m *socket.Message, body []byte) bool {
	if p.raw {
		return true
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	if len(p.ctxs) > 0 {
		p.feedLocked(pp, m, body)
	}
	return p.match.Match(body) != p.invert
}

func (p *proto) Deliver(pp *socket.Pipe, m *socket.Message) {
	if !p.route(pp, m, m.Body) {
		m.Free()
		return
	}
	if !p.Lossy(pp) {
		p.recvq.Put(pp, m)
		return
	}
	if !p.recvq.TryPut(pp, m) {
		pp.Drop(m, socket.DropQueueFull)
	}
}

// Lossy reports whether what pp brings is dropped when the receive queue
// is full (SP, as in nng) rather than waited for (ZMTP, and an xpub over
// inproc, as in libzmq).
func (p *proto) Lossy(pp *socket.Pipe) bool {
	return !pp.ZMTP() && pp.PeerName() != zmtp.TypeXPUB
}

// DeliveryQueue and Wants let stream pipes read in chunks and queue only
// the messages that match (socket.QueueFilter).
func (p *proto) DeliveryQueue() *socket.RecvQueue { return p.recvq }

// Wants reports whether a message with this body from pp matches one of
// the socket's subscriptions, and gives the contexts it matches their
// copies.
func (p *proto) Wants(pp *socket.Pipe, body []byte) bool { return p.route(pp, nil, body) }

// TryDeliver is Deliver for inproc's direct hand-over, which never waits:
// from a pub it drops what the full queue cannot take; from an xpub it
// declines, and the message waits in the pipe's queue for Deliver.
func (p *proto) TryDeliver(pp *socket.Pipe, m *socket.Message) bool {
	if p.Lossy(pp) || !p.matches(m.Body) {
		p.Deliver(pp, m)
		return true
	}
	if p.nctxs.Load() > 0 {
		// Declined, the message waits for Deliver, which gives the
		// contexts their copies once.
		return false
	}
	return p.recvq.TryPutFrom(pp, m)
}

// HasRoom reports whether TryDeliver would take a message from pp now
// (socket.RoomReporter): a lossy pipe always takes (and may drop).
func (p *proto) HasRoom(pp *socket.Pipe) bool { return p.Lossy(pp) || p.recvq.HasRoomFrom(pp) }

func (p *proto) Send(context.Context, *socket.Message) error { return socket.ErrNotSupported }

func (p *proto) Recv(ctx context.Context) (*socket.Message, error) { return p.recvq.Get(ctx) }

// TryRecv returns a message that already waits, or nil (socket.TryReceiver).
func (p *proto) TryRecv() *socket.Message { return p.recvq.TryGet() }
