package socket

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"time"
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
	return s.startDial(context.Background(), url, opts, false)
}

// DialContext is Dial that waits for its first attempt, as with
// SynchronousDial, and for no longer than ctx allows. It returns with the
// connection up; or with the attempt's error; or, when ctx ends first and
// the attempt is abandoned, with ErrTimeout for a deadline (which matches
// context.DeadlineExceeded too) or context.Canceled; or with ErrClosed
// when the socket closes meanwhile. When it fails, the dialer is stopped
// and nothing is left of it. ctx bounds only the wait: a dialer that
// connected keeps its connection up, and reconnects, until it or the
// socket is closed.
func (s *Socket) DialContext(ctx context.Context, url string, opts ...DialOption) (*Dialer, error) {
	return s.startDial(ctx, url, opts, true)
}

// startDial is Dial and DialContext; wait says to wait for the first
// attempt.
func (s *Socket) startDial(ctx context.Context, url string, opts []DialOption, wait bool) (*Dialer, error) {
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
	if wait && d.first == nil {
		d.first = make(chan error, 1)
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("dial %s: %w", url, ctxErr(ctx))
	}
	base := context.Background()
	for _, v := range d.values {
		base = context.WithValue(base, v.key, v.value)
	}
	d.ctx, d.cancel = context.WithCancel(base)
	d.wait = time.Duration(s.cfg.reconnectMin.Load())
	if !s.addEndpoint(func() { s.dialers = append(s.dialers, d) }) {
		d.cancel()
		return nil, ErrClosed
	}
	first := d.first
	go d.dial(false)
	if first == nil {
		return d, nil
	}
	select {
	case err = <-first:
		if err != nil && s.closed.Load() {
			err = ErrClosed // the attempt failed because the socket closed under it
		}
	case <-d.done: // the socket closed before the attempt ended
		err = ErrClosed
	case <-ctx.Done():
		select {
		case err = <-first: // the attempt ended at the same moment: it stands
		default:
			err = ctxErr(ctx)
		}
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
			d.connected = true // later connections count as reconnects (attach)
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
