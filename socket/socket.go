// Package socket is the core every pattern shares: messages and their pool,
// the Socket with its dialers, listeners, pipes, queues, deadlines, options,
// linger, statistics and events. Patterns (package pattern/...) plug in their
// routing policy through the Protocol interface; transports (transport/...)
// plug in through Transport; dialect codecs (wire/...) frame the bytes.
package socket

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Socket is a messaging socket of one pattern. Its methods are safe for
// concurrent use. Make one with a pattern's New (req.New, pub.New, ...).
type Socket struct {
	proto Protocol
	info  ProtocolInfo
	cfg   config
	conn  connConfig // kernel settings for new stream connections (connopts.go)
	// pipeHook is PipeHook's function, nil without one.
	pipeHook atomic.Pointer[func(PipeHookEvent, *Pipe)]

	started atomic.Bool
	closed  atomic.Bool
	closing chan struct{} // closed when Close starts
	// lingering is closed when Close has stopped taking messages and pipe
	// writers should flush their queues and end.
	lingering chan struct{}

	mu        sync.Mutex
	pipes     map[PipeID]*Pipe
	dialers   []*Dialer
	listeners []*Listener
	pending   map[*Conn]struct{} // connections in their handshake
	gone      Counters           // figures of pipes that have closed
	identity  []byte             // ZMTP routing id we announce (Identity option)
	security  securityConfig     // ZMTP security mechanism (PlainClient, PlainServer)
	tls       *tls.Config        // for tls+tcp connections (TLSConfig)
	// closedHooks run at the end of Close (a PipeSet counts what it kept
	// for a pipe that never came).
	closedHooks []func()

	connects, reconnects, hsFailures, dialFailures atomic.Uint64

	// ready is closed (and replaced) when a pipe gets room in its send queue
	// or a new pipe arrives, waking senders blocked in SendRoundRobin. It is
	// only touched when waiters is above zero.
	readyMu sync.Mutex
	ready   chan struct{}
	waiters atomic.Int32
	// readyTaken says a waiter took ready since it was made: closing a
	// channel nobody has yet is a wasted allocation (a reader freeing room
	// message by message would otherwise make one per message).
	readyTaken bool

	// solo is the socket's pipe when it has exactly one; recvWaiting
	// counts goroutines waiting for messages without reading through
	// (through.go).
	solo        atomic.Pointer[Pipe]
	recvWaiting atomic.Int32

	// inprocQueued counts messages that inproc senders queued on their side
	// for this socket's pipes and that the pipes' readers have not yet
	// delivered (the sum of the live pipes' backlogs; see Pipe.queued).
	inprocQueued atomic.Int64

	events eventHub
	wg     sync.WaitGroup // every goroutine the socket started
}

// New makes a socket running protocol p, then applies opts. Patterns call it
// from their own New.
func New(p Protocol, opts ...Option) (*Socket, error) {
	s := &Socket{
		proto:     p,
		info:      p.Info(),
		closing:   make(chan struct{}),
		lingering: make(chan struct{}),
		pipes:     map[PipeID]*Pipe{},
		pending:   map[*Conn]struct{}{},
		ready:     make(chan struct{}),
	}
	s.cfg.init()
	if s.info.Self == 0 && s.info.ZMTPType != "" {
		// A ZeroMQ-only type (DEALER, ROUTER, XPUB, XSUB) has no SP
		// counterpart: it dials in ZMTP, and its listeners refuse SP peers.
		s.cfg.dialDialect.Store(int32(DialectZMTP))
	}
	p.Init(s)
	if err := s.SetOption(opts...); err != nil {
		return nil, err
	}
	return s, nil
}

// Info describes the socket's protocol.
func (s *Socket) Info() ProtocolInfo { return s.info }

// Protocol returns the pattern behind the socket.
func (s *Socket) Protocol() Protocol { return s.proto }

// SetOption applies options in order and stops at the first that fails.
func (s *Socket) SetOption(opts ...Option) error {
	for _, o := range opts {
		if o.apply == nil {
			return fmt.Errorf("%w: empty option", ErrBadOption)
		}
		if err := o.apply(s); err != nil {
			return err
		}
	}
	return nil
}

// Closing is closed when the socket starts closing; patterns wait on it.
func (s *Socket) Closing() <-chan struct{} { return s.closing }

// RecvHWM returns the receive high-water mark.
func (s *Socket) RecvHWM() int { return int(s.cfg.recvHWM.Load()) }

// Send sends m, waiting at most the send timeout. See Message for ownership.
func (s *Socket) Send(m *Message) error { return s.SendContext(context.Background(), m) }

// SendContext sends m, waiting until ctx ends or the send timeout passes.
func (s *Socket) SendContext(ctx context.Context, m *Message) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if !s.info.CanSend {
		return fmt.Errorf("%w: Send on %s", ErrNotSupported, s.info.Name)
	}
	if d := s.cfg.sendTimeout.Load(); d >= 0 {
		if ts, ok := s.proto.(TrySender); ok {
			if done, err := ts.TrySend(m); done {
				return err
			}
		}
		var w Wait
		ctx, w = withTimeout(ctx, time.Duration(d))
		defer w.End()
	}
	return s.proto.Send(ctx, m)
}

// Recv receives a message, waiting at most the receive timeout.
func (s *Socket) Recv() (*Message, error) { return s.RecvContext(context.Background()) }

// RecvContext receives a message, waiting until ctx ends or the receive
// timeout passes.
func (s *Socket) RecvContext(ctx context.Context) (*Message, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	if !s.info.CanRecv {
		return nil, fmt.Errorf("%w: Recv on %s", ErrNotSupported, s.info.Name)
	}
	if d := s.cfg.recvTimeout.Load(); d >= 0 {
		if tr, ok := s.proto.(TryReceiver); ok {
			if m := tr.TryRecv(); m != nil {
				return m, nil
			}
		}
		var w Wait
		ctx, w = withTimeout(ctx, time.Duration(d))
		defer w.End()
	}
	return s.proto.Recv(ctx)
}

// WithSendTimeout applies the socket's send timeout to ctx, for pattern
// contexts that send outside Socket.Send. Call the Wait's End when the send
// returns, and do not use the context after that.
func (s *Socket) WithSendTimeout(ctx context.Context) (context.Context, Wait) {
	if d := s.cfg.sendTimeout.Load(); d >= 0 {
		return withTimeout(ctx, time.Duration(d))
	}
	return ctx, Wait{}
}

// WithRecvTimeout applies the socket's receive timeout to ctx, as
// WithSendTimeout does the send timeout.
func (s *Socket) WithRecvTimeout(ctx context.Context) (context.Context, Wait) {
	if d := s.cfg.recvTimeout.Load(); d >= 0 {
		return withTimeout(ctx, time.Duration(d))
	}
	return ctx, Wait{}
}

// SendBytes sends a copy of b.
func (s *Socket) SendBytes(b []byte) error {
	m := NewMessageBytes(b)
	if err := s.Send(m); err != nil {
		m.Free()
		return err
	}
	return nil
}

// RecvBytes receives a message and returns its body. A message of more
// than one frame (ZMTP multipart) is not cut short: RecvBytes drops it and
// fails with ErrMultipart (counted as DropMultipart), saying how many frames
// it had; use RecvFrames or Recv where peers send such messages.
func (s *Socket) RecvBytes() ([]byte, error) {
	m, err := s.Recv()
	if err != nil {
		return nil, err
	}
	if n := len(m.Frames); n > 0 {
		s.Drop(m, DropMultipart)
		return nil, fmt.Errorf("%w of %d frames: RecvBytes returns one; RecvFrames or Recv takes them all", ErrMultipart, n+1)
	}
	if m.Loaned() { // the bytes are the caller's to keep: copy them out
		b := bytes.Clone(m.Body)
		m.Free()
		return b, nil
	}
	return m.Body, nil
}

// SendFrames sends a message made of copies of frames, the first as its
// body and the rest as further frames (ZMTP multipart; an SP peer gets
// them joined, as SP messages have one part). It needs at least one frame.
func (s *Socket) SendFrames(frames ...[]byte) error {
	if len(frames) == 0 {
		return fmt.Errorf("%w: SendFrames needs at least one frame", ErrBadState)
	}
	m := NewMessageBytes(frames[0])
	m.Frames = copyFrames(frames[1:])
	if err := s.Send(m); err != nil {
		m.Free()
		return err
	}
	return nil
}

// RecvFrames receives a message and returns its frames: the body first,
// then the further frames of a multipart message (one frame from an SP
// peer).
func (s *Socket) RecvFrames() ([][]byte, error) {
	m, err := s.Recv()
	if err != nil {
		return nil, err
	}
	frames := make([][]byte, 0, 1+len(m.Frames))
	frames = append(frames, m.Body)
	frames = append(frames, m.Frames...)
	if m.Loaned() { // the bytes are the caller's to keep: copy them out
		for i, f := range frames {
			frames[i] = bytes.Clone(f)
		}
		m.Free()
	}
	return frames, nil
}

// Events returns a channel of connection events with room for buf events.
// A watcher that falls behind misses events; the channel closes when the
// socket is closed.
func (s *Socket) Events(buf int) <-chan Event { return s.events.watch(buf) }

// Emit reports an event to watchers; patterns and transports may use it.
func (s *Socket) emit(e Event) { s.events.emit(e) }

// Stats returns the socket's figures, pipes that have closed included.
func (s *Socket) Stats() Stats {
	s.mu.Lock()
	st := Stats{Counters: s.gone}
	for _, p := range s.pipes {
		if p.attached { // a pipe whose AddPipe still runs cannot carry sends yet
			st.Pipes++
		}
		c := p.counts()
		st.Counters.add(&c)
	}
	s.mu.Unlock()
	st.Connects = s.connects.Load()
	st.Reconnects = s.reconnects.Load()
	st.HandshakeFailures = s.hsFailures.Load()
	st.DialFailures = s.dialFailures.Load()
	return st
}

// Drop counts m as dropped by the socket itself for reason r, when no pipe
// is involved (a ROUTER message for a peer it does not know), and frees it.
func (s *Socket) Drop(m *Message, r DropReason) {
	s.mu.Lock()
	s.gone.Drops[r]++
	s.mu.Unlock()
	m.Free()
}

// PipeStats returns the figures of each connected pipe.
func (s *Socket) PipeStats() []PipeStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]PipeStats, 0, len(s.pipes))
	for _, p := range s.pipes {
		out = append(out, p.Stats())
	}
	return out
}

// Pipe returns the connected pipe with the given id, or nil.
func (s *Socket) Pipe(id PipeID) *Pipe {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pipes[id]
}

// readyChan returns the channel closed at the next signalReady.
func (s *Socket) readyChan() <-chan struct{} {
	s.readyMu.Lock()
	defer s.readyMu.Unlock()
	s.readyTaken = true
	return s.ready
}

// awaitInproc's bounds. A running reader delivers what it took within
// microseconds, so the wait spins first. A pipe that is starting (its
// attach goroutine, then its reader, yet to run) can take milliseconds on a
// loaded machine, so it then sleeps in short steps; the bound is for a
// reader held up in its pattern.
const (
	inprocSpinFor   = 50 * time.Microsecond
	inprocSleepStep = 20 * time.Microsecond
	inprocWaitMax   = 100 * time.Millisecond
)

// awaitInproc waits while messages that inproc senders queued for this
// socket's pipes are on their way through the pipes' readers and ready
// reports false, for at most inprocWaitMax. It reports ready's last answer,
// or false at once if nothing is on its way.
func (s *Socket) awaitInproc(ready func() bool) bool {
	if s.inprocQueued.Load() <= 0 {
		return false
	}
	start := time.Now()
	for i := 1; ; i++ {
		if ready() {
			return true
		}
		if s.inprocQueued.Load() <= 0 {
			return ready()
		}
		if i%16 != 0 {
			runtime.Gosched()
			continue
		}
		switch waited := time.Since(start); {
		case waited > inprocWaitMax:
			return false
		case waited > inprocSpinFor:
			time.Sleep(inprocSleepStep)
		default:
			runtime.Gosched()
		}
	}
}

// signalReady wakes senders waiting for room, if there are any.
func (s *Socket) signalReady() {
	if s.waiters.Load() == 0 {
		return
	}
	s.readyMu.Lock()
	if s.readyTaken {
		close(s.ready)
		s.ready = make(chan struct{})
		s.readyTaken = false
	}
	s.readyMu.Unlock()
}

// addPipe registers a pipe that finished its handshake and starts it,
// unless the pipe hook refuses it at PipeAdding. A pipe the hook saw
// adding and that is not added is reported removed.
func (s *Socket) addPipe(p *Pipe) error {
	if !s.callPipeHook(PipeAdding, p) {
		s.callPipeHook(PipeRemoved, p)
		if err := p.Err(); err != nil {
			return err
		}
		return ErrPipeRefused
	}
	if err := s.registerPipe(p); err != nil {
		s.callPipeHook(PipeRemoved, p)
		return err
	}
	s.callPipeHook(PipeAdded, p)
	s.connects.Add(1)
	typ := EventAccepted
	if p.dialed {
		typ = EventConnected
	}
	s.emit(Event{Type: typ, URL: p.url, Remote: p.remote, Pipe: p.id})
	p.start()
	return nil
}

// registerPipe makes p one of the socket's pipes and hands it to the
// pattern, which may refuse it.
func (s *Socket) registerPipe(p *Pipe) error {
	s.mu.Lock()
	if s.closed.Load() {
		s.mu.Unlock()
		return ErrClosed
	}
	if p.listener != nil && p.listener.closed {
		s.mu.Unlock()
		return errListenerClosed
	}
	s.pipes[p.id] = p
	s.setSolo()
	s.mu.Unlock()
	if err := s.proto.AddPipe(p); err != nil {
		s.mu.Lock()
		delete(s.pipes, p.id)
		s.setSolo()
		s.mu.Unlock()
		return err
	}
	s.mu.Lock()
	p.attached = true
	s.mu.Unlock()
	return nil
}

// removePipe forgets a pipe that has closed.
func (s *Socket) removePipe(p *Pipe) {
	s.proto.RemovePipe(p)
	c := p.counts()
	s.mu.Lock()
	delete(s.pipes, p.id)
	s.setSolo()
	s.gone.add(&c)
	s.mu.Unlock()
	s.callPipeHook(PipeRemoved, p)
	s.emit(Event{Type: EventDisconnected, URL: p.url, Remote: p.remote, Pipe: p.id, Err: p.cause()})
}

// Close closes the socket. Listeners and dialers stop at once; pipes flush
// their queues for up to the linger time, then close; Close returns when every
// goroutine of the socket has ended. A second Close returns ErrClosed.
func (s *Socket) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return ErrClosed
	}
	close(s.closing)
	s.mu.Lock()
	dialers, listeners := s.dialers, s.listeners
	s.dialers, s.listeners = nil, nil
	for c := range s.pending {
		c.Close()
	}
	pipes := make([]*Pipe, 0, len(s.pipes))
	for _, p := range s.pipes {
		pipes = append(pipes, p)
	}
	s.mu.Unlock()
	for _, l := range listeners {
		l.close()
	}
	for _, d := range dialers {
		d.close()
	}
	s.linger(pipes)
	s.wg.Wait()
	s.mu.Lock()
	hooks := s.closedHooks
	s.mu.Unlock()
	for _, f := range hooks {
		f()
	}
	if pc, ok := s.proto.(ProtocolCloser); ok {
		pc.CloseProtocol()
	}
	s.events.close()
	return nil
}

// onClosed has Close call f once the socket's goroutines have ended.
func (s *Socket) onClosed(f func()) {
	s.mu.Lock()
	s.closedHooks = append(s.closedHooks, f)
	s.mu.Unlock()
}

// linger lets pipes flush what they have queued, up to the linger time, then
// closes them.
func (s *Socket) linger(pipes []*Pipe) {
	close(s.lingering)
	for _, p := range pipes {
		if p.conn != nil {
			p.sendq.lingering() // an idle pipe's writer closes it
		}
	}
	expired := make(chan struct{})
	if d := time.Duration(s.cfg.linger.Load()); d >= 0 {
		t := time.AfterFunc(d, func() { close(expired) })
		defer t.Stop()
	}
	for _, p := range pipes {
		if p.mp != nil {
			// A message transport has no writer goroutine: wait for the
			// peer to take what we queued.
			p.waitDrained(expired)
			p.close(nil)
		}
		select {
		case <-p.gone:
		case <-expired:
		}
		p.close(ErrClosed)
		<-p.gone
	}
}

// waitDrained waits until the pipe's send queue is empty, the pipe closes or
// expired is closed.
func (p *Pipe) waitDrained(expired <-chan struct{}) {
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for p.sendq.len() > 0 {
		select {
		case <-tick.C:
		case <-p.done:
			return
		case <-expired:
			return
		}
	}
}
