// Package surveyor is the surveyor0 pattern: send a survey to every
// respondent, then receive their answers until the survey time (default 1 s)
// is over; after that Recv fails with ErrSurveyOver, which matches
// socket.ErrTimeout (nng's NNG_ETIMEDOUT) under errors.Is. Answers to an older
// survey, or arriving late, are dropped and counted. Contexts (NewContext)
// let many goroutines run surveys on one socket at once.
package surveyor

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mqwire/mqwire/internal/lazytimer"
	"github.com/mqwire/mqwire/internal/reqid"
	"github.com/mqwire/mqwire/socket"
	_ "github.com/mqwire/mqwire/transport/all" // every built-in transport
	"github.com/mqwire/mqwire/wire"
	"github.com/mqwire/mqwire/wire/sp"
)

// DefaultSurveyTime is nng's.
const DefaultSurveyTime = time.Second

// ErrSurveyOver is Recv's error once the survey time is over. It matches
// socket.ErrTimeout, as nng reports the end of a survey, and tells it
// apart from the receive deadline passing (socket.ErrTimeout itself).
var ErrSurveyOver = fmt.Errorf("%w: surveyor0: the survey is over", socket.ErrTimeout)

type proto struct {
	s          *socket.Socket
	raw        bool
	pipes      *socket.PipeSet
	recvq      *socket.RecvQueue // raw mode only
	surveyTime atomic.Int64

	mu      sync.Mutex            // guards what follows and every Context's fields
	pending reqid.Table[*Context] // running surveys, by id
	defOnce sync.Once
	def     *Context
	// timers are the contexts' survey timers, which may be running with
	// no survey left to end: CloseProtocol stops them.
	timers lazytimer.Set
}

// New returns a surveyor0 socket.
func New(opts ...socket.Option) (*socket.Socket, error) { return newSocket(false, opts) }

// NewRaw returns a raw surveyor0 socket: the application puts the survey id
// in the header, and answers are received with theirs, without timing.
func NewRaw(opts ...socket.Option) (*socket.Socket, error) { return newSocket(true, opts) }

func newSocket(raw bool, opts []socket.Option) (*socket.Socket, error) {
	p := &proto{raw: raw, pending: reqid.NewTable[*Context](), timers: lazytimer.Set{}}
	p.surveyTime.Store(int64(DefaultSurveyTime))
	return socket.New(p, opts...)
}

// SurveyTime sets how long a survey takes answers (default 1 s).
func SurveyTime(d time.Duration) socket.Option {
	return socket.ProtocolOption("surveyor.SurveyTime", func(p *proto) error {
		if d <= 0 {
			return fmt.Errorf("%w: surveyor.SurveyTime = %v", socket.ErrBadOption, d)
		}
		if p.raw {
			return fmt.Errorf("%w: raw surveyor0 does not time surveys", socket.ErrOptionNotApplicable)
		}
		p.surveyTime.Store(int64(d))
		return nil
	})
}

func (p *proto) Info() socket.ProtocolInfo {
	return socket.ProtocolInfo{Self: sp.ProtoSurveyor0, Peer: sp.ProtoRespondent, Name: "surveyor0", PeerName: "respondent0", CanSend: true, CanRecv: true, Raw: p.raw}
}

func (p *proto) Init(s *socket.Socket) {
	p.s = s
	p.pipes = socket.NewPipeSet(s)
	p.recvq = socket.NewLazyRecvQueue(s)
}

func (p *proto) AddPipe(pp *socket.Pipe) error { p.pipes.Add(pp); return nil }
func (p *proto) RemovePipe(pp *socket.Pipe)    { p.pipes.Remove(pp) }

func (p *proto) Deliver(pp *socket.Pipe, m *socket.Message) {
	if len(m.Body) < 4 {
		pp.Close(&wire.ProtocolError{Dialect: "sp", Reason: "surveyor0 answer without a survey id"})
		m.Free()
		return
	}
	m.TrimHeader(4)
	if p.raw {
		p.recvq.Put(pp, m)
		return
	}
	p.deliverAnswer(pp, m)
}

// TryDeliver is Deliver for inproc's direct hand-over, on the
// respondent's goroutine. A cooked socket takes every answer with its id
// (the answer goes to its survey, or is dropped as late or as one too
// many); a raw one queues it if there is room. An answer without an id is
// left as it came, for the pipe's reader and Deliver, which closes the
// pipe.
func (p *proto) TryDeliver(pp *socket.Pipe, m *socket.Message) bool {
	if len(m.Body) < 4 || len(m.Header) != 0 {
		return false
	}
	if p.raw {
		return p.recvq.TryPutFromTrimmed(pp, m, 4, true)
	}
	m.TrimHeader(4)
	p.deliverAnswer(pp, m)
	return true
}

// deliverAnswer gives m, whose header is its survey id, to the survey
// waiting for it, or drops it. It never waits.
func (p *proto) deliverAnswer(pp *socket.Pipe, m *socket.Message) {
	id := reqid.Of(m)
	m.Header = m.Header[:0]
	// The lock is held across the (non-blocking) put so that an answer never
	// lands in a survey that the context started after this one.
	p.mu.Lock()
	defer p.mu.Unlock()
	c, ok := p.pending.Waiting(id)
	if !ok {
		pp.Drop(m, socket.DropLate)
		return
	}
	select {
	case c.answers <- m:
	default:
		pp.Drop(m, socket.DropQueueFull)
	}
}

func (p *proto) Send(ctx context.Context, m *socket.Message) error {
	if p.raw {
		if len(m.Header) < 4 {
			return fmt.Errorf("%w: raw surveyor0 message needs a survey id header", socket.ErrBadState)
		}
		p.pipes.Broadcast(m, nil)
		return nil
	}
	return p.defaultContext().send(m)
}

func (p *proto) Recv(ctx context.Context) (*socket.Message, error) {
	if p.raw {
		return p.recvq.Get(ctx)
	}
	return p.defaultContext().recv(ctx)
}

func (p *proto) defaultContext() *Context {
	p.defOnce.Do(func() { p.def = p.newContext() })
	return p.def
}

func (p *proto) newContext() *Context {
	c := &Context{p: p, answers: make(chan *socket.Message, p.s.RecvHWM()), over: make(chan struct{}, 1)}
	c.timer.Init(c.expire)
	return c
}

// Context runs one survey at a time, independently of the socket's other
// contexts. Use one context per goroutine.
type Context struct {
	p  *proto
	id uint32 // survey running, 0 when none
	// The survey time. One timer per context, running across surveys
	// (lazytimer), and a flag and a wake-up channel rather than a channel
	// closed per survey: a survey costs no allocation.
	surveyed bool            // a survey was sent
	expired  bool            // the survey time of the last survey is over
	deadline time.Time       // when it is over
	timer    lazytimer.Timer // runs expire
	over     chan struct{}   // wakes a waiting Recv when the time is over (cap 1)
	answers  chan *socket.Message
	closed   bool
}

// NewContext returns a new context on a cooked surveyor0 socket.
func NewContext(s *socket.Socket) (*Context, error) {
	p, ok := s.Protocol().(*proto)
	if !ok || p.raw {
		return nil, fmt.Errorf("%w: contexts need a cooked surveyor0 socket", socket.ErrNotSupported)
	}
	return p.newContext(), nil
}

// Send starts a survey, ending the context's previous one.
func (c *Context) Send(_ context.Context, m *socket.Message) error { return c.send(m) }

// Recv returns the next answer to the running survey, or ErrSurveyOver
// (which matches socket.ErrTimeout) once the survey time is over.
func (c *Context) Recv(ctx context.Context) (*socket.Message, error) {
	ctx, w := c.p.s.WithRecvTimeout(ctx)
	defer w.End()
	return c.recv(ctx)
}

// Close ends the context and its survey.
func (c *Context) Close() error {
	c.p.mu.Lock()
	defer c.p.mu.Unlock()
	if c.closed {
		return socket.ErrClosed
	}
	c.closed = true
	c.endLocked()
	c.p.timers.Stop(&c.timer)
	return nil
}

// Conflates reports that only a raw socket honours socket.Conflate: a
// cooked one's answers go to the context that waits for them
// (socket.Conflater).
func (p *proto) Conflates() bool { return p.raw }

// CloseProtocol stops every context's survey timer when the socket closes
// (socket.ProtocolCloser), so that none keeps the socket alive until it
// goes off.
func (p *proto) CloseProtocol() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.timers.StopAll()
}

// endLocked ends the running survey: later answers are late.
func (c *Context) endLocked() {
	if c.id != 0 {
		c.p.pending.End(c.id)
		c.id = 0
	}
	for {
		select {
		case m := <-c.answers:
			m.Free()
			continue
		default:
		}
		return
	}
}

func (c *Context) send(m *socket.Message) error {
	p := c.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if c.closed {
		return socket.ErrClosed
	}
	c.endLocked()
	c.id = p.pending.Start(m, c)
	c.surveyed, c.expired = true, false
	select {
	case <-c.over: // the previous survey's
	default:
	}
	d := time.Duration(p.surveyTime.Load())
	c.deadline = time.Now().Add(d)
	if c.timer.Arm(c.deadline) {
		p.timers.Add(&c.timer)
	}
	p.pipes.Broadcast(m, nil)
	return nil
}

// expire ends the survey when its time is over.
func (c *Context) expire() {
	p := c.p
	p.mu.Lock()
	defer p.mu.Unlock()
	c.timer.Fired()
	if !c.surveyed || c.expired || c.closed {
		return
	}
	select {
	case <-p.s.Closing():
		return // Close stopped the timers; this firing came just before
	default:
	}
	if c.timer.Early(c.deadline) {
		return // a firing meant for a survey that a new one replaced
	}
	if c.id != 0 { // answers already queued stay readable
		p.pending.End(c.id)
		c.id = 0
	}
	c.expired = true
	select {
	case c.over <- struct{}{}:
	default:
	}
}

func (c *Context) recv(ctx context.Context) (*socket.Message, error) {
	p := c.p
	p.mu.Lock()
	if c.closed {
		p.mu.Unlock()
		return nil, socket.ErrClosed
	}
	surveyed, expired := c.surveyed, c.expired
	p.mu.Unlock()
	if !surveyed {
		return nil, fmt.Errorf("%w: surveyor0 Recv without a survey sent", socket.ErrBadState)
	}
	select {
	case m := <-c.answers:
		return m, nil
	default:
	}
	if expired {
		return nil, ErrSurveyOver
	}
	select {
	case m := <-c.answers:
		return m, nil
	case <-c.over:
		return nil, ErrSurveyOver
	case <-ctx.Done():
		return nil, socket.CtxErr(ctx)
	case <-p.s.Closing():
		return nil, socket.ErrClosed
	}
}
