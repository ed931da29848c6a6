// Package xsub is ZeroMQ's XSUB socket: a subscriber whose subscriptions are
// messages the application sends. It exists only over ZMTP (its peers are
// libzmq or mqwire PUB and XPUB sockets); it has no SP counterpart, so it
// dials in ZMTP and its listeners refuse SP peers.
//
// Send takes libzmq's form: a one-frame message whose body is 1 then a
// topic subscribes to the topic, 0 then a topic cancels one subscription to
// it. As in libzmq 4.3.4 the socket counts its subscriptions: every
// subscription is sent to every publisher, a cancel only when it removes
// the last subscription to its topic (subscribe twice, cancel once: still
// subscribed). A publisher that connects later is sent every topic
// subscribed to. Subscriptions and cancels are never lost: they queue past
// a pipe's high-water mark if need be (libzmq's XSUB loses those past
// SNDHWM). Any other message (empty, multipart, or starting with another
// byte) is sent upstream to every publisher as data, for an XPUB to pass
// up; a publisher whose queue is full misses that (counted as
// socket.DropQueueFull).
//
// Recv returns every message the publishers send: an XSUB does not filter
// (the publishers do). When the receive queue is full, the XSUB takes no
// more until it has room, as libzmq's does: the publishers' queues fill,
// and then a PUB (or an XPUB by default) drops what it sends to this
// subscriber, counting it, while an XPUB with NoDrop waits.
package xsub

import (
	"context"
	"maps"
	"sync"

	"github.com/mqwire/mqwire/socket"
	_ "github.com/mqwire/mqwire/transport/all" // every built-in transport
	"github.com/mqwire/mqwire/wire/zmtp"
)

type proto struct {
	recvq *socket.RecvQueue
	pipes *socket.PipeSet

	mu   sync.Mutex
	subs map[string]int // topic -> subscriptions to it
}

// New returns an XSUB socket with no subscription.
func New(opts ...socket.Option) (*socket.Socket, error) { return socket.New(&proto{}, opts...) }

func (p *proto) Info() socket.ProtocolInfo {
	return socket.ProtocolInfo{Name: "xsub", PeerName: "xpub", CanSend: true, CanRecv: true, ZMTPType: zmtp.TypeXSUB}
}

func (p *proto) Init(s *socket.Socket) {
	p.recvq = socket.NewLazyRecvQueue(s)
	p.pipes = socket.NewPipeSet(s)
	p.subs = map[string]int{}
}

// AddPipe sends a new publisher every topic subscribed to, once each.
func (p *proto) AddPipe(pp *socket.Pipe) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	pp.TellSubscriptions(maps.Keys(p.subs))
	p.pipes.Add(pp)
	return nil
}

func (p *proto) RemovePipe(pp *socket.Pipe) { p.pipes.Remove(pp) }

func control(c socket.Control, topic []byte) *socket.Message {
	m := socket.NewMessageBytes(topic)
	m.Control = c
	return m
}

// Deliver queues what a publisher sends, waiting for room.
func (p *proto) Deliver(pp *socket.Pipe, m *socket.Message) {
	if m.Control != socket.ControlNone {
		pp.Drop(m, socket.DropBadHeader) // a publisher does not subscribe
		return
	}
	p.recvq.Put(pp, m)
}

// TryDeliver is Deliver for inproc's direct hand-over: the message is
// queued if there is room.
func (p *proto) TryDeliver(pp *socket.Pipe, m *socket.Message) bool {
	if m.Control != socket.ControlNone {
		p.Deliver(pp, m)
		return true
	}
	return p.recvq.TryPutFrom(pp, m)
}

// HasRoom reports whether TryDeliver would take a message from pp now
// (socket.RoomReporter), for a publisher under NoDrop.
func (p *proto) HasRoom(pp *socket.Pipe) bool { return p.recvq.HasRoomFrom(pp) }

// Send applies and forwards a subscription or cancel, or sends any other
// message upstream to every publisher.
// TrySend is Send, which never waits (socket.TrySender).
func (p *proto) TrySend(m *socket.Message) (bool, error) {
	return true, p.Send(context.Background(), m)
}

func (p *proto) Send(_ context.Context, m *socket.Message) error {
	if len(m.Frames) > 0 || len(m.Body) == 0 || m.Body[0] > 1 {
		m.Control = socket.ControlNone
		p.pipes.Broadcast(m, nil)
		return nil
	}
	sub := m.Body[0] == 1
	topic := m.Body[1:]
	p.mu.Lock()
	defer p.mu.Unlock()
	if sub {
		p.subs[string(topic)]++
	} else {
		n, ok := p.subs[string(topic)]
		if !ok {
			m.Free()
			return nil
		}
		if n > 1 {
			p.subs[string(topic)] = n - 1
			m.Free()
			return nil
		}
		delete(p.subs, string(topic))
	}
	c := socket.ControlCancel
	if sub {
		c = socket.ControlSubscribe
	}
	p.pipes.BroadcastAlways(control(c, topic))
	m.Free()
	return nil
}

// Recv returns the next message a publisher sent.
func (p *proto) Recv(ctx context.Context) (*socket.Message, error) { return p.recvq.Get(ctx) }

// TryRecv returns a message that already waits, or nil (socket.TryReceiver).
func (p *proto) TryRecv() *socket.Message { return p.recvq.TryGet() }
