// Package pair is the pair0 pattern: two peers, one connection, messages both
// ways. A second peer is refused while the first is connected, as nng does.
// Send waits while the peer's queue is full or there is no peer.
package pair

import (
	"context"
	"fmt"
	"sync"

	"github.com/mqwire/mqwire/socket"
	_ "github.com/mqwire/mqwire/transport/all" // every built-in transport
	"github.com/mqwire/mqwire/wire/sp"
	"github.com/mqwire/mqwire/wire/zmtp"
)

// ErrAlreadyPaired is why a second peer is refused.
var ErrAlreadyPaired = fmt.Errorf("pair0: already connected to a peer")

type proto struct {
	pipes *socket.PipeSet
	recvq *socket.RecvQueue
	mu    sync.Mutex
	peer  *socket.Pipe
	raw   bool
}

// New returns a pair0 socket.
func New(opts ...socket.Option) (*socket.Socket, error) { return socket.New(&proto{}, opts...) }

// NewRaw returns a raw pair0 socket (it behaves as the cooked one).
func NewRaw(opts ...socket.Option) (*socket.Socket, error) {
	return socket.New(&proto{raw: true}, opts...)
}

func (p *proto) Info() socket.ProtocolInfo {
	return socket.ProtocolInfo{Self: sp.ProtoPair0, Peer: sp.ProtoPair0, Name: "pair0", PeerName: "pair0", CanSend: true, CanRecv: true, Raw: p.raw, ZMTPType: zmtp.TypePAIR}
}

func (p *proto) Init(s *socket.Socket) {
	p.pipes = socket.NewPipeSet(s)
	p.recvq = socket.NewLazyRecvQueue(s)
}

func (p *proto) AddPipe(pp *socket.Pipe) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.peer != nil {
		return ErrAlreadyPaired
	}
	p.peer = pp
	p.pipes.Add(pp)
	return nil
}

func (p *proto) RemovePipe(pp *socket.Pipe) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.peer == pp {
		p.peer = nil
		p.pipes.Remove(pp)
	}
}

func (p *proto) Deliver(pp *socket.Pipe, m *socket.Message) { p.recvq.Put(pp, m) }

// DeliveryQueue is the queue Deliver puts messages on: stream pipes read
// in chunks and queue spans of them there.
func (p *proto) DeliveryQueue() *socket.RecvQueue { return p.recvq }

// DeliverBatch queues what a pipe's reader read in one go.
func (p *proto) DeliverBatch(pp *socket.Pipe, ms []*socket.Message) { p.recvq.PutBatch(pp, ms) }

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
