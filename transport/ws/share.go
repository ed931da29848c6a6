package ws

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"time"

	"github.com/mqwire/mqwire/socket"
)

// Several ws:// listeners, of one socket or many, may serve different
// paths on one address, as nng's do: the first binds the port and its
// server reads each request's head and hands the connection to the
// listener of the path it asks for. A request for no path served, or one
// whose head cannot be read, goes to the address's first listener, which
// refuses it and reports that on its socket's events. wss:// cannot
// share: its bytes are TLS, and the TLS configuration is each socket's.

// routeTimeout bounds the read of a request's head before it is routed.
const routeTimeout = 10 * time.Second

// routedRequest is a connection whose opening request head has been read.
type routedRequest struct {
	c     net.Conn
	br    *bufio.Reader
	start string
	h     textproto.MIMEHeader
	err   error  // the head could not be read
	path  string // a Handler's request path (a Handler serves any path)
	// tls is the TLS state of a connection a Handler's https server took.
	tls *tls.ConnectionState
}

// server is one tcp listener and the ws listeners that share it.
type server struct {
	keys    []string // the addresses it is registered under
	tcp     net.Listener
	mu      sync.Mutex
	paths   map[string]*sharedListener
	first   *sharedListener // the earliest still open: gets what no path takes
	order   []*sharedListener
	routing map[net.Conn]bool // connections whose head is being read
	closed  bool
}

var servers = struct {
	sync.Mutex
	m map[string]*server // by network and bound address
}{m: map[string]*server{}}

// listenShared adds a listener for path on hostPort, binding the port if
// no listener has it yet.
func listenShared(scheme, hostPort, path string, cfg listenConfig) (*sharedListener, error) {
	nw := network(scheme)
	servers.Lock()
	defer servers.Unlock()
	if _, port, _ := net.SplitHostPort(hostPort); port != "0" {
		if s := servers.m[nw+" "+hostPort]; s != nil {
			return s.add(scheme, path, cfg)
		}
	}
	tcp, err := net.Listen(nw, hostPort)
	if err != nil {
		return nil, socket.ListenError(err, scheme+"://"+hostPort+path)
	}
	// Registered under the address bound and the one asked for (":8080"
	// binds "[::]:8080"), so that a second Listen of either finds it.
	s := &server{keys: []string{nw + " " + tcp.Addr().String()}, tcp: tcp,
		paths: map[string]*sharedListener{}, routing: map[net.Conn]bool{}}
	if _, port, _ := net.SplitHostPort(hostPort); port != "0" {
		s.keys = append(s.keys, nw+" "+hostPort)
	}
	for _, k := range s.keys {
		servers.m[k] = s
	}
	l, _ := s.add(scheme, path, cfg)
	go s.accept()
	return l, nil
}

// add registers a listener for path. Called with servers held.
func (s *server) add(scheme, path string, cfg listenConfig) (*sharedListener, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.paths[path] != nil {
		return nil, fmt.Errorf("%w: ws://%s%s has a listener already", socket.ErrAddrInUse, s.tcp.Addr(), path)
	}
	l := &sharedListener{s: s, scheme: scheme, path: path, cfg: cfg, in: make(chan routedRequest), done: make(chan struct{})}
	s.paths[path] = l
	s.order = append(s.order, l)
	if s.first == nil {
		s.first = l
	}
	return l, nil
}

// remove takes l off; the last one closes the port.
func (s *server) remove(l *sharedListener) {
	servers.Lock()
	defer servers.Unlock()
	s.mu.Lock()
	delete(s.paths, l.path)
	for i, o := range s.order {
		if o == l {
			s.order = append(s.order[:i], s.order[i+1:]...)
			break
		}
	}
	s.first = nil
	if len(s.order) > 0 {
		s.first = s.order[0]
	}
	empty := len(s.order) == 0
	var routing []net.Conn
	if empty {
		// Connections still being read go too, so that no goroutine of
		// this server outlives it.
		s.closed = true
		for c := range s.routing {
			routing = append(routing, c)
		}
	}
	s.mu.Unlock()
	if empty {
		for _, k := range s.keys {
			delete(servers.m, k)
		}
		s.tcp.Close()
		for _, c := range routing {
			c.Close()
		}
	}
}

func (s *server) accept() {
	for {
		c, err := s.tcp.Accept()
		if err != nil {
			return // closed with its last listener
		}
		go s.route(c)
	}
}

// route reads c's request head and hands it to the listener of its path.
func (s *server) route(c net.Conn) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		c.Close()
		return
	}
	s.routing[c] = true
	s.mu.Unlock()
	c.SetReadDeadline(time.Now().Add(routeTimeout))
	r := routedRequest{c: c, br: bufio.NewReaderSize(c, 4<<10)}
	r.start, r.h, r.err = readHead(r.br, nil)
	c.SetReadDeadline(time.Time{})
	s.mu.Lock()
	delete(s.routing, c)
	l := s.first
	if r.err == nil {
		if f := strings.Fields(r.start); len(f) == 3 {
			p, _, _ := strings.Cut(f[1], "?")
			if pl := s.paths[p]; pl != nil {
				l = pl
			}
		}
	}
	s.mu.Unlock()
	if l == nil || !l.deliver(r) {
		c.Close()
	}
}

// sharedListener is a ws:// listener: the connections for its path.
type sharedListener struct {
	s         *server
	scheme    string
	path      string
	cfg       listenConfig // its listen options
	in        chan routedRequest
	done      chan struct{}
	closeOnce sync.Once
}

// deliver hands r to the listener's Accept, or reports that it is closed.
func (l *sharedListener) deliver(r routedRequest) bool {
	select {
	case l.in <- r:
		return true
	case <-l.done:
		return false
	}
}

func (l *sharedListener) Accept() (socket.Conn, error) {
	select {
	case r := <-l.in:
		return streamConn(l.scheme, r.c, func(under net.Conn) net.Conn {
			wc := newRoutedConn(under, r, l.path)
			wc.listenWith(l.cfg)
			return wc
		}), nil
	case <-l.done:
		return socket.Conn{}, net.ErrClosed
	}
}

func (l *sharedListener) Close() error {
	l.closeOnce.Do(func() {
		close(l.done)
		l.s.remove(l)
	})
	return nil
}

func (l *sharedListener) URL() string { return l.scheme + "://" + l.s.tcp.Addr().String() + l.path }
