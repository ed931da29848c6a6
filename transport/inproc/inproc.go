// Package inproc is the inproc:// transport: sockets of one process connect
// by name, and messages are handed over as they are, with no framing and no
// copy. The sender's queue is the queue the receiver reads. A socket may
// dial a name before anyone listens on it, as libzmq allows: the first try
// is refused (EventDialFailed, as nng's inproc refuses), and the dialer
// connects the moment a listener comes, without waiting out its reconnect
// interval.
package inproc

import (
	"context"
	"fmt"
	"net"
	"sync"

	"github.com/mqwire/mqwire/socket"
)

func init() { socket.RegisterTransport(transport{}) }

type transport struct{}

func (transport) Schemes() []string { return []string{"inproc"} }

var (
	mu        sync.Mutex
	listeners = map[string]*listener{}
	// waits are the names dialers wait on to get a listener: each one's
	// channel is closed when it does. A name leaves the map when it gets a
	// listener or when the last dialer waiting on it lets go.
	waits = map[string]*listenWait{}
)

// listenWait is the wait for one name to get a listener.
type listenWait struct {
	up      chan struct{}
	waiters int
}

// ListenerUp returns a channel closed when name gets a listener
// (socket.ListenWaiter), and its release: a socket that dials before its
// peer listens connects the moment it does, and a Listen wakes only the
// dialers of its name.
func (transport) ListenerUp(name string) (<-chan struct{}, func()) {
	mu.Lock()
	defer mu.Unlock()
	w := waits[name]
	if w == nil {
		w = &listenWait{up: make(chan struct{})}
		waits[name] = w
	}
	w.waiters++
	var once sync.Once
	return w.up, func() {
		once.Do(func() {
			mu.Lock()
			defer mu.Unlock()
			if w.waiters--; w.waiters == 0 && waits[name] == w {
				delete(waits, name)
			}
		})
	}
}

// ErrRefused is returned by a dial to a name nobody listens on; the dialer
// tries again later, as it would after a refused tcp connection.
var ErrRefused = fmt.Errorf("inproc: connection refused")

// CheckAddr rejects an empty name.
func (transport) CheckAddr(_, name string) error {
	if name == "" {
		return fmt.Errorf("%w: inproc:// needs a name", socket.ErrBadURL)
	}
	return nil
}

func (transport) Dial(ctx context.Context, _, name string) (socket.Conn, error) {
	if name == "" {
		return socket.Conn{}, fmt.Errorf("%w: inproc:// needs a name", socket.ErrBadURL)
	}
	mu.Lock()
	l := listeners[name]
	mu.Unlock()
	if l == nil {
		return socket.Conn{}, fmt.Errorf("%w: inproc://%s", ErrRefused, name)
	}
	c := newConn()
	select {
	case l.accept <- c.ends[1]:
		return socket.Conn{Port: c.ends[0], Remote: "inproc://" + name}, nil
	case <-l.closed:
		return socket.Conn{}, fmt.Errorf("%w: inproc://%s", ErrRefused, name)
	case <-ctx.Done():
		return socket.Conn{}, ctx.Err()
	}
}

func (transport) Listen(_, name string) (socket.TransportListener, error) {
	if name == "" {
		return nil, fmt.Errorf("%w: inproc:// needs a name", socket.ErrBadURL)
	}
	mu.Lock()
	defer mu.Unlock()
	if listeners[name] != nil {
		return nil, fmt.Errorf("%w: inproc://%s", socket.ErrAddrInUse, name)
	}
	l := &listener{name: name, accept: make(chan *end), closed: make(chan struct{})}
	listeners[name] = l
	if w := waits[name]; w != nil {
		close(w.up)
		delete(waits, name)
	}
	return l, nil
}

type listener struct {
	name   string
	accept chan *end
	closed chan struct{}
	once   sync.Once
}

func (l *listener) Accept() (socket.Conn, error) {
	select {
	case e := <-l.accept:
		return socket.Conn{Port: e, Remote: "inproc://" + l.name}, nil
	case <-l.closed:
		return socket.Conn{}, net.ErrClosed
	}
}

func (l *listener) Close() error {
	l.once.Do(func() {
		mu.Lock()
		delete(listeners, l.name)
		mu.Unlock()
		close(l.closed)
	})
	return nil
}

func (l *listener) URL() string { return "inproc://" + l.name }

// conn is one inproc connection: two ends that swap their PortInfo once.
type conn struct {
	done  chan struct{}
	once  sync.Once
	slots [2]chan socket.PortInfo // slots[i] carries end i's info to the other end
	ends  [2]*end
}

type end struct {
	c    *conn
	side int
}

func newConn() *conn {
	c := &conn{done: make(chan struct{})}
	for i := range c.slots {
		c.slots[i] = make(chan socket.PortInfo, 1)
		c.ends[i] = &end{c: c, side: i}
	}
	return c
}

func (e *end) Exchange(ctx context.Context, local socket.PortInfo) (socket.PortInfo, error) {
	e.c.slots[e.side] <- local
	select {
	case peer := <-e.c.slots[1-e.side]:
		return peer, nil
	case <-e.c.done:
		// A peer that has read our info may refuse us and close at once;
		// its own info, sent before, still says why (a mismatch).
		select {
		case peer := <-e.c.slots[1-e.side]:
			return peer, nil
		default:
		}
		return socket.PortInfo{}, net.ErrClosed
	case <-ctx.Done():
		return socket.PortInfo{}, ctx.Err()
	}
}

func (e *end) Done() <-chan struct{} { return e.c.done }

func (e *end) Close() error {
	e.c.once.Do(func() { close(e.c.done) })
	return nil
}
