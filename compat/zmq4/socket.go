package zmq4

import (
	"context"
	"errors"
	"fmt"
	"log"
	"maps"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mqwire/mqwire/pattern/dealer"
	"github.com/mqwire/mqwire/pattern/pair"
	"github.com/mqwire/mqwire/pattern/pub"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/pattern/rep"
	"github.com/mqwire/mqwire/pattern/req"
	"github.com/mqwire/mqwire/pattern/router"
	"github.com/mqwire/mqwire/pattern/sub"
	"github.com/mqwire/mqwire/pattern/xpub"
	"github.com/mqwire/mqwire/pattern/xsub"
	"github.com/mqwire/mqwire/socket"
	_ "github.com/mqwire/mqwire/transport/all" // every transport, as zmq4 has its own
)

// NewPair returns a PAIR socket.
func NewPair(ctx context.Context, opts ...Option) Socket { return newSock(ctx, Pair, pair.New, opts) }

// NewPub returns a PUB socket. It implements Topics: the topics its
// subscribers are subscribed to (pub.Topics).
func NewPub(ctx context.Context, opts ...Option) Socket {
	return &listingSock{newSock(ctx, Pub, pub.New, opts), pub.Topics}
}

// NewSub returns a SUB socket. It implements Topics.
func NewSub(ctx context.Context, opts ...Option) Socket {
	return &subSock{sock: newSock(ctx, Sub, sub.New, opts), topics: map[string]bool{}}
}

// Topics is implemented by a SUB socket, the topics it is subscribed to,
// and by a PUB and an XPUB socket, the topics their subscribers are
// subscribed to, as in zmq4.
type Topics interface {
	// Topics returns the sorted list of topics the socket (or its
	// subscribers) is subscribed to.
	Topics() []string
}

// listingSock is a PUB or an XPUB socket, which lists its subscribers'
// topics with list (pub.Topics or xpub.Topics).
type listingSock struct {
	*sock
	list func(*socket.Socket) ([]string, error)
}

func (s *listingSock) Topics() []string {
	topics, _ := s.list(s.s) // the socket's own kind: never an error
	return topics
}

// subSock is a SUB socket, which knows its topics.
type subSock struct {
	*sock
	mu     sync.Mutex
	topics map[string]bool
}

func (s *subSock) SetOption(name string, value interface{}) error {
	if err := s.sock.SetOption(name, value); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch name {
	case OptionSubscribe:
		s.topics[value.(string)] = true
	case OptionUnsubscribe:
		delete(s.topics, value.(string))
	}
	return nil
}

func (s *subSock) Topics() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.topics))
}

// NewReq returns a REQ socket.
func NewReq(ctx context.Context, opts ...Option) Socket { return newSock(ctx, Req, req.New, opts) }

// NewRep returns a REP socket.
func NewRep(ctx context.Context, opts ...Option) Socket { return newSock(ctx, Rep, rep.New, opts) }

// NewDealer returns a DEALER socket.
func NewDealer(ctx context.Context, opts ...Option) Socket {
	return newSock(ctx, Dealer, dealer.New, opts)
}

// NewRouter returns a ROUTER socket: Recv puts the sender's routing id in
// front of a message's frames, and Send takes the first frame as the
// routing id of the peer to send the rest to.
func NewRouter(ctx context.Context, opts ...Option) Socket {
	return newSock(ctx, Router, router.New, opts)
}

// NewPull returns a PULL socket.
func NewPull(ctx context.Context, opts ...Option) Socket { return newSock(ctx, Pull, pull.New, opts) }

// NewPush returns a PUSH socket.
func NewPush(ctx context.Context, opts ...Option) Socket { return newSock(ctx, Push, push.New, opts) }

// NewXPub returns an XPUB socket: Recv returns the subscriptions its
// subscribers send (a frame of 1 or 0, then the topic). It implements
// Topics.
func NewXPub(ctx context.Context, opts ...Option) Socket {
	return &listingSock{newSock(ctx, XPub, xpub.New, opts), xpub.Topics}
}

// NewXSub returns an XSUB socket: it subscribes by sending a frame of 1
// (or 0, to unsubscribe) then the topic.
func NewXSub(ctx context.Context, opts ...Option) Socket { return newSock(ctx, XSub, xsub.New, opts) }

// role is what a socket with a mechanism that has two sides has become.
type role int

const (
	roleNone role = iota
	roleServer
	roleClient
)

// sock is a Socket on an mqwire socket.
type sock struct {
	typ    SocketType
	s      *socket.Socket
	cfg    config
	ctx    context.Context
	cancel context.CancelFunc
	// err is the first option that did not apply (the constructors
	// cannot fail): Listen and Dial return it.
	err     error
	watched chan struct{} // closed when watch ends
	// stopCtxClose stops the closing of the socket when ctx ends, which
	// closes ctxClosed when it has run.
	stopCtxClose func() bool
	ctxClosed    chan struct{}
	closeOnce    sync.Once

	mu       sync.Mutex
	role     role
	hwm      int // OptionHWM as set (0: never set)
	listener *socket.Listener
	// dials are the endpoints dialed: their dialers, and for those Dial
	// still waits on, what it waits for.
	dials map[string]*dial
}

// dial is one Dial's dialer and, until it connects or gives up, its wait.
type dial struct {
	d      *socket.Dialer
	done   chan error // Dial's outcome, once (nil: connected)
	failed int        // attempts that failed so far
}

func newSock(ctx context.Context, typ SocketType, newSocket func(...socket.Option) (*socket.Socket, error), opts []Option) *sock {
	if ctx == nil {
		ctx = context.Background()
	}
	cfg := defaults()
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.log == nil {
		cfg.log = log.New(os.Stderr, "zmq4: ", 0)
	}
	k := &sock{typ: typ, cfg: cfg, dials: map[string]*dial{}, watched: make(chan struct{})}
	k.ctx, k.cancel = context.WithCancel(ctx)
	native := []socket.Option{socket.DialDialect(socket.DialectZMTP)}
	if cfg.retry > 0 {
		native = append(native, socket.ReconnectInterval(cfg.retry))
	}
	if cfg.dialTimeout > 0 {
		native = append(native, socket.ConnectTimeout(cfg.dialTimeout))
	}
	if len(cfg.id) > 0 {
		native = append(native, socket.Identity(cfg.id))
	}
	if cfg.sec == nil {
		cfg.sec = nullSecurity{}
		k.cfg.sec = cfg.sec
	}
	s, err := newSocket(append(native, cfg.native...)...)
	if err != nil {
		// Options rejected: keep a socket without them, so that every
		// call has something to work on, and report them at Listen
		// and Dial.
		k.err = fmt.Errorf("zmq4: %s socket: %w", typ, err)
		if s, err = newSocket(socket.DialDialect(socket.DialectZMTP)); err != nil {
			panic(err) // the dialect applies to every type above
		}
	}
	k.s = s
	events := s.Events(64)
	go k.watch(events)
	// zmq4's sockets end with their context.
	k.ctxClosed = make(chan struct{})
	k.stopCtxClose = context.AfterFunc(k.ctx, func() {
		s.Close()
		close(k.ctxClosed)
	})
	return k
}

// watch follows the socket's connection events until it closes: it ends
// the waits of Dial, stops dialers whose connection was lost unless they
// reconnect, and logs what failed.
func (k *sock) watch(events <-chan socket.Event) {
	defer close(k.watched)
	for e := range events {
		switch e.Type {
		case socket.EventConnected:
			k.dialed(e.URL, nil, false)
		case socket.EventDialFailed:
			k.dialed(e.URL, e.Err, false)
		case socket.EventHandshakeFailed:
			k.cfg.log.Printf("handshake failed: %v", e)
			k.dialed(e.URL, e.Err, true)
		case socket.EventDisconnected:
			if e.Err != nil {
				k.cfg.log.Printf("connection lost: %v", e)
			}
			if !k.cfg.autoReconnect {
				k.mu.Lock()
				dl := k.dials[e.URL]
				if dl != nil && dl.done == nil {
					delete(k.dials, e.URL)
					go dl.d.Close() // not under mu: Close waits for the pipe
				}
				k.mu.Unlock()
			}
		}
	}
}

// dialed ends the wait of a Dial to url: connected (err nil), or failed
// for good (final, or too many attempts).
func (k *sock) dialed(url string, err error, final bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	dl := k.dials[url]
	if dl == nil || dl.done == nil {
		return
	}
	if err != nil && !final {
		dl.failed++
		if k.cfg.maxRetries < 0 || dl.failed <= k.cfg.maxRetries {
			return // the dialer tries again
		}
	}
	dl.done <- err
	dl.done = nil
}

// claim makes the socket a server (listen) or a client of its security
// mechanism, the first time; a mechanism with two sides cannot be both.
func (k *sock) claim(server bool) error {
	want := roleClient
	if server {
		want = roleServer
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.role == want {
		return nil
	}
	opts := k.cfg.sec.options(server)
	if len(opts) == 0 {
		return nil
	}
	if k.role != roleNone {
		return errRole
	}
	if err := k.s.SetOption(opts...); err != nil {
		return fmt.Errorf("zmq4: %s security: %w", k.cfg.sec.Type(), err)
	}
	k.role = want
	return nil
}

// ready checks what Listen (server) and Dial have to before they start:
// the options, the endpoint's transport, and the security side.
func (k *sock) ready(ep string, server bool) error {
	if k.err != nil {
		return k.err
	}
	if err := checkScheme(ep); err != nil {
		return err
	}
	return k.claim(server)
}

func (k *sock) Listen(ep string) error {
	if err := k.ready(ep, true); err != nil {
		return err
	}
	l, err := k.s.Listen(ep)
	if err != nil {
		return fmt.Errorf("zmq4: could not listen to %q: %w", ep, err)
	}
	k.mu.Lock()
	k.listener = l
	k.mu.Unlock()
	return nil
}

func (k *sock) Dial(ep string) error {
	if err := k.ready(ep, false); err != nil {
		return err
	}
	k.mu.Lock()
	if old := k.dials[ep]; old != nil {
		k.mu.Unlock()
		return fmt.Errorf("zmq4: %q is dialed already", ep)
	}
	done := make(chan error, 1)
	dl := &dial{done: done}
	k.dials[ep] = dl
	d, err := k.s.Dial(ep) // under mu: the events for ep wait for dl
	if err != nil {
		delete(k.dials, ep)
		k.mu.Unlock()
		return fmt.Errorf("zmq4: could not dial to %q: %w", ep, err)
	}
	dl.d = d
	k.mu.Unlock()
	err = k.awaitDial(ep, dl, done)
	if err != nil {
		k.mu.Lock()
		delete(k.dials, ep)
		k.mu.Unlock()
		d.Close()
		return fmt.Errorf("zmq4: could not dial to %q (retry=%v): %w", ep, k.cfg.retry, err)
	}
	return nil
}

// awaitDial waits for the first connection of dl, the dial to ep: for
// watch to say on done (dl.done until it says) that it connected or
// failed for good. It also looks at the
// socket's pipes now and then, in case the events fell behind and one was
// lost.
func (k *sock) awaitDial(ep string, dl *dial, done <-chan error) error {
	tick := time.NewTicker(max(k.cfg.retry, 50*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			return err
		case <-k.ctx.Done():
			return k.ctx.Err()
		case <-tick.C:
			if k.hasDialedPipe(ep) {
				k.mu.Lock()
				dl.done = nil // watch sends nothing more
				k.mu.Unlock()
				return nil
			}
		}
	}
}

// hasDialedPipe reports whether the socket has a connection dialed to ep.
func (k *sock) hasDialedPipe(ep string) bool {
	for _, ps := range k.s.PipeStats() {
		if ps.Dialed && ps.URL == ep {
			return true
		}
	}
	return false
}

// checkScheme returns UnknownTransportError for an endpoint whose
// transport mqwire does not have.
func checkScheme(ep string) error {
	scheme, _, ok := strings.Cut(ep, "://")
	if !ok {
		return fmt.Errorf("zmq4: invalid address %q", ep)
	}
	switch scheme {
	case "inproc", "ipc", "tcp", "shm":
		return nil
	}
	return UnknownTransportError{Name: scheme}
}

func (k *sock) Send(msg Msg) error {
	if len(msg.Frames) == 0 {
		return fmt.Errorf("zmq4: a message of no frames")
	}
	m := socket.NewMessageBytes(msg.Frames[0])
	for _, f := range msg.Frames[1:] {
		m.Frames = append(m.Frames, append([]byte{}, f...))
	}
	ctx, cancel := context.WithTimeout(k.ctx, k.cfg.timeout)
	defer cancel()
	if err := k.s.SendContext(ctx, m); err != nil {
		m.Free()
		return err
	}
	return nil
}

func (k *sock) SendMulti(msg Msg) error { return k.Send(msg) }

func (k *sock) Recv() (Msg, error) {
	m, err := k.s.RecvContext(k.ctx)
	if err != nil {
		if k.ctx.Err() != nil && !errors.Is(err, socket.ErrClosed) {
			err = k.ctx.Err()
		}
		return Msg{}, err
	}
	msg := Msg{Frames: make([][]byte, 0, 1+len(m.Frames))}
	msg.Frames = append(msg.Frames, append([]byte{}, m.Body...))
	for _, f := range m.Frames {
		msg.Frames = append(msg.Frames, append([]byte{}, f...))
	}
	m.Free()
	return msg, nil
}

func (k *sock) Type() SocketType { return k.typ }

func (k *sock) Addr() net.Addr {
	k.mu.Lock()
	l := k.listener
	k.mu.Unlock()
	if l == nil {
		return nil
	}
	scheme, addr, _ := strings.Cut(l.URL(), "://")
	switch scheme {
	case "tcp":
		if a, err := net.ResolveTCPAddr("tcp", addr); err == nil {
			return a
		}
	case "ipc":
		return &net.UnixAddr{Name: addr, Net: "unix"}
	}
	return endpointAddr{scheme, addr}
}

// endpointAddr is the address of an inproc or shm endpoint.
type endpointAddr struct{ network, addr string }

func (a endpointAddr) Network() string { return a.network }
func (a endpointAddr) String() string  { return a.addr }

func (k *sock) GetOption(name string) (interface{}, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if name == OptionHWM && k.hwm > 0 {
		return k.hwm, nil // as zmq4, the value set
	}
	return nil, ErrBadProperty
}

func (k *sock) SetOption(name string, value interface{}) error {
	var opt socket.Option
	switch {
	case (name == OptionSubscribe || name == OptionUnsubscribe) && k.typ == Sub:
		topic, ok := value.(string)
		if !ok {
			return fmt.Errorf("%w: %s takes a string, not %T", ErrBadProperty, name, value)
		}
		opt = sub.Subscribe([]byte(topic))
		if name == OptionUnsubscribe {
			opt = sub.Unsubscribe([]byte(topic))
		}
	case name == OptionHWM && k.typ == Pub:
		hwm, ok := value.(int)
		if !ok || hwm <= 0 {
			return fmt.Errorf("%w: %s takes an int above 0, not %T %v", ErrBadProperty, name, value, value)
		}
		opt = socket.SendHWM(hwm)
	default:
		return fmt.Errorf("%w: %s on a %s socket", ErrBadProperty, name, k.typ)
	}
	if err := k.s.SetOption(opt); err != nil {
		return fmt.Errorf("%w: %v", ErrBadProperty, err)
	}
	if name == OptionHWM {
		k.mu.Lock()
		k.hwm = value.(int)
		k.mu.Unlock()
	}
	return nil
}

func (k *sock) Close() error {
	err := socket.ErrClosed // a second Close
	k.closeOnce.Do(func() {
		err = nil
		if k.stopCtxClose() {
			err = k.s.Close()
		} else {
			<-k.ctxClosed // closed as its context ended
		}
		k.cancel()
		<-k.watched
	})
	return err
}

// Native returns the mqwire socket a Socket of this package runs on, for
// what zmq4's API has no call for (statistics, events, other options);
// nil for a Socket that is not this package's.
func Native(s Socket) *socket.Socket {
	switch k := s.(type) {
	case *sock:
		return k.s
	case *subSock:
		return k.s
	case *listingSock:
		return k.s
	}
	return nil
}
