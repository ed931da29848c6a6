// Package bus is the bus0 pattern: every message goes to every directly
// connected peer (not further). A peer whose queue is full misses the
// message, counted as a drop. The raw mode remembers which pipe a message
// came in on, so a device does not send it back there.
package bus

import (
	"context"

	"github.com/mqwire/mqwire/socket"
	_ "github.com/mqwire/mqwire/transport/all" // every built-in transport
	"github.com/mqwire/mqwire/wire/sp"
)

type proto struct {
	s     *socket.Socket
	pipes *socket.PipeSet
	recvq *socket.RecvQueue
	raw   bool
}

// New returns a bus0 socket.
func New(opts ...socket.Option) (*socket.Socket, error) { return socket.New(&proto{}, opts...) }

// NewRaw returns a raw bus0 socket: a message sent with Pipe set to the pipe
// it arrived on goes to every other pipe.
func NewRaw(opts ...socket.Option) (*socket.Socket, error) {
	return socket.New(&proto{raw: true}, opts...)
}

func (p *proto) Info() socket.ProtocolInfo {
	return socket.ProtocolInfo{Self: sp.ProtoBus0, Peer: sp.ProtoBus0, Name: "bus0", PeerName: "bus0", CanSend: true, CanRecv: true, Raw: p.raw}
}

func (p *proto) Init(s *socket.Socket) {
	p.s = s
	p.pipes = socket.NewPipeSet(s)
	p.recvq = socket.NewLazyRecvQueue(s)
}

func (p *proto) AddPipe(pp *socket.Pipe) error { p.pipes.Add(pp); return nil }
func (p *proto) RemovePipe(pp *socket.Pipe)    { p.pipes.Remove(pp) }

// Deliver queues what arrives; a pipe whose share of the receive queue is
// full drops, as nng's bus drops when its queue is full, so that one slow
// reader does not stall the bus.
func (p *proto) Deliver(pp *socket.Pipe, m *socket.Message) {
	if !p.recvq.TryPut(pp, m) {
		pp.Drop(m, socket.DropQueueFull)
	}
}

// TryDeliver is Deliver, which never waits (inproc's direct hand-over).
func (p *proto) TryDeliver(pp *socket.Pipe, m *socket.Message) bool {
	p.Deliver(pp, m)
	return true
}

// TrySend is Send, which never waits (socket.TrySender).
func (p *proto) TrySend(m *socket.Message) (bool, error) {
	return true, p.Send(context.Background(), m)
}

func (p *proto) Send(_ context.Context, m *socket.Message) error {
	var except *socket.Pipe
	if p.raw && m.Pipe != 0 {
		except = p.s.Pipe(m.Pipe)
	}
	p.pipes.Broadcast(m, except)
	return nil
}

func (p *proto) Recv(ctx context.Context) (*socket.Message, error) { return p.recvq.Get(ctx) }

// TryRecv returns a message that already waits, or nil (socket.TryReceiver).
func (p *proto) TryRecv() *socket.Message { return p.recvq.TryGet() }
