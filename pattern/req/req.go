// Package req is the req0 pattern: send a request, receive its reply. Each
// request carries an id; a reply with another id (a late one) is dropped and
// counted. A request with no reply within the resend interval (default 60 s,
// as in nng) is sent again, and one whose peer disconnects is sent at once to
// another peer. Over ZMTP a request is not sent again for want of a reply
// unless ResendInterval was set: a libzmq REQ waits for its reply however
// long the job takes, and so does ours by default. Contexts (NewContext)
// let many goroutines have requests in flight on one socket at once.
//
// Over ZMTP, a request goes out as ZeroMQ's REQ sends it (an empty
// delimiter, then the body, no request id), and replies are matched to
// requests by their order on the connection. So a ZMTP connection carries
// one request at a time, as a libzmq REQ's does: a request waits for a
// connection whose last request was answered, and the socket's contexts
// share its connections. A request sent while the same context's last one
// is still unanswered (after a Recv that timed out, say) abandons it and
// closes the connection that carried it, as ZeroMQ's "lazy pirate" client
// closes its socket: a late reply there could not be told from the new
// request's, and a peer that never answers would hold the connection for
// ever. The dialer reconnects (a libzmq REQ refuses the second send with
// EFSM unless ZMQ_REQ_RELAXED). With Correlate the request id travels
// in the envelope instead, and one connection carries any number of
// requests, answered in any order. With ResendInterval set, a connection
// whose request has had no reply for that long is closed, as ZeroMQ's
// "lazy pirate" client closes its socket: a reply that came later on it
// could not be told from the next request's. The request is sent again on another
// connection, or on the same peer's next once the dialer reconnects.
// The same holds over inproc to a ROUTER.
package req

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
	"github.com/mqwire/mqwire/wire/zmtp"
)

// DefaultResendInterval is nng's and nanomsg's.
const DefaultResendInterval = 60 * time.Second

type proto struct {
	s      *socket.Socket
	raw    bool
	pipes  *socket.PipeSet
	recvq  *socket.RecvQueue // raw mode only
	resend atomic.Int64
	// resendSet: ResendInterval was set, so it applies to connections that
	// know replies by their order (ZMTP's) too; by default they wait.
	resendSet atomic.Bool
	// correlate: over ZMTP, the request id goes as a frame of the
	// envelope (Correlate).
	correlate atomic.Bool

	mu      sync.Mutex            // guards what follows, every Context's fields and every reqPipe's timer
	pending reqid.Table[*Context] // requests in flight, by id
	def     *Context
	// timers are the contexts' resend timers and the pipes' overdue
	// timers, which may be running with nothing outstanding:
	// CloseProtocol stops them.
	timers lazytimer.Set
	// stranded: a request to be sent again found no pipe to take it
	// (transmitLocked); it goes when one comes or is freed.
	stranded bool
}

// New returns a req0 socket.
func New(opts ...socket.Option) (*socket.Socket, error) { return newSocket(false, opts) }

// NewRaw returns a raw req0 socket: the application puts the request id in
// the header and Recv returns replies with the id in the header; nothing is
// resent or matched.
func NewRaw(opts ...socket.Option) (*socket.Socket, error) { return newSocket(true, opts) }

func newSocket(raw bool, opts []socket.Option) (*socket.Socket, error) {
	p := &proto{raw: raw, pending: reqid.NewTable[*Context](), timers: lazytimer.Set{}}
	p.resend.Store(int64(DefaultResendInterval))
	return socket.New(p, opts...)
}

// ResendInterval sets how long a request waits for its reply before it is
// sent again; zero never resends. Over ZMTP (where by default, as with
// libzmq, a request waits for its reply however long) setting it makes a
// connection whose reply does not come in time close and the request go
// again: see the package doc.
func ResendInterval(d time.Duration) socket.Option {
	return socket.ProtocolOption("req.ResendInterval", func(p *proto) error {
		if d < 0 {
			return fmt.Errorf("%w: req.ResendInterval = %v", socket.ErrBadOption, d)
		}
		if p.raw {
			return fmt.Errorf("%w: raw req0 does not resend", socket.ErrOptionNotApplicable)
		}
		p.resend.Store(int64(d))
		p.resendSet.Store(true)
		return nil
	})
}

// Correlate (libzmq's ZMQ_REQ_CORRELATE) sends each request over ZMTP with
// its id as a frame of the envelope, in front of the delimiter, and
// matches a reply by the id it carries back, so that replies may come in
// any order. The peer must send the whole envelope back, as a REP does and
// as a ROUTER application should. It applies to connections made after the
// call.
func Correlate(on bool) socket.Option {
	return socket.ProtocolOption("req.Correlate", func(p *proto) error {
		p.correlate.Store(on)
		return nil
	})
}

// CorrelateRequests tells the socket's ZMTP codec whether to put request
// ids in the envelope (Correlate).
func (p *proto) CorrelateRequests() bool { return p.correlate.Load() }

func (p *proto) Info() socket.ProtocolInfo {
	return socket.ProtocolInfo{Self: sp.ProtoReq0, Peer: sp.ProtoRep0, Name: "req0", PeerName: "rep0", CanSend: true, CanRecv: true, Raw: p.raw, ZMTPType: zmtp.TypeREQ}
}

func (p *proto) Init(s *socket.Socket) {
	p.s = s
	p.pipes = socket.NewPipeSet(s)
	if !p.raw {
		p.pipes.SetGate(orderGate{})
	}
	p.recvq = socket.NewLazyRecvQueue(s)
	p.def = p.newContext()
}

// reqPipe is req's state for one pipe (socket.Pipe.Data).
type reqPipe struct {
	// ordered: replies on the pipe are known by their order
	// (socket.Pipe.RepliesInOrder), so it carries one request at a time.
	ordered bool
	// busy: an ordered pipe has a request out whose reply has not come,
	// or is being offered one (orderGate).
	busy atomic.Bool
	// overdue closes an ordered pipe whose request has waited longer than
	// the resend interval since sentAt (under proto.mu).
	overdue lazytimer.Timer
	sentAt  time.Time
}

// reqPipeOf is pp's state; a pipe AddPipe has not seen (none should
// reach req) counts as unordered.
func reqPipeOf(pp *socket.Pipe) *reqPipe {
	if rp, ok := pp.Data.(*reqPipe); ok {
		return rp
	}
	return &reqPipe{}
}

// orderGate keeps busy ordered pipes out of round-robin sending
// (socket.SendGate).
type orderGate struct{}

func (orderGate) Claim(pp *socket.Pipe) bool {
	rp := reqPipeOf(pp)
	return !rp.ordered || rp.busy.CompareAndSwap(false, true)
}

func (orderGate) Release(pp *socket.Pipe) {
	if rp := reqPipeOf(pp); rp.ordered {
		rp.busy.Store(false)
	}
}

// AddPipe also sends the requests that were waiting for a peer.
func (p *proto) AddPipe(pp *socket.Pipe) error {
	rp := &reqPipe{ordered: !p.raw && pp.RepliesInOrder()}
	rp.overdue.Init(func() { p.overdueDue(pp) })
	pp.Data = rp
	p.pipes.Add(pp)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.transmitWaitingLocked()
	return nil
}

// transmitWaitingLocked sends the requests that wait for a peer, if any
// do.
func (p *proto) transmitWaitingLocked() {
	if !p.stranded {
		return
	}
	p.stranded = false
	for c := range p.pending.All() {
		if c.pipe == nil && !c.sending {
			c.transmitLocked()
		}
	}
}

// RemovePipe sends the requests that were out on the pipe to another peer.
// One that cannot be sent again (ResendInterval 0 keeps no copy) is lost
// with its connection: its Recv fails, as nng's does with ECONNRESET.
func (p *proto) RemovePipe(pp *socket.Pipe) {
	p.pipes.Remove(pp)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.timers.Stop(&reqPipeOf(pp).overdue)
	var lost []*Context
	for c := range p.pending.All() {
		switch {
		case c.pipe != pp || c.sending:
		case c.req == nil:
			lost = append(lost, c)
		default:
			c.pipe = nil
			c.transmitLocked()
		}
	}
	for _, c := range lost {
		c.finishLocked()
		c.reply <- nil // room is certain: the request's reply can no longer come
	}
}

// errLost is what Recv returns for a request lost with its connection.
var errLost = fmt.Errorf("%w: req0: the connection that carried the request closed, and with a ResendInterval of 0 it is not sent again", socket.ErrNoPeer)

// resendFor is the resend interval of a request that went out on pp (nil:
// none took it yet): on a pipe that knows replies by their order (ZMTP's),
// none unless ResendInterval was set.
func (p *proto) resendFor(pp *socket.Pipe) time.Duration {
	if pp != nil && reqPipeOf(pp).ordered && !p.resendSet.Load() {
		return 0
	}
	return time.Duration(p.resend.Load())
}

// sentLocked notes that a request went out on pp: an ordered pipe's
// overdue timer starts.
func (p *proto) sentLocked(pp *socket.Pipe) {
	rp := reqPipeOf(pp)
	d := p.resendFor(pp)
	if !rp.ordered || d <= 0 {
		return
	}
	rp.sentAt = time.Now()
	if rp.overdue.Arm(rp.sentAt.Add(d)) {
		p.timers.Add(&rp.overdue)
	}
}

// repliedLocked notes a reply on pp, late or not: an ordered pipe is free
// for the next request. It reports whether one was freed.
func (p *proto) repliedLocked(pp *socket.Pipe) bool {
	rp := reqPipeOf(pp)
	if !rp.ordered {
		return false
	}
	rp.sentAt = time.Time{}
	rp.busy.Store(false)
	p.transmitWaitingLocked()
	return true
}

// errOverdue closes an ordered pipe whose request had no reply within the
// resend interval.
var errOverdue = fmt.Errorf("%w: req0: no reply within the resend interval on a connection that knows replies by their order", socket.ErrTimeout)

// overdueDue runs when an ordered pipe's overdue timer goes off: it closes
// the pipe if its request has waited the whole resend interval.
func (p *proto) overdueDue(pp *socket.Pipe) {
	p.mu.Lock()
	rp := reqPipeOf(pp)
	rp.overdue.Fired()
	d := p.resendFor(pp)
	late := !rp.sentAt.IsZero() && d > 0 && !rp.overdue.Early(rp.sentAt.Add(d)) && !isClosing(p.s)
	p.mu.Unlock()
	if late {
		pp.Close(errOverdue)
	}
}

func (p *proto) Deliver(pp *socket.Pipe, m *socket.Message) {
	if !pp.ZMTP() { // on ZMTP the codec has put the id in the header
		if len(m.Body) < 4 {
			pp.Close(&wire.ProtocolError{Dialect: "sp", Reason: "req0 reply without a request id"})
			m.Free()
			return
		}
		m.TrimHeader(4)
	}
	if p.raw {
		p.recvq.Put(pp, m)
		return
	}
	p.deliverReply(pp, m)
}

// TryDeliver is Deliver for inproc's direct hand-over, on the replier's
// goroutine. A cooked socket takes every reply with its id (the reply
// goes to its context, which has room for it, or is dropped as late); a
// raw one queues it if there is room. A reply without an id is left as it
// came, for the pipe's reader and Deliver, which closes the pipe.
func (p *proto) TryDeliver(pp *socket.Pipe, m *socket.Message) bool {
	if pp.ZMTP() || len(m.Body) < 4 || len(m.Header) != 0 {
		return false
	}
	if p.raw {
		return p.recvq.TryPutFromTrimmed(pp, m, 4, true)
	}
	m.TrimHeader(4)
	p.deliverReply(pp, m)
	return true
}

// deliverReply gives m, whose header is its request id, to the context
// waiting for it, or drops it as late. It never waits.
func (p *proto) deliverReply(pp *socket.Pipe, m *socket.Message) {
	p.mu.Lock()
	c, ok := p.pending.Waiting(reqid.Of(m))
	if ok {
		c.finishLocked()
		m.Header = m.Header[:0]
		c.reply <- m // room is certain: one request, one reply
	}
	freed := p.repliedLocked(pp)
	p.mu.Unlock()
	if !ok {
		pp.Drop(m, socket.DropLate)
	}
	if freed {
		p.pipes.Wake()
	}
}

func (p *proto) Send(ctx context.Context, m *socket.Message) error {
	if p.raw {
		if len(m.Header) < 4 {
			return fmt.Errorf("%w: raw req0 message needs a request id header", socket.ErrBadState)
		}
		_, err := p.pipes.SendRoundRobin(ctx, m)
		return err
	}
	return p.def.send(ctx, m)
}

func (p *proto) Recv(ctx context.Context) (*socket.Message, error) {
	if p.raw {
		return p.recvq.Get(ctx)
	}
	return p.def.recv(ctx)
}

// Context has one request in flight at a time, independently of the
// socket's other contexts. Use one context per goroutine.
type Context struct {
	p    *proto
	id   uint32          // request outstanding, 0 when none
	req  *socket.Message // kept for resending (keep)
	pipe *socket.Pipe    // where the request went; nil while waiting for one
	// sending is true while Send waits for a peer with room; resends leave
	// such a request alone.
	sending bool
	// The resend timer runs across requests (lazytimer); sentAt is when
	// the outstanding request went out.
	timer  lazytimer.Timer
	sentAt time.Time
	reply  chan *socket.Message
	closed bool
}

// NewContext returns a new context on a cooked req0 socket.
func NewContext(s *socket.Socket) (*Context, error) {
	p, ok := s.Protocol().(*proto)
	if !ok || p.raw {
		return nil, fmt.Errorf("%w: contexts need a cooked req0 socket", socket.ErrNotSupported)
	}
	return p.newContext(), nil
}

func (p *proto) newContext() *Context {
	c := &Context{p: p, reply: make(chan *socket.Message, 1)}
	c.timer.Init(c.resendDue)
	return c
}

// Send sends a request, abandoning the context's previous one if its reply
// has not come. See socket.Message for ownership.
func (c *Context) Send(ctx context.Context, m *socket.Message) error {
	ctx, w := c.p.s.WithSendTimeout(ctx)
	defer w.End()
	return c.send(ctx, m)
}

// Recv waits for the reply to the request sent last.
func (c *Context) Recv(ctx context.Context) (*socket.Message, error) {
	ctx, w := c.p.s.WithRecvTimeout(ctx)
	defer w.End()
	return c.recv(ctx)
}

// Close abandons the context's request.
func (c *Context) Close() error {
	c.p.mu.Lock()
	defer c.p.mu.Unlock()
	if c.closed {
		return socket.ErrClosed
	}
	c.closed = true
	c.finishLocked()
	c.drainLocked()
	c.p.timers.Stop(&c.timer)
	return nil
}

// Conflates reports that only a raw socket honours socket.Conflate: a
// cooked one's replies go to the context that waits for them
// (socket.Conflater).
func (p *proto) Conflates() bool { return p.raw }

// CloseProtocol stops every context's resend timer when the socket closes
// (socket.ProtocolCloser), so that none keeps the socket alive until it
// goes off.
func (p *proto) CloseProtocol() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.timers.StopAll()
}

func (c *Context) send(ctx context.Context, m *socket.Message) error {
	p := c.p
	p.mu.Lock()
	if c.closed {
		p.mu.Unlock()
		return socket.ErrClosed
	}
	abandoned := c.abandonedPipeLocked()
	c.finishLocked()
	c.drainLocked()
	id := p.pending.Start(m, c)
	c.id = id
	if p.resend.Load() > 0 {
		c.req = p.keep(m)
	}
	c.sending = true
	p.mu.Unlock()
	if abandoned != nil {
		abandoned.Close(errAbandoned)
	}

	pp, err := p.pipes.SendRoundRobin(ctx, m)

	p.mu.Lock()
	defer p.mu.Unlock()
	c.sending = false
	if pp != nil {
		p.sentLocked(pp)
	}
	if c.id != id {
		return err // abandoned meanwhile
	}
	if err != nil {
		c.finishLocked()
		return err
	}
	c.pipe = pp
	c.armLocked()
	return nil
}

func (c *Context) recv(ctx context.Context) (*socket.Message, error) {
	p := c.p
	p.mu.Lock()
	if c.closed {
		p.mu.Unlock()
		return nil, socket.ErrClosed
	}
	if c.id == 0 && len(c.reply) == 0 {
		p.mu.Unlock()
		return nil, fmt.Errorf("%w: req0 Recv without a request sent", socket.ErrBadState)
	}
	p.mu.Unlock()
	if err := p.s.ReadThrough(ctx, func() bool { return len(c.reply) > 0 }); err != nil {
		return nil, err
	}
	select {
	case m := <-c.reply:
		return replyOrLost(m)
	default:
	}
	p.s.RecvWaiting(1)
	defer p.s.RecvWaiting(-1)
	select {
	case m := <-c.reply:
		return replyOrLost(m)
	case <-ctx.Done():
		return nil, socket.CtxErr(ctx)
	case <-p.s.Closing():
		return nil, socket.ErrClosed
	}
}

// replyOrLost returns a reply taken from a context's channel, or errLost
// for the nil that stands for a lost request.
func replyOrLost(m *socket.Message) (*socket.Message, error) {
	if m == nil {
		return nil, errLost
	}
	return m, nil
}

// finishLocked forgets the outstanding request.
func (c *Context) finishLocked() {
	if c.id != 0 {
		c.p.pending.End(c.id)
		c.id = 0
	}
	if c.req != nil {
		c.req.Free()
		c.req = nil
	}
	c.pipe = nil
}

// drainLocked drops a reply that came but was never received (counted
// as late), or the news of a lost request.
func (c *Context) drainLocked() {
	select {
	case m := <-c.reply:
		if m != nil { // nil: a lost request
			c.p.s.Drop(m, socket.DropLate)
		}
	default:
	}
}

// abandonedPipeLocked returns the ordered pipe that carries the context's
// outstanding request, unanswered, which a new request abandons: its reply
// could not be told from the next request's there, so the pipe would stay
// busy until the peer answered, and with one peer that never does, the new
// request would wait for ever. The caller closes it, as ZeroMQ's "lazy
// pirate" client closes its socket; the dialer reconnects. nil when there
// is no such pipe.
func (c *Context) abandonedPipeLocked() *socket.Pipe {
	if c.id == 0 || c.pipe == nil || c.sending || !reqPipeOf(c.pipe).ordered {
		return nil
	}
	return c.pipe
}

// errAbandoned closes an ordered pipe whose request a new one abandoned.
var errAbandoned = fmt.Errorf("%w: req0: a new request abandoned the one out on this connection, whose late reply could not be told from the next one's (replies come in order over ZMTP)", socket.ErrBadState)

// shareMin is the size from which a request kept for resending is shared
// with the pipe that sends it rather than copied: 1 MiB took 30 us to copy,
// 5 % of the requester's CPU.
const shareMin = 4 << 10

// keep returns a message to keep for resending m and to send again: m
// itself with one more owner if it is large, or a copy. With an inproc
// peer, whose pipe would copy a shared message anyway, it copies: the
// peer then gets the message the application made (1 MiB REQ/REP over
// inproc took 25 us one way with the copy made in the pipe, 15 us so).
func (p *proto) keep(m *socket.Message) *socket.Message {
	if m.Len() < shareMin || m.Loaned() || p.pipes.AnyByReference() {
		return m.Clone()
	}
	m.Share()
	return m
}

// armLocked notes that the outstanding request has just gone out and makes
// sure the resend timer goes off by the end of its interval: a timer that
// goes off sooner is left as it is.
func (c *Context) armLocked() {
	d := c.p.resendFor(c.pipe)
	if d <= 0 || c.req == nil {
		return
	}
	c.sentAt = time.Now()
	if c.timer.Arm(c.sentAt.Add(d)) {
		c.p.timers.Add(&c.timer)
	}
}

// resendDue runs when the resend timer goes off: it sends the outstanding
// request again if its interval has passed, waits for the rest of it if
// not, and lets the timer rest when no request is outstanding (or one is
// being sent, which arms it once sent).
func (c *Context) resendDue() {
	c.p.mu.Lock()
	defer c.p.mu.Unlock()
	c.timer.Fired()
	if c.id == 0 || c.req == nil || c.sending || c.closed || isClosing(c.p.s) {
		return
	}
	d := c.p.resendFor(c.pipe)
	if d <= 0 || c.timer.Early(c.sentAt.Add(d)) {
		return
	}
	c.transmitLocked()
}

// transmitLocked sends a copy of the outstanding request to a peer with room
// without waiting; with none, the request waits for AddPipe.
func (c *Context) transmitLocked() {
	if c.req == nil || isClosing(c.p.s) {
		return
	}
	m := c.p.keep(c.req)
	if pp := c.p.pipes.TrySendRoundRobin(m); pp != nil {
		c.pipe = pp
		c.p.sentLocked(pp)
	} else {
		m.Free()
		c.pipe = nil
		c.p.stranded = true
	}
	c.armLocked()
}

// isClosing reports whether s is closing.
func isClosing(s *socket.Socket) bool {
	select {
	case <-s.Closing():
		return true
	default:
		return false
	}
}
