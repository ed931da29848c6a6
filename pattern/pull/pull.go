// Package pull is the pull0 pattern: it receives what push peers send, fairly
// from all of them; a full receive queue stops reading (back-pressure), it
// never drops.
package pull

import (
	"context"

	"github.com/mqwire/mqwire/socket"
	_ "github.com/mqwire/mqwire/transport/all" // every built-in transport
	"github.com/mqwire/mqwire/wire/sp"
	"github.com/mqwire/mqwire/wire/zmtp"
)

type proto struct {
	recvq *socket.RecvQueue
	raw   bool
}

// New returns a pull0 socket.
func New(opts ...socket.Option) (*socket.Socket, error) { return socket.New(&proto{}, opts...) }

// NewRaw returns a raw pull0 socket (it behaves as the cooked one).
func NewRaw(opts ...socket.Option) (*socket.Socket, error) {
	return socket.New(&proto{raw: true}, opts...)
}

func (p *proto) Info() socket.ProtocolInfo {
	return socket.ProtocolInfo{Self: sp.ProtoPull0, Peer: sp.ProtoPush0, Name: "pull0", PeerName: "push0", CanRecv: true, Raw: p.raw, ZMTPType: zmtp.TypePULL}
}

func (p *proto) Init(s *socket.Socket)                      { p.recvq = socket.NewLazyRecvQueue(s) }
func (p *proto) AddPipe(*socket.Pipe) error                 { return nil }
func (p *proto) RemovePipe(*socket.Pipe)                    {}
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

func (p *proto) Send(context.Context, *socket.Message) error { return socket.ErrNotSupported }

func (p *proto) Recv(ctx context.Context) (*socket.Message, error) { return p.recvq.Get(ctx) }

// TryRecv returns a message that already waits, or nil (socket.TryReceiver).
func (p *proto) TryRecv() *socket.Message { return p.recvq.TryGet() }
