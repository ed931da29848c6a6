// Package router is ZeroMQ's ROUTER socket type with libzmq 4.3.4's
// semantics: it knows each peer by a routing id and addresses messages to
// peers by it.
//
// Each connection gets a routing id when it arrives: the one the
// application gave the dial that made it (socket.ConnectRoutingID, libzmq's
// ZMQ_CONNECT_ROUTING_ID), else the identity the peer announced (a libzmq
// socket's ZMQ_ROUTING_ID, socket.Identity on mqwire), else a generated one
// of 5 bytes, a zero byte then a 32-bit big-endian counter that starts at a
// random value. Well-behaved peers never choose an id that starts with a
// zero byte; one that does keeps it, and the counter skips the ids that
// connected peers hold, so the two never collide.
//
// Recv returns each message with the routing id of the peer it came from in
// front, as its first frame: Body is the id, Frames the message's frames.
// Send takes the first frame (Body) as the routing id and sends the rest
// (Frames) to that peer. A REQ peer's messages carry the empty delimiter
// frame after the id ([id, "", body]); a reply must keep it.
//
// Unroutable messages: by default a message for an unknown routing id is
// dropped (counted as socket.DropNoPeer in Stats) and one for a peer whose
// queue is at its high-water mark is dropped too (socket.DropQueueFull),
// so Send never waits. With RouterMandatory(true), Send fails with an error
// matching socket.ErrNoPeer for an unknown id (libzmq's EHOSTUNREACH), and
// waits for room (up to the send timeout, then socket.ErrTimeout, libzmq's
// EAGAIN) when the peer's queue is full.
//
// A second connection announcing an identity already in use, or dialed
// with a ConnectRoutingID in use, is refused (the connection is closed and
// socket.EventPipeRejected reported with an error matching ErrDuplicateID;
// libzmq instead keeps such a connection but never reads it). With
// RouterHandover(true) the new connection takes the id and the old one is
// closed, as libzmq does.
//
// ROUTER has no SP counterpart: it speaks ZMTP over tcp and ipc (to libzmq
// or mqwire DEALER, REQ, ROUTER sockets) and pairs with other ZeroMQ-only
// mqwire sockets (DEALER, ROUTER) over inproc.
package router

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"

	"github.com/mqwire/mqwire/socket"
	_ "github.com/mqwire/mqwire/transport/all" // every built-in transport
	"github.com/mqwire/mqwire/wire/zmtp"
)

// ErrDuplicateID is why a connection whose peer announces a routing id
// already in use is refused (without RouterHandover).
var ErrDuplicateID = errors.New("router: routing id already in use")

type proto struct {
	s         *socket.Socket
	recvq     *socket.RecvQueue
	mandatory atomic.Bool
	handover  atomic.Bool
	probe     atomic.Bool

	mu     sync.Mutex
	byID   map[string]*socket.Pipe
	nextID uint32 // the counter of generated ids
}

// pipeState is a pipe's routing id, in Pipe.Data. It changes (under
// proto.mu) only when a new connection takes it over; deliveries read it
// without the lock.
type pipeState struct{ id atomic.Pointer[[]byte] }

// newPipeState returns the state of a pipe with routing id id.
func newPipeState(id []byte) *pipeState {
	st := &pipeState{}
	st.id.Store(&id)
	return st
}

// routingID returns the pipe's routing id.
func routingID(pp *socket.Pipe) []byte { return *pp.Data.(*pipeState).id.Load() }

// New returns a ROUTER socket.
func New(opts ...socket.Option) (*socket.Socket, error) {
	return socket.New(&proto{byID: map[string]*socket.Pipe{}, nextID: rand.Uint32()}, opts...)
}

// RouterMandatory makes Send fail with an error matching socket.ErrNoPeer
// when no peer has the routing id, and wait for room when the peer's queue
// is full, instead of dropping (libzmq's ZMQ_ROUTER_MANDATORY).
func RouterMandatory(on bool) socket.Option {
	return socket.ProtocolOption("router.RouterMandatory", func(p *proto) error {
		p.mandatory.Store(on)
		return nil
	})
}

// RouterHandover lets a new connection that announces a routing id in use
// take it over; the old connection is closed (libzmq's ZMQ_ROUTER_HANDOVER).
// Without it the new connection is refused.
func RouterHandover(on bool) socket.Option {
	return socket.ProtocolOption("router.RouterHandover", func(p *proto) error {
		p.handover.Store(on)
		return nil
	})
}

// ProbeRouter (libzmq's ZMQ_PROBE_ROUTER) sends each peer an empty message
// as soon as the connection is up, so that a ROUTER peer learns of it (it
// receives our routing id and an empty frame) before anything else is
// sent. It applies to connections made after the call.
func ProbeRouter(on bool) socket.Option {
	return socket.ProtocolOption("router.ProbeRouter", func(p *proto) error {
		p.probe.Store(on)
		return nil
	})
}

func (p *proto) Info() socket.ProtocolInfo {
	return socket.ProtocolInfo{Name: "router", PeerName: "dealer", CanSend: true, CanRecv: true, ZMTPType: zmtp.TypeROUTER}
}

func (p *proto) Init(s *socket.Socket) {
	p.s = s
	p.recvq = socket.NewLazyRecvQueue(s)
}

// generateLocked returns the next generated routing id that no pipe holds:
// a peer may announce an id of the same form (0 and four bytes), and must
// not get another peer's messages by it.
func (p *proto) generateLocked() []byte {
	id := make([]byte, 5)
	for {
		binary.BigEndian.PutUint32(id[1:], p.nextID)
		p.nextID++
		if _, taken := p.byID[string(id)]; !taken {
			return id
		}
	}
}

func (p *proto) AddPipe(pp *socket.Pipe) error {
	id := pp.ConnectRoutingID()
	if id == nil {
		id = pp.PeerIdentity()
	}
	var old *socket.Pipe
	p.mu.Lock()
	if len(id) == 0 {
		id = p.generateLocked()
	} else if old = p.byID[string(id)]; old != nil {
		if !p.handover.Load() {
			p.mu.Unlock()
			return fmt.Errorf("%w: %x", ErrDuplicateID, id)
		}
		// The old connection gets a generated id until it has closed, so
		// that what it still delivers is told apart from the new one's.
		gen := p.generateLocked()
		old.Data.(*pipeState).id.Store(&gen)
		p.byID[string(gen)] = old
	}
	pp.Data = newPipeState(id)
	p.byID[string(id)] = pp
	p.mu.Unlock()
	if old != nil {
		old.Close(fmt.Errorf("router: routing id %x handed over to a new connection", id))
	}
	if p.probe.Load() {
		pp.Offer(socket.NewMessage(0))
	}
	return nil
}

func (p *proto) RemovePipe(pp *socket.Pipe) {
	p.mu.Lock()
	defer p.mu.Unlock()
	id := routingID(pp)
	if p.byID[string(id)] == pp {
		delete(p.byID, string(id))
	}
}

// Deliver puts the pipe's routing id in front of the message's frames.
func (p *proto) Deliver(pp *socket.Pipe, m *socket.Message) {
	if m.Control != socket.ControlNone {
		m.Free()
		return
	}
	m.PushFrame(routingID(pp)) // a copy, in the message's own buffer
	p.recvq.Put(pp, m)
}

// TryDeliver is Deliver for inproc's direct hand-over: the message, with
// its routing id in front, is queued if there is room; if not, it is left
// as it came.
func (p *proto) TryDeliver(pp *socket.Pipe, m *socket.Message) bool {
	if m.Control != socket.ControlNone {
		m.Free()
		return true
	}
	m.PushFrame(routingID(pp))
	if !p.recvq.TryPutFrom(pp, m) {
		m.Body, m.Frames = m.Frames[0], m.Frames[1:] // the id off again
		if len(m.Frames) == 0 {
			m.Frames = nil
		}
		return false
	}
	return true
}

func (p *proto) Send(ctx context.Context, m *socket.Message) error {
	if len(m.Frames) == 0 {
		return fmt.Errorf("%w: a router message is a routing id frame, then the message's frames", socket.ErrBadState)
	}
	id, frames := m.Body, m.Frames
	p.mu.Lock()
	pp := p.byID[string(id)]
	p.mu.Unlock()
	mandatory := p.mandatory.Load()
	if pp == nil {
		if mandatory {
			return fmt.Errorf("%w: no peer with routing id %x", socket.ErrNoPeer, id)
		}
		p.s.Drop(m, socket.DropNoPeer)
		return nil
	}
	m.Body, m.Frames = frames[0], frames[1:]
	if len(m.Frames) == 0 {
		m.Frames = nil
	}
	if !mandatory {
		pp.Offer(m)
		return nil
	}
	if err := pp.Send(ctx, m); err != nil {
		m.Body, m.Frames = id, frames // the caller owns m again
		if errors.Is(err, socket.ErrClosed) {
			select {
			case <-p.s.Closing():
			default:
				return fmt.Errorf("%w: peer with routing id %x is gone", socket.ErrNoPeer, id)
			}
		}
		return err
	}
	return nil
}

func (p *proto) Recv(ctx context.Context) (*socket.Message, error) { return p.recvq.Get(ctx) }

// TryRecv returns a message that already waits, or nil (socket.TryReceiver).
func (p *proto) TryRecv() *socket.Message { return p.recvq.TryGet() }
