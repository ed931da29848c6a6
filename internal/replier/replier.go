// Package replier is the shared logic of rep0 and respondent0, which differ
// only in their protocol numbers: take the backtrace off each request, and
// put it back in front of the reply, which goes to the pipe the request came
// from.
package replier

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/mqwire/mqwire/socket"
	"github.com/mqwire/mqwire/wire"
)

// DefaultTTL is the hop limit of nng and nanomsg.
const DefaultTTL = 8

// maxHeader is the largest raw header: a pipe id and 15 backtrace words.
const maxHeader = 4 + 15*4

// Proto is a rep0 or respondent0 protocol.
type Proto struct {
	info  socket.ProtocolInfo
	s     *socket.Socket
	recvq *socket.RecvQueue
	ttl   atomic.Int32

	defOnce sync.Once
	def     *Context
}

// New returns a replier with the given identity.
func New(info socket.ProtocolInfo) *Proto {
	p := &Proto{info: info}
	p.ttl.Store(DefaultTTL)
	return p
}

// SetTTL sets the hop limit, 1 to 15.
func (p *Proto) SetTTL(n int) error {
	if n < 1 || n > 15 {
		return fmt.Errorf("%w: %s TTL = %d (1 to 15)", socket.ErrBadOption, p.info.Name, n)
	}
	p.ttl.Store(int32(n))
	return nil
}

// Info describes the protocol.
func (p *Proto) Info() socket.ProtocolInfo { return p.info }

// Init binds the protocol to its socket.
func (p *Proto) Init(s *socket.Socket) {
	p.s = s
	p.recvq = socket.NewLazyRecvQueue(s)
}

// AddPipe takes every peer.
func (p *Proto) AddPipe(*socket.Pipe) error { return nil }

// RemovePipe has nothing to forget: replies to a gone pipe are dropped.
func (p *Proto) RemovePipe(*socket.Pipe) {}

// Deliver moves the backtrace of a request into its header and queues it.
// A request with more hops than the TTL is dropped; within the TTL, a body
// that ends inside the backtrace breaks the protocol (the pipe is closed),
// as in nng.
func (p *Proto) Deliver(pp *socket.Pipe, m *socket.Message) {
	if pp.ZMTP() {
		// The ZMTP codec has put the envelope in the header already.
		if p.info.Raw {
			h := binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(m.Header)), uint32(pp.ID()))
			m.SetHeader(append(h, m.Header...))
		}
		p.recvq.Put(pp, m)
		return
	}
	n, bt := scanBacktrace(m.Body, int(p.ttl.Load()))
	switch bt {
	case backtraceOverTTL:
		pp.Drop(m, socket.DropTTL)
		return
	case backtraceCut:
		pp.Close(&wire.ProtocolError{Dialect: "sp", Reason: p.info.Name + " request without a complete backtrace"})
		m.Free()
		return
	}
	m.TrimHeader(n)
	if p.info.Raw {
		setRawHeader(pp, m)
	}
	p.recvq.Put(pp, m)
}

// setRawHeader puts the pipe's id in front of m's backtrace, in the room
// in front of the body when there is enough: what a raw socket's Recv
// returns, and what its Send routes by.
func setRawHeader(pp *socket.Pipe, m *socket.Message) {
	var h [maxHeader]byte
	binary.BigEndian.PutUint32(h[:], uint32(pp.ID()))
	k := 4 + copy(h[4:], m.Header)
	m.SetHeader(h[:k])
}

// TryDeliver is Deliver for inproc's direct hand-over, on the requester's
// goroutine: a well-formed request is queued if there is room. Anything
// else (a request Deliver would drop or refuse) is left as it came, for
// the pipe's reader and Deliver.
func (p *Proto) TryDeliver(pp *socket.Pipe, m *socket.Message) bool {
	if pp.ZMTP() || len(m.Header) != 0 {
		return false
	}
	n, bt := scanBacktrace(m.Body, int(p.ttl.Load()))
	if bt != backtraceWhole {
		return false
	}
	// With no header yet, taking the backtrace off moves only the slices,
	// and a raw header is written in the room in front of the body (or a
	// new slice), which is not the message's: putting the slices back
	// restores it.
	header, body := m.Header, m.Body
	m.TrimHeader(n)
	if p.info.Raw {
		setRawHeader(pp, m)
	}
	if !p.recvq.TryPutFrom(pp, m) {
		m.Header, m.Body = header, body
		return false
	}
	return true
}

// backtraceScan is what scanBacktrace found in front of a request's body.
type backtraceScan uint8

const (
	backtraceWhole   backtraceScan = iota // ends with the request id
	backtraceOverTTL                      // more hops than the TTL
	backtraceCut                          // the body ends inside it
)

// scanBacktrace returns the length of the backtrace in front of an SP
// request's body: hop words up to the request id, whose top bit is set.
// The hop limit is checked first, as in nng: a message that has been
// through too many devices is dropped, even if it is also cut short, and
// costs its pipe nothing.
func scanBacktrace(body []byte, ttl int) (int, backtraceScan) {
	n := 0
	for {
		if n/4 >= ttl {
			return n, backtraceOverTTL
		}
		if len(body) < n+4 {
			return n, backtraceCut
		}
		word := binary.BigEndian.Uint32(body[n:])
		n += 4
		if word&0x80000000 != 0 {
			return n, backtraceWhole
		}
	}
}

// Send answers on the default context (cooked) or routes by the header's
// pipe id (raw).
func (p *Proto) Send(ctx context.Context, m *socket.Message) error {
	if p.info.Raw {
		return p.sendRaw(m)
	}
	return p.defaultContext().send(ctx, m)
}

// Recv receives on the default context (cooked) or as it is (raw).
func (p *Proto) Recv(ctx context.Context) (*socket.Message, error) {
	if p.info.Raw {
		return p.recvq.Get(ctx)
	}
	return p.defaultContext().recv(ctx)
}

// TrySend is Send when it needs no waiting (socket.TrySender): raw sends
// never wait, and a reply goes if its pipe has room.
func (p *Proto) TrySend(m *socket.Message) (bool, error) {
	if p.info.Raw {
		return true, p.sendRaw(m)
	}
	return p.defaultContext().trySend(m)
}

// TryRecv returns a request (or, raw, a message) that already waits, or nil
// (socket.TryReceiver).
func (p *Proto) TryRecv() *socket.Message {
	if p.info.Raw {
		return p.recvq.TryGet()
	}
	return p.defaultContext().tryRecv()
}

// sendRaw sends m to the pipe named by its first header word, with the rest
// of the header as the backtrace. A message for a pipe that is gone or full
// is dropped, as nng's raw rep does, so one peer cannot stall a device.
func (p *Proto) sendRaw(m *socket.Message) error {
	if len(m.Header) < 4 || len(m.Header)%4 != 0 {
		return fmt.Errorf("%w: raw %s message needs a pipe id and a backtrace in its header", socket.ErrBadState, p.info.Name)
	}
	id := socket.PipeID(binary.BigEndian.Uint32(m.Header))
	m.Header = m.Header[4:]
	pp := p.s.Pipe(id)
	if pp == nil {
		m.Free()
		return nil
	}
	if !pp.TrySend(m) {
		pp.Drop(m, socket.DropQueueFull)
	}
	return nil
}

func (p *Proto) defaultContext() *Context {
	p.defOnce.Do(func() { p.def = &Context{p: p} })
	return p.def
}

// Context lets one socket serve many requests at once: each context receives
// one request and answers it, independently of the others. Use one context
// per goroutine.
type Context struct {
	p      *Proto
	mu     sync.Mutex
	pipe   socket.PipeID
	bt     []byte // backtrace of the request being answered
	has    bool
	closed bool
}

// NewContext returns a new context on socket s, which must be a cooked socket
// of this protocol.
func NewContext(s *socket.Socket) (*Context, error) {
	p, ok := s.Protocol().(*Proto)
	if !ok || p.info.Raw {
		return nil, fmt.Errorf("%w: contexts need a cooked rep0 or respondent0 socket", socket.ErrNotSupported)
	}
	return &Context{p: p}, nil
}

// Recv receives the next request. Its reply goes out with Send.
func (c *Context) Recv(ctx context.Context) (*socket.Message, error) {
	ctx, w := c.p.s.WithRecvTimeout(ctx)
	defer w.End()
	return c.recv(ctx)
}

// Send sends the reply to the request Recv returned last.
func (c *Context) Send(ctx context.Context, m *socket.Message) error {
	ctx, w := c.p.s.WithSendTimeout(ctx)
	defer w.End()
	return c.send(ctx, m)
}

// Close ends the context; pending calls are not interrupted.
func (c *Context) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return socket.ErrClosed
	}
	c.closed = true
	return nil
}

func (c *Context) recv(ctx context.Context) (*socket.Message, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, socket.ErrClosed
	}
	c.mu.Unlock()
	m, err := c.p.recvq.Get(ctx)
	if err != nil {
		return nil, err
	}
	return c.took(m), nil
}

// took makes m the request the context answers next.
func (c *Context) took(m *socket.Message) *socket.Message {
	c.mu.Lock()
	c.pipe, c.has = m.Pipe, true
	c.bt = append(c.bt[:0], m.Header...)
	c.mu.Unlock()
	m.Header = m.Header[:0]
	return m
}

// tryRecv is recv of a request that already waits, or nil.
func (c *Context) tryRecv() *socket.Message {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return nil // recv says why
	}
	if m := c.p.recvq.TryGet(); m != nil {
		return c.took(m)
	}
	return nil
}

// trySend is send of a reply that needs no waiting; it reports false,
// with the context's state unchanged, when send would have to wait.
func (c *Context) trySend(m *socket.Message) (bool, error) {
	c.mu.Lock()
	if c.closed || !c.has {
		c.mu.Unlock()
		return true, c.send(context.Background(), m) // its error, at once
	}
	m.SetHeader(c.bt)
	id := c.pipe
	c.mu.Unlock()
	pp := c.p.s.Pipe(id)
	if pp != nil && !pp.TrySend(m) {
		return false, nil
	}
	c.mu.Lock()
	c.has = false
	c.mu.Unlock()
	if pp == nil {
		m.Free() // the requester is gone (see send)
	}
	return true, nil
}

func (c *Context) send(ctx context.Context, m *socket.Message) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return socket.ErrClosed
	}
	if !c.has {
		c.mu.Unlock()
		return fmt.Errorf("%w: %s Send without a request received", socket.ErrBadState, c.p.info.Name)
	}
	c.has = false
	m.SetHeader(c.bt)
	id := c.pipe
	c.mu.Unlock()
	pp := c.p.s.Pipe(id)
	if pp == nil {
		// The requester is gone; its reply has nowhere to go (as in nng,
		// this is not an error).
		m.Free()
		return nil
	}
	return pp.Send(ctx, m)
}
