// Package dealer is ZeroMQ's DEALER socket type: an asynchronous requester
// with libzmq's semantics. Send hands each message to exactly one peer,
// round robin over the peers whose queues have room, and waits (up to the
// send timeout) while every queue is at its high-water mark or there is no
// peer; Recv takes messages fairly from all peers. Frames pass through
// untouched: an application talking to a REP puts the empty delimiter frame
// in front of its request itself, and finds it in front of the reply.
//
// DEALER has no SP counterpart: it speaks ZMTP over tcp and ipc (to libzmq
// or mqwire ROUTER, REP, DEALER sockets) and pairs with other ZeroMQ-only
// mqwire sockets (ROUTER, DEALER) over inproc.
package dealer

import (
	"context"
	"sync/atomic"

	"github.com/mqwire/mqwire/socket"
	_ "github.com/mqwire/mqwire/transport/all" // every built-in transport
	"github.com/mqwire/mqwire/wire/zmtp"
)

type proto struct {
	pipes *socket.PipeSet
	recvq *socket.RecvQueue
	probe atomic.Bool
}

// ProbeRouter (libzmq's ZMQ_PROBE_ROUTER) sends each peer an empty message
// as soon as the connection is up, so that a ROUTER peer learns of it (it
// receives the routing id and an empty frame) before anything else is
// sent. It applies to connections made after the call.
func ProbeRouter(on bool) socket.Option {
	return socket.ProtocolOption("dealer.ProbeRouter", func(p *proto) error {
		p.probe.Store(on)
		return nil
	})
}

// New returns a DEALER socket. socket.Identity sets the routing id a ROUTER
// peer knows it by.
func New(opts ...socket.Option) (*socket.Socket, error) { return socket.New(&proto{}, opts...) }

func (p *proto) Info() socket.ProtocolInfo {
	return socket.ProtocolInfo{Name: "dealer", PeerName: "router", CanSend: true, CanRecv: true, ZMTPType: zmtp.TypeDEALER}
}

func (p *proto) Init(s *socket.Socket) {
	p.pipes = socket.NewPipeSet(s)
	p.recvq = socket.NewLazyRecvQueue(s)
}

func (p *proto) AddPipe(pp *socket.Pipe) error {
	if p.probe.Load() {
		pp.Offer(socket.NewMessage(0))
	}
	p.pipes.Add(pp)
	return nil
}

func (p *proto) RemovePipe(pp *socket.Pipe)                 { p.pipes.Remove(pp) }
func (p *proto) Deliver(pp *socket.Pipe, m *socket.Message) { p.recvq.Put(pp, m) }

// TryDeliver queues m if the receive queue has room (inproc's direct hand-over).
func (p *proto) TryDeliver(pp *socket.Pipe, m *socket.Message) bool { return p.recvq.TryPutFrom(pp, m) }

// HasRoom reports whether TryDeliver would take a message from pp now
// (socket.RoomReporter).
func (p *proto) HasRoom(pp *socket.Pipe) bool { return p.recvq.HasRoomFrom(pp) }

func (p *proto) Send(ctx context.Context, m *socket.Message) error {
	_, err := p.pipes.SendRoundRobin(ctx, m)
	return err
}

// TrySend sends m to the next pipe with room, if one has room
// (socket.TrySender).
func (p *proto) TrySend(m *socket.Message) (bool, error) {
	return p.pipes.TrySendRoundRobin(m) != nil, nil
}

func (p *proto) Recv(ctx context.Context) (*socket.Message, error) { return p.recvq.Get(ctx) }

// TryRecv returns a message that already waits, or nil (socket.TryReceiver).
func (p *proto) TryRecv() *socket.Message { return p.recvq.TryGet() }
