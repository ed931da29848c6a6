package socket

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mqwire/mqwire/wire/sp"
	"github.com/mqwire/mqwire/wire/zmtp"
)

// Dialer keeps one outgoing connection up: it dials in the background and
// dials again, after a jittered wait, whenever the connection fails or closes.
type Dialer struct {
	s      *Socket
	url    string
	t      Transport
	scheme string
	addr   string
	ctx    context.Context // carries the TransportDialOption values
	cancel context.CancelFunc
	done   chan struct{} // closed when the dialer has stopped
	values []dialValue   // TransportDialOption's
	// dropPipe is set when the application closes this dialer alone: its
	// pipe closes too. When the socket closes, pipes are left to linger.
	dropPipe atomic.Bool

	// The dialer has a goroutine only while it dials or waits to dial:
	// while its connection is up it has none, and the connection's end
	// (Pipe.finish, through pipeGone) starts one again, so that an idle
	// connection costs no goroutine here. mu guards pipe, lost and
	// stopped; the goroutines, one after the other, own connected and wait.
	mu   sync.Mutex
	pipe *Pipe // the connection up now; nil while a goroutine runs
	// lost is a connection that ended before the goroutine that made it
	// took it as the dialer's (hold): that goroutine dials again itself.
	lost      *Pipe
	stopped   bool
	connected bool          // a connection was made before (Reconnects)
	wait      time.Duration // before the next try

	routingID []byte      // ConnectRoutingID's; set before the dialer starts
	tls       *tls.Config // DialTLSConfig's, in place of the socket's; set before it starts
	// listenerUp closes when the address gets a listener (ListenWaiter),
	// which ends the wait before the next try; nil for other transports.
	listenerUp  <-chan struct{}
	stopWaiting func() // releases listenerUp (nil with it)

	// first receives the outcome of the first attempt, for a Dial that
	// waits for it (SynchronousDial); nil otherwise. Only the dialer's
	// first goroutine sends, once.
	first chan error
}

// reportFirst hands the outcome of the dialer's first attempt to the Dial
// that waits for it, if one does.
func (d *Dialer) reportFirst(err error) {
	if d.first != nil {
		d.first <- err
		d.first = nil
	}
}

// URL returns the address the dialer connects to.
func (d *Dialer) URL() string { return d.url }

// Close stops the dialer and closes its connection.
func (d *Dialer) Close() error {
	d.s.mu.Lock()
	for i, x := range d.s.dialers {
		if x == d {
			d.s.dialers = append(d.s.dialers[:i], d.s.dialers[i+1:]...)
			break
		}
	}
	d.s.mu.Unlock()
	d.dropPipe.Store(true)
	d.close()
	return nil
}

// close stops the dialer and waits until it has: at once when its
// connection is up (no goroutine of its runs then), else when its goroutine
// sees the cancellation.
func (d *Dialer) close() {
	d.cancel()
	d.mu.Lock()
	p := d.pipe
	if d.stopped { // closed before, or stopping on its own
		p = nil
	}
	if p != nil {
		d.stopped = true
	}
	d.mu.Unlock()
	if p != nil {
		d.letGo(p)
		close(d.done)
	}
	<-d.done
}

// letGo is the stopping dialer leaving its connection p: closed if the
// application closed the dialer alone, else left to linger with the socket.
func (d *Dialer) letGo(p *Pipe) {
	if d.dropPipe.Load() {
		p.close(ErrClosed)
		<-p.gone
	}
}

// Dial connects the socket to url in the background and keeps the connection
// up. A peer that is not up yet is not an error: the dialer tries again every
// ReconnectInterval. Only a malformed URL, an unknown scheme or a bad
// option fails here (unless SynchronousDial is among opts); opts hold for
// every connection the dialer makes.
func (s *Socket) Dial(url string, opts ...DialOption) (*Dialer, error) {
	t, scheme, addr, err := splitURL(url, true)
	if err != nil {
		return nil, err
	}
	d := &Dialer{s: s, url: url, t: t, scheme: scheme, addr: addr, done: make(chan struct{})}
	for _, o := range opts {
		if err := o.apply(s, d); err != nil {
			return nil, err
		}
	}
	base := context.Background()
	for _, v := range d.values {
		base = context.WithValue(base, v.key, v.value)
	}
	d.ctx, d.cancel = context.WithCancel(base)
	d.wait = time.Duration(s.cfg.reconnectMin.Load())
	s.mu.Lock()
	if s.closed.Load() {
		s.mu.Unlock()
		d.cancel()
		return nil, ErrClosed
	}
	s.started.Store(true)
	s.dialers = append(s.dialers, d)
	s.wg.Add(1)
	s.mu.Unlock()
	first := d.first
	go d.dial(false)
	if first == nil {
		return d, nil
	}
	select {
	case err = <-first:
	case <-d.done: // the socket closed before the attempt ended
		err = ErrClosed
	}
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("dial %s: %w", url, err)
	}
	return d, nil
}

// dial connects, trying again after a wait while it fails, until a
// connection is up, and then ends: the connection's end starts it again
// (pipeGone). It also ends when the dialer stops. waitFirst says to wait
// before the first try (a connection has just ended).
func (d *Dialer) dial(waitFirst bool) {
	defer d.s.wg.Done()
	s := d.s
	d.stopListenerWait() // a connection just ended: the wait is the reconnect interval
	if waitFirst && !d.sleep() {
		d.stop()
		return
	}
	for {
		d.stopListenerWait()
		if lw, ok := d.t.(ListenWaiter); ok {
			d.listenerUp, d.stopWaiting = lw.ListenerUp(d.addr) // before the try: a listener that comes after it wakes the wait
		}
		c, err := d.connect()
		if err == nil {
			d.stopListenerWait() // there is a listener: a retry waits the reconnect interval
		}
		if d.ctx.Err() != nil {
			if err == nil {
				c.Close()
			}
			d.stop()
			return
		}
		if err != nil {
			s.dialFailures.Add(1)
			s.emit(Event{Type: EventDialFailed, URL: d.url, Err: err})
			d.reportFirst(err)
		} else if p, err := s.attach(d.ctx, c, d.url, d, d.tls); err != nil {
			d.reportFirst(err)
		} else {
			d.reportFirst(nil)
			if d.connected {
				s.reconnects.Add(1)
			}
			d.connected = true
			d.wait = time.Duration(s.cfg.reconnectMin.Load())
			if d.hold(p) {
				return
			}
		}
		if !d.sleep() {
			d.stop()
			return
		}
	}
}

// connect makes one attempt to connect, within ConnectTimeout if it is set.
func (d *Dialer) connect() (Conn, error) {
	limit := time.Duration(d.s.cfg.connectTimeout.Load())
	if limit <= 0 {
		return d.t.Dial(d.ctx, d.scheme, d.addr)
	}
	ctx, cancel := context.WithTimeout(d.ctx, limit)
	defer cancel()
	c, err := d.t.Dial(ctx, d.scheme, d.addr)
	// A connect can fail on the deadline it took from ctx (the poller's
	// "i/o timeout") a moment before ctx ends.
	if err != nil && d.ctx.Err() == nil && (ctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded)) {
		err = fmt.Errorf("%w: connecting to %s took longer than ConnectTimeout (%v): %v", ErrTimeout, d.url, limit, err)
	}
	return c, err
}

// hold makes p, just made, the dialer's connection, and reports true: the
// calling goroutine ends, and p's end starts another. It reports false,
// and the caller goes on, when p has ended already, or when the dialer is
// stopping (then p is closed first if the dialer was closed alone).
func (d *Dialer) hold(p *Pipe) bool {
	d.mu.Lock()
	if d.lost == p {
		d.lost = nil
		d.mu.Unlock()
		return false
	}
	if d.ctx.Err() == nil {
		d.pipe = p
		d.mu.Unlock()
		return true
	}
	d.mu.Unlock()
	d.letGo(p)
	return false
}

// pipeGone runs when a connection the dialer made has ended (Pipe.finish,
// on the pipe's reader goroutine): unless the dialer has stopped, or the
// goroutine that made p is still running (and dials again itself), a
// goroutine dials again after the reconnect wait.
func (d *Dialer) pipeGone(p *Pipe) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.pipe != p {
		d.lost = p
		return
	}
	d.pipe = nil
	if d.stopped {
		return
	}
	d.s.wg.Add(1) // p's reader goroutine still counts: the socket's Wait has not returned
	go d.dial(true)
}

// sleep waits the jittered reconnect wait and doubles it up to
// ReconnectIntervalMax if that is set; it reports false when the dialer
// stops meanwhile.
func (d *Dialer) sleep() bool {
	if !sleepCtxOr(d.ctx, jitter(d.wait), d.listenerUp) {
		return false
	}
	if max := time.Duration(d.s.cfg.reconnectMax.Load()); max > d.wait {
		d.wait = min(2*d.wait, max) // a max below the interval is none, as in libzmq and nng
	}
	return true
}

// stopListenerWait lets go of the wait for a listener, if any.
func (d *Dialer) stopListenerWait() {
	if d.stopWaiting != nil {
		d.stopWaiting()
	}
	d.listenerUp, d.stopWaiting = nil, nil
}

// stop is the dialer's goroutine ending for good.
func (d *Dialer) stop() {
	d.stopListenerWait()
	d.mu.Lock()
	d.stopped = true
	d.mu.Unlock()
	close(d.done)
}

// jitter spreads d over [d/2, 3d/2) so that many dialers do not retry in step.
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d)
}

func sleepCtx(ctx context.Context, d time.Duration) bool { return sleepCtxOr(ctx, d, nil) }

// sleepCtxOr is sleepCtx, cut short (reporting true) when early closes.
func sleepCtxOr(ctx context.Context, d time.Duration, early <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-early:
		return true
	case <-ctx.Done():
		return false
	}
}

// Listener accepts connections on one address for its socket.
type Listener struct {
	s    *Socket
	url  string
	l    TransportListener
	done chan struct{}
	tls  *tls.Config // ListenTLSConfig's, in place of the socket's
	// from is AcceptFrom's listener, used in place of binding the URL.
	from TransportListener
	// values are TransportListenOption's, for the transport's
	// ListenContext, and valueNames their options' names.
	values     []dialValue
	valueNames []string
	// closed: Close was called; a connection it accepted that is still in
	// its handshake is refused (under s.mu).
	closed bool
}

// URL returns the bound address; when the port was 0 it names the port the
// system chose.
func (l *Listener) URL() string { return l.l.URL() }

// Close stops listening and closes the connections the listener accepted,
// as nng_listener_close and libzmq's zmq_unbind do (what they had queued
// is dropped); the socket's other connections stay up.
func (l *Listener) Close() error {
	s := l.s
	s.mu.Lock()
	for i, x := range s.listeners {
		if x == l {
			s.listeners = append(s.listeners[:i], s.listeners[i+1:]...)
			break
		}
	}
	l.closed = true
	var accepted []*Pipe
	for _, p := range s.pipes {
		if p.listener == l {
			accepted = append(accepted, p)
		}
	}
	s.mu.Unlock()
	l.close()
	for _, p := range accepted {
		p.close(errListenerClosed)
		<-p.gone
	}
	return nil
}

// errListenerClosed closes the connections of a listener the application
// closed.
var errListenerClosed = fmt.Errorf("%w: its listener was closed", ErrClosed)

func (l *Listener) close() {
	l.l.Close()
	<-l.done
}

// Listen binds url and accepts connections in the background. Listening on
// port 0 binds a free port; Listener.URL reports it.
func (s *Socket) Listen(url string, opts ...ListenOption) (*Listener, error) {
	t, scheme, addr, err := splitURL(url, false)
	if err != nil {
		return nil, err
	}
	l := &Listener{s: s, url: url, done: make(chan struct{})}
	tl, err := l.open(t, scheme, addr, opts)
	if err != nil {
		return nil, err
	}
	l.l = tl
	s.mu.Lock()
	if s.closed.Load() {
		s.mu.Unlock()
		tl.Close()
		return nil, ErrClosed
	}
	s.started.Store(true)
	s.listeners = append(s.listeners, l)
	s.wg.Add(1)
	s.mu.Unlock()
	s.emit(Event{Type: EventListening, URL: tl.URL()})
	go l.acceptLoop()
	return l, nil
}

// open applies the options and binds the address, or takes AcceptFrom's
// listener, which it closes if it fails.
func (l *Listener) open(t Transport, scheme, addr string, opts []ListenOption) (TransportListener, error) {
	s := l.s
	err := func() error {
		// Every option is applied, so that AcceptFrom's listener is known
		// (to be closed) whichever option fails.
		var first error
		for _, o := range opts {
			if err := o.apply(s, t, scheme, l); err != nil && first == nil {
				first = err
			}
		}
		if first != nil {
			return first
		}
		if s.closed.Load() {
			return ErrClosed
		}
		if tt, ok := t.(TLSTransport); ok && tt.TLS(scheme) && l.from == nil {
			if _, err := s.tlsServerConfig(l.tls); err != nil {
				return err
			}
		}
		return nil
	}()
	if err == nil && len(l.values) > 0 {
		if l.from != nil {
			err = fmt.Errorf("%w: %s with AcceptFrom, which binds nothing", ErrOptionNotApplicable, l.valueNames[0])
		} else if _, ok := t.(ContextListener); !ok {
			err = fmt.Errorf("%w: %s: the %s:// transport takes no listen options", ErrOptionNotApplicable, l.valueNames[0], scheme)
		}
	}
	if l.from != nil {
		if err != nil {
			l.from.Close()
			return nil, err
		}
		return l.from, nil
	}
	if err != nil {
		return nil, err
	}
	if cl, ok := t.(ContextListener); ok {
		ctx := context.Background()
		for _, v := range l.values {
			ctx = context.WithValue(ctx, v.key, v.value)
		}
		return cl.ListenContext(ctx, scheme, addr)
	}
	return t.Listen(scheme, addr)
}

func (l *Listener) acceptLoop() {
	defer l.s.wg.Done()
	defer close(l.done)
	s := l.s
	url := l.l.URL()
	for {
		c, err := l.l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || s.closed.Load() {
				return
			}
			// Out of descriptors or a passing fault: wait a moment rather
			// than spin, then go on serving.
			s.emit(Event{Type: EventHandshakeFailed, URL: url, Err: err})
			if !sleepCtx(context.Background(), 10*time.Millisecond) {
				return
			}
			continue
		}
		s.mu.Lock()
		if s.closed.Load() {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			s.attach(context.Background(), c, url, l, l.tls) // a refusal is reported as an event
		}()
	}
}

// endpoint is a Dialer or a Listener: where a connection came from.
type endpoint interface{ URL() string }

// attach runs the handshake on a new connection and, when it succeeds, makes
// a pipe of it. It returns nil when the connection was refused (and closed).
// When ctx ends during the handshake (its dialer is closed), the connection
// is closed, so that the handshake ends at once rather than at its timeout.
// from is the Dialer that made the connection (its pipeGone runs when the
// pipe has ended, Pipe.finish) or the Listener that accepted it (its Close
// closes the pipe). tlsCfg is the dialer's or listener's own TLS
// configuration, if it has one. The error says why a connection was
// refused.
func (s *Socket) attach(ctx context.Context, c Conn, url string, from endpoint, tlsCfg *tls.Config) (*Pipe, error) {
	d, _ := from.(*Dialer)
	dialed := d != nil
	s.mu.Lock()
	if s.closed.Load() {
		s.mu.Unlock()
		c.Close()
		return nil, ErrClosed
	}
	s.pending[&c] = struct{}{}
	s.mu.Unlock()
	stop := context.AfterFunc(ctx, func() {
		s.mu.Lock()
		if _, ok := s.pending[&c]; ok {
			c.Close()
		}
		s.mu.Unlock()
	})
	p, err := s.handshake(c, url, dialed, tlsCfg)
	stop()
	s.mu.Lock()
	delete(s.pending, &c)
	s.mu.Unlock()
	if err != nil {
		if p != nil {
			p.endBacklog() // an inproc peer may have queued for it already
		}
		c.Close()
		s.hsFailures.Add(1)
		s.emit(Event{Type: EventHandshakeFailed, URL: url, Remote: c.Remote, Err: err})
		return nil, err
	}
	if d != nil {
		p.onGone, p.connectID = d.pipeGone, d.routingID
	}
	p.listener, _ = from.(*Listener)
	if err := s.addPipe(p); err != nil {
		p.close(err)
		p.endBacklog()
		if !errors.Is(err, ErrClosed) {
			s.emit(Event{Type: EventPipeRejected, URL: url, Remote: c.Remote, Err: err})
		}
		return nil, err
	}
	return p, nil
}

func (s *Socket) newPipe(c Conn, url string, dialed bool) *Pipe {
	direct, _ := s.proto.(TryDeliverer)
	var queueBytes int64
	if c.Stream != nil { // a message transport hands messages over: no writer queue to bound
		queueBytes = s.cfg.sendQueueBytes.Load()
	}
	q := newSendQueue(int(s.cfg.sendHWM.Load()), queueBytes)
	q.boundHeld = c.Stream == nil
	return &Pipe{
		direct:     direct,
		id:         nextPipeID(),
		sock:       s,
		url:        url,
		remote:     c.Remote,
		local:      c.Local,
		dialed:     dialed,
		sendq:      q,
		done:       make(chan struct{}),
		writerDone: make(chan struct{}),
		gone:       make(chan struct{}),
	}
}

// handshake runs the connection handshake of the connection's dialect. A
// dialer speaks the dialect the application chose; a listener tells the
// peer's dialect from its first byte (0xFF ZMTP, 0x00 SP), or from a
// framing transport's own handshake (MessageFramer), and answers in it.
func (s *Socket) handshake(c Conn, url string, dialed bool, tlsCfg *tls.Config) (*Pipe, error) {
	p := s.newPipe(c, url, dialed)
	timeout := time.Duration(s.cfg.handshakeTimeout.Load())
	if c.Port != nil {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		s.mu.Lock()
		id := s.identity
		s.mu.Unlock()
		local := PortInfo{Proto: s.info.Self, ZMTPType: s.info.ZMTPType, Identity: id, Out: p.sendq, Taken: s.signalReady, pipe: p}
		if s.info.Self != 0 && s.info.ZMTPType == zmtp.TypeREQ {
			local.reqIDs = &idQueue{}
			if rc, ok := s.proto.(RequestCorrelator); ok {
				local.reqIDs.correlate = rc.CorrelateRequests()
			}
		}
		peer, err := c.Port.Exchange(ctx, local)
		if err != nil {
			return p, err // the peer may have p and queue for it
		}
		p.mp, p.port, p.peer, p.peerName = c.Port, peer, peer.Proto, sp.ProtoName(peer.Proto)
		if s.info.Self == 0 || peer.Proto == 0 {
			// ZeroMQ-only types (DEALER, ROUTER...) pair by ZeroMQ type.
			p.peerName = peer.ZMTPType
			if len(peer.Identity) > 0 {
				p.peerIdentity = bytes.Clone(peer.Identity)
			}
			if err := s.checkZMTPPeer(peer); err != nil {
				return p, err
			}
			p.setInprocEnvelope(local, peer)
			return p, nil
		}
		return p, s.checkPeer(peer.Proto)
	}
	conn := c.Stream
	if err := s.tuneConn(conn); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(timeout)
	if c.TLS {
		var err error
		if conn, err = s.startTLS(conn, url, dialed, deadline, tlsCfg); err != nil {
			return nil, err
		}
		st := conn.(*tlsConn).ConnectionState()
		p.tlsState = &st
	}
	p.connInfo = c.Info
	if c.Frame != nil {
		conn = c.Frame(conn)
		if ci, ok := conn.(ConnInformer); ok {
			p.connInfo = joinConnInfo(p.connInfo, ci)
		}
	}
	var first []byte
	// A socket with a security mechanism dials in ZMTP, the only dialect
	// that has one.
	zmtpPeer := dialed && (Dialect(s.cfg.dialDialect.Load()) == DialectZMTP || s.secured())
	framer, framed := conn.(MessageFramer)
	if !dialed && s.info.ZMTPType != "" && !framed {
		var err error
		if first, err = sniff(conn, deadline); err != nil {
			return nil, handshakeErr("handshake", err)
		}
		zmtpPeer = len(first) == 1 && first[0] == 0xFF
	}
	if err := conn.SetDeadline(deadline); err != nil {
		return nil, err
	}
	if framed {
		mech := s.mechanism()
		var err error
		zmtpPeer, err = framer.Frame(FrameRequest{
			SPSelf: s.info.Self, SPPeer: s.info.Peer, ZMTPType: s.info.ZMTPType,
			OfferZMTP: zmtpPeer || s.info.Self == 0, Mechanism: mech.name(), AsServer: mech.asServer(),
			RecvLimit: func() uint64 { return uint64(s.cfg.maxRecvSize.Load()) },
		})
		if err != nil {
			return nil, tlsAlert(c.TLS, handshakeErr("handshake", err))
		}
		p.heartbeater, _ = conn.(Heartbeater)
	}
	if !zmtpPeer && s.secured() {
		// SP has no security mechanism: an SP peer would bypass ours.
		return nil, fmt.Errorf("%w: this socket requires a ZMTP security mechanism, which an SP peer cannot use", ErrPeerMismatch)
	}
	var err error
	if zmtpPeer {
		conn, err = s.zmtpHandshake(p, conn, first)
	} else {
		err = s.spHandshake(p, conn, first, c.IPCFraming)
	}
	if err != nil {
		return nil, tlsAlert(c.TLS, err)
	}
	p.conn = conn
	if lc := loanConn(conn); lc != nil {
		p.codec.setLoans(lc)
		p.loanMin = lc.LoanMin()
	}
	p.initTurns()
	return p, conn.SetDeadline(time.Time{})
}

// sniffWait is how long a listener waits for a peer's first byte to tell its
// dialect. SP and ZMTP peers both speak first, at once; a peer still silent
// after this is answered in SP (which lets peers that read first work).
const sniffWait = 250 * time.Millisecond

// sniff reads the peer's first byte, or returns none when the peer stays
// silent for sniffWait.
func sniff(c net.Conn, deadline time.Time) ([]byte, error) {
	wait := time.Now().Add(sniffWait)
	if deadline.Before(wait) {
		wait = deadline
	}
	if err := c.SetReadDeadline(wait); err != nil {
		return nil, err
	}
	var b [1]byte
	if _, err := readFull(c, b[:]); err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) && time.Now().Before(deadline) {
			return nil, nil
		}
		return nil, err
	}
	return b[:], nil
}

func (s *Socket) checkPeer(peer uint16) error {
	if peer == 0 && s.info.Peer != 0 {
		// What a ZeroMQ-only type (DEALER, ROUTER, XPUB, XSUB) answers an
		// SP dialer: it speaks ZMTP alone.
		return fmt.Errorf("%w: the peer is a ZeroMQ-only socket (DEALER, ROUTER, XPUB or XSUB), which speaks ZMTP alone: dial it with DialDialect(DialectZMTP)", ErrPeerMismatch)
	}
	if peer != s.info.Peer {
		return fmt.Errorf("%w: peer speaks %s, %s needs %s", ErrPeerMismatch,
			sp.ProtoName(peer), s.info.Name, sp.ProtoName(s.info.Peer))
	}
	return nil
}

// checkZMTPPeer checks an inproc peer when either end is a ZeroMQ-only
// type: both must be, or both of the pub/sub family, or both of the
// REQ/REP/DEALER/ROUTER family, and of compatible ZeroMQ types.
func (s *Socket) checkZMTPPeer(peer PortInfo) error {
	bothOnly := s.info.Self == 0 && peer.Proto == 0
	sameShape := pubSubFamily(s.info.ZMTPType) && pubSubFamily(peer.ZMTPType) ||
		reqRepFamily(s.info.ZMTPType) && reqRepFamily(peer.ZMTPType) // translated (inproc_envelope.go)
	if !(bothOnly || sameShape) || !zmtp.Compatible(s.info.ZMTPType, peer.ZMTPType) {
		theirs := peer.ZMTPType
		if peer.Proto != 0 {
			theirs = sp.ProtoName(peer.Proto)
		}
		return fmt.Errorf("%w: inproc peer is %s, %s cannot talk to it", ErrPeerMismatch, theirs, s.info.Name)
	}
	return nil
}

// pubSubFamily reports whether a socket of ZeroMQ type t carries messages
// over inproc as ZMTP would: a body and its frames, and subscriptions as
// Control messages. pub and sub (which also speak SP) then pair over inproc
// with xsub and xpub (which do not), as in libzmq. Other SP types carry
// SP's header words, which the ZeroMQ-only types do not read.
func pubSubFamily(t string) bool {
	switch t {
	case zmtp.TypePUB, zmtp.TypeSUB, zmtp.TypeXPUB, zmtp.TypeXSUB:
		return true
	}
	return false
}

// reqRepFamily reports whether a socket of ZeroMQ type t is a REQ, REP,
// DEALER or ROUTER, whose envelopes an inproc pipe translates between the
// SP and the ZeroMQ types.
func reqRepFamily(t string) bool {
	switch t {
	case zmtp.TypeREQ, zmtp.TypeREP, zmtp.TypeDEALER, zmtp.TypeROUTER:
		return true
	}
	return false
}

// spHandshake exchanges SP connection headers: both sides send theirs at
// once, then read the other's. first holds what a listener already read of
// the peer's header.
func (s *Socket) spHandshake(p *Pipe, c net.Conn, first []byte, ipc bool) error {
	var buf [sp.HeaderSize]byte
	if _, err := c.Write(sp.AppendHeader(buf[:0], s.info.Self)); err != nil {
		return handshakeErr("sp handshake", err)
	}
	n := copy(buf[:], first)
	if _, err := readFull(c, buf[n:]); err != nil {
		return handshakeErr("sp handshake", err)
	}
	peer, err := sp.ParseHeader(buf[:])
	if err != nil {
		return err
	}
	framing := sp.FramingTCP
	if ipc {
		framing = sp.FramingIPC
	}
	p.peer, p.peerName, p.codec = peer, sp.ProtoName(peer), &spCodec{framing: framing}
	return s.checkPeer(peer)
}

// handshakeErr wraps an I/O error of a handshake; a peer that stalls past
// the handshake timeout gives an error matching ErrTimeout.
func handshakeErr(what string, err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("%s: %w (%w)", what, ErrTimeout, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}
