// Package sub is the sub0 pattern: it receives what publishers send, keeping
// the messages whose body starts with one of its subscriptions. With no
// subscription it receives nothing; the empty prefix subscribes to all.
// When the receive queue is full new messages are dropped (and counted), so
// a slow reader never stalls the connection.
package sub

import (
	"bytes"
	"context"
	"fmt"
	"sync"

	"github.com/mqwire/mqwire/socket"
	_ "github.com/mqwire/mqwire/transport/all" // every built-in transport
	"github.com/mqwire/mqwire/wire/sp"
)

type proto struct {
	recvq *socket.RecvQueue
	raw   bool
	mu    sync.RWMutex
	subs  [][]byte
}

// New returns a sub0 socket with no subscription.
func New(opts ...socket.Option) (*socket.Socket, error) { return socket.New(&proto{}, opts...) }

// NewRaw returns a raw sub0 socket: no filtering, every message is received.
func NewRaw(opts ...socket.Option) (*socket.Socket, error) {
	return socket.New(&proto{raw: true}, opts...)
}

// Subscribe adds a prefix; an empty prefix receives everything. Subscribing
// to a prefix twice is the same as once (as in nng).
func Subscribe(prefix []byte) socket.Option {
	prefix = bytes.Clone(prefix)
	return socket.ProtocolOption("sub.Subscribe", func(p *proto) error {
		if p.raw {
			return fmt.Errorf("%w: raw sub0 does not filter", socket.ErrOptionNotApplicable)
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, s := range p.subs {
			if bytes.Equal(s, prefix) {
				return nil
			}
		}
		p.subs = append(p.subs, prefix)
		return nil
	})
}

// Unsubscribe removes a prefix added with Subscribe. Removing one that is not
// there fails with socket.ErrBadOption.
func Unsubscribe(prefix []byte) socket.Option {
	return socket.ProtocolOption("sub.Unsubscribe", func(p *proto) error {
		p.mu.Lock()
		defer p.mu.Unlock()
		for i, s := range p.subs {
			if bytes.Equal(s, prefix) {
				p.subs = append(p.subs[:i], p.subs[i+1:]...)
				return nil
			}
		}
		return fmt.Errorf("%w: not subscribed to %q", socket.ErrBadOption, prefix)
	})
}

func (p *proto) Info() socket.ProtocolInfo {
	return socket.ProtocolInfo{Self: sp.ProtoSub0, Peer: sp.ProtoPub0, Name: "sub0", PeerName: "pub0", CanRecv: true, Raw: p.raw}
}

func (p *proto) Init(s *socket.Socket)      { p.recvq = socket.NewLazyRecvQueue(s) }
func (p *proto) AddPipe(*socket.Pipe) error { return nil }
func (p *proto) RemovePipe(*socket.Pipe)    {}

func (p *proto) matches(body []byte) bool {
	if p.raw {
		return true
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	for _, s := range p.subs {
		if bytes.HasPrefix(body, s) {
			return true
		}
	}
	return false
}

func (p *proto) Deliver(pp *socket.Pipe, m *socket.Message) {
	if !p.matches(m.Body) {
		m.Free()
		return
	}
	if !p.recvq.TryPut(m) {
		pp.Drop(m, socket.DropQueueFull)
	}
}

func (p *proto) Send(context.Context, *socket.Message) error { return socket.ErrNotSupported }

func (p *proto) Recv(ctx context.Context) (*socket.Message, error) { return p.recvq.Get(ctx) }
