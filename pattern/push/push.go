// Package push is the push0 pattern: each message goes to exactly one pull
// peer, round robin over the peers with room; Send waits (it does not drop)
// while every peer's queue is at the high-water mark or there is no peer.
package push

import (
	"context"

	"github.com/mqwire/mqwire/socket"
	_ "github.com/mqwire/mqwire/transport/all" // every built-in transport
	"github.com/mqwire/mqwire/wire/sp"
	"github.com/mqwire/mqwire/wire/zmtp"
)

type proto struct {
	pipes *socket.PipeSet
	raw   bool
}

// New returns a push0 socket.
func New(opts ...socket.Option) (*socket.Socket, error) { return socket.New(&proto{}, opts...) }

// NewRaw returns a raw push0 socket (it behaves as the cooked one).
func NewRaw(opts ...socket.Option) (*socket.Socket, error) {
	return socket.New(&proto{raw: true}, opts...)
}

func (p *proto) Info() socket.ProtocolInfo {
	return socket.ProtocolInfo{Self: sp.ProtoPush0, Peer: sp.ProtoPull0, Name: "push0", PeerName: "pull0", CanSend: true, Raw: p.raw, ZMTPType: zmtp.TypePUSH}
}

func (p *proto) Init(s *socket.Socket)                      { p.pipes = socket.NewPipeSet(s) }
func (p *proto) AddPipe(pp *socket.Pipe) error              { p.pipes.Add(pp); return nil }
func (p *proto) RemovePipe(pp *socket.Pipe)                 { p.pipes.Remove(pp) }
func (p *proto) Deliver(pp *socket.Pipe, m *socket.Message) { pp.Drop(m, socket.DropBadHeader) }

func (p *proto) Send(ctx context.Context, m *socket.Message) error {
	_, err := p.pipes.SendRoundRobin(ctx, m)
	return err
}

// TrySend sends m to the next pipe with room, if one has room
// (socket.TrySender).
func (p *proto) TrySend(m *socket.Message) (bool, error) {
	return p.pipes.TrySendRoundRobin(m) != nil, nil
}

func (p *proto) Recv(context.Context) (*socket.Message, error) { return nil, socket.ErrNotSupported }
