// Package pub is the pub0 pattern: every message goes to every subscriber.
// Subscribers filter (SP puts filtering on the subscriber). A subscriber whose
// queue is at the high-water mark misses the message; the drop is counted and
// the others are not slowed.
package pub

import (
	"context"

	"github.com/mqwire/mqwire/socket"
	_ "github.com/mqwire/mqwire/transport/all" // every built-in transport
	"github.com/mqwire/mqwire/wire/sp"
)

type proto struct {
	pipes *socket.PipeSet
	raw   bool
}

// New returns a pub0 socket.
func New(opts ...socket.Option) (*socket.Socket, error) { return socket.New(&proto{}, opts...) }

// NewRaw returns a raw pub0 socket (it behaves as the cooked one).
func NewRaw(opts ...socket.Option) (*socket.Socket, error) {
	return socket.New(&proto{raw: true}, opts...)
}

func (p *proto) Info() socket.ProtocolInfo {
	return socket.ProtocolInfo{Self: sp.ProtoPub0, Peer: sp.ProtoSub0, Name: "pub0", PeerName: "sub0", CanSend: true, Raw: p.raw}
}

func (p *proto) Init(s *socket.Socket)         { p.pipes = socket.NewPipeSet(s) }
func (p *proto) AddPipe(pp *socket.Pipe) error { p.pipes.Add(pp); return nil }
func (p *proto) RemovePipe(pp *socket.Pipe)    { p.pipes.Remove(pp) }

// Deliver discards what a subscriber sends: SP subscribers send nothing.
func (p *proto) Deliver(pp *socket.Pipe, m *socket.Message) { pp.Drop(m, socket.DropBadHeader) }

func (p *proto) Send(_ context.Context, m *socket.Message) error {
	p.pipes.Broadcast(m, nil)
	return nil
}

func (p *proto) Recv(context.Context) (*socket.Message, error) { return nil, socket.ErrNotSupported }
