package socket

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"
)

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
	if !s.addEndpoint(func() { s.listeners = append(s.listeners, l) }) {
		tl.Close()
		return nil, ErrClosed
	}
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
