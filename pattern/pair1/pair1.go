// Package pair1 is the pair1 pattern: pair0 with a hop count. Each message
// carries one 32-bit header word counting the hops it has made; the first
// hop carries 1. A peer that sends a count above 255 breaks the protocol and
// loses its connection; a message with more hops than the TTL is dropped.
package pair1

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/mqwire/mqwire/socket"
	_ "github.com/mqwire/mqwire/transport/all" // every built-in transport
	"github.com/mqwire/mqwire/wire"
	"github.com/mqwire/mqwire/wire/sp"
)

// DefaultTTL is the hop limit nng uses.
const DefaultTTL = 8

// ErrAlreadyPaired is why a second peer is refused.
var ErrAlreadyPaired = fmt.Errorf("pair1: already connected to a peer")

type proto struct {
	pipes *socket.PipeSet
	recvq *socket.RecvQueue
	mu    sync.Mutex
	peer  *socket.Pipe
	raw   bool
	ttl   atomic.Int32
}

// New returns a pair1 socket.
func New(opts ...socket.Option) (*socket.Socket, error) { return newSocket(false, opts) }

// NewRaw returns a raw pair1 socket: Recv leaves the hop count in the header,
// and Send takes a header holding the count so far, adds one and drops the
// message when that is above the TTL. A device forwards with raw sockets.
func NewRaw(opts ...socket.Option) (*socket.Socket, error) { return newSocket(true, opts) }

func newSocket(raw bool, opts []socket.Option) (*socket.Socket, error) {
	p := &proto{raw: raw}
	p.ttl.Store(DefaultTTL)
	return socket.New(p, opts...)
}

// TTL sets the hop limit, 1 to 15 (default 8).
func TTL(n int) socket.Option {
	return socket.ProtocolOption("pair1.TTL", func(p *proto) error {
		if n < 1 || n > 15 {
			return fmt.Errorf("%w: pair1.TTL = %d (1 to 15)", socket.ErrBadOption, n)
		}
		p.ttl.Store(int32(n))
		return nil
	})
}

func (p *proto) Info() socket.ProtocolInfo {
	return socket.ProtocolInfo{Self: sp.ProtoPair1, Peer: sp.ProtoPair1, Name: "pair1", PeerName: "pair1", CanSend: true, CanRecv: true, Raw: p.raw}
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

func (p *proto) Deliver(pp *socket.Pipe, m *socket.Message) {
	if len(m.Body) < 4 {
		pp.Close(&wire.ProtocolError{Dialect: "sp", Reason: "pair1 message without a hop count"})
		m.Free()
		return
	}
	hops := binary.BigEndian.Uint32(m.Body)
	if hops > 0xff {
		pp.Close(&wire.ProtocolError{Dialect: "sp", Reason: fmt.Sprintf("pair1 hop count %d above 255", hops)})
		m.Free()
		return
	}
	if hops > uint32(p.ttl.Load()) {
		pp.Drop(m, socket.DropTTL)
		return
	}
	m.TrimHeader(4)
	if !p.raw {
		m.Header = m.Header[:0]
	}
	p.recvq.Put(pp, m)
}

// TryDeliver is Deliver for inproc's direct hand-over: a message within
// the TTL is queued if there is room. One that Deliver would drop or
// refuse is left as it came, for the pipe's reader and Deliver.
func (p *proto) TryDeliver(pp *socket.Pipe, m *socket.Message) bool {
	if len(m.Body) < 4 || len(m.Header) != 0 || binary.BigEndian.Uint32(m.Body) > uint32(p.ttl.Load()) {
		return false
	}
	return p.recvq.TryPutFromTrimmed(pp, m, 4, p.raw)
}

func (p *proto) Send(ctx context.Context, m *socket.Message) error {
	var word [4]byte
	hops := uint32(1)
	if p.raw {
		if len(m.Header) != 4 {
			return fmt.Errorf("%w: raw pair1 message needs a 4-byte hop count header", socket.ErrBadState)
		}
		hops = binary.BigEndian.Uint32(m.Header) + 1
		if hops > uint32(p.ttl.Load()) {
			// Too many hops: dropped, as nng does, and not an error.
			m.Free()
			return nil
		}
	}
	binary.BigEndian.PutUint32(word[:], hops)
	m.SetHeader(word[:])
	_, err := p.pipes.SendRoundRobin(ctx, m)
	return err
}

func (p *proto) Recv(ctx context.Context) (*socket.Message, error) { return p.recvq.Get(ctx) }

// TryRecv returns a message that already waits, or nil (socket.TryReceiver).
func (p *proto) TryRecv() *socket.Message { return p.recvq.TryGet() }
