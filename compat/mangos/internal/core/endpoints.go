package core

import (
	"crypto/tls"
	"errors"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/mqwire/mqwire/compat/mangos"
	shimipc "github.com/mqwire/mqwire/compat/mangos/transport/ipc"
	shimws "github.com/mqwire/mqwire/compat/mangos/transport/ws"
	"github.com/mqwire/mqwire/internal/neterr"
	"github.com/mqwire/mqwire/socket"
	"github.com/mqwire/mqwire/transport/inproc"
	"github.com/mqwire/mqwire/transport/ipc"
	"github.com/mqwire/mqwire/transport/ws"
)

// endpointOptions are the options dialers and listeners have of their own
// (the others are the socket's, read through them).
var endpointOptions = []string{
	mangos.OptionTLSConfig, mangos.OptionKeepAlive, mangos.OptionKeepAliveTime,
	mangos.OptionNoDelay, mangos.OptionMaxRecvSize,
	mangos.OptionReconnectTime, mangos.OptionMaxReconnectTime,
}

// checkScheme returns ErrBadTran for an address whose transport mqwire
// does not have, and ErrBadAddr for one that is not a URL.
func checkScheme(addr string) error {
	scheme, _, ok := strings.Cut(addr, "://")
	if !ok {
		return mangos.ErrBadAddr
	}
	if !slices.Contains(socket.Schemes(), scheme) {
		return mangos.ErrBadTran
	}
	return nil
}

// endpoint holds what dialers and listeners share: their address and their
// own option values, checked when set and applied when they start.
type endpoint struct {
	k     *sock
	addr  string
	extra []string // its options beyond endpointOptions (a dialer's OptionDialAsynch)

	forget func() // drops the endpoint from its socket's list

	mu      sync.Mutex
	started bool
	closed  bool
	vals    map[string]interface{}
	native  io.Closer // the mqwire dialer or listener, once started
}

func newEndpoint(k *sock, addr string, options map[string]interface{}, extra ...string) (*endpoint, error) {
	if err := checkScheme(addr); err != nil {
		return nil, err
	}
	e := &endpoint{k: k, addr: addr, extra: extra, vals: map[string]interface{}{}}
	for name, v := range options {
		if err := e.SetOption(name, v); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// SetOption checks and keeps an option of the endpoint, before it starts.
// The endpoint's own values of the socket's options (keep-alive, receive
// size, reconnect times) must equal the socket's: mqwire keeps them per
// socket.
func (e *endpoint) SetOption(name string, value interface{}) error {
	if !slices.Contains(endpointOptions, name) && !slices.Contains(e.extra, name) {
		return mangos.ErrBadOption
	}
	v, err := checkType(name, value)
	if err != nil {
		return err
	}
	switch name {
	case mangos.OptionTLSConfig, mangos.OptionDialAsynch, mangos.OptionNoDelay,
		shimipc.OptionIpcSocketPermissions, shimipc.OptionIpcSocketOwner, shimipc.OptionIpcSocketGroup,
		shimws.OptionWebSocketCheckOrigin:
	default:
		if cur, err := e.k.GetOption(name); err != nil || cur != v {
			return mangos.ErrBadOption
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.started || e.closed {
		return mangos.ErrBadOption
	}
	e.vals[name] = v
	return nil
}

// GetOption returns the endpoint's own value of an option, else the
// socket's.
func (e *endpoint) GetOption(name string) (interface{}, error) {
	e.mu.Lock()
	v, ok := e.vals[name]
	e.mu.Unlock()
	if ok {
		return v, nil
	}
	return e.k.GetOption(name)
}

// tls returns the endpoint's TLS configuration, nil if it has none of its
// own.
func (e *endpoint) tls() *tls.Config {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, _ := e.vals[mangos.OptionTLSConfig].(*tls.Config)
	return c
}

// begun records n, what the endpoint started; when the endpoint was
// closed meanwhile, n is closed and the start fails with ErrClosed.
func (e *endpoint) begun(n io.Closer) error {
	e.mu.Lock()
	closed := e.closed
	if !closed {
		e.native = n
	}
	e.mu.Unlock()
	if closed {
		n.Close()
		return mangos.ErrClosed
	}
	return nil
}

// failed undoes start after a start that failed: mangos lets a dialer or
// listener try again.
func (e *endpoint) failed() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.started = false
}

// Close stops the endpoint and what it started, once.
func (e *endpoint) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return mangos.ErrClosed
	}
	e.closed = true
	n := e.native
	e.mu.Unlock()
	e.forget()
	if n != nil {
		n.Close()
	}
	return nil
}

// start marks the endpoint started, once.
func (e *endpoint) start() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.closed:
		return mangos.ErrClosed
	case e.started:
		return mangos.ErrAddrInUse
	}
	e.started = true
	return nil
}

// dialer is a mangos Dialer on an mqwire dialer.
type dialer struct{ *endpoint }

func (k *sock) NewDialer(addr string, options map[string]interface{}) (mangos.Dialer, error) {
	return k.newDialer(addr, options)
}

func (k *sock) newDialer(addr string, options map[string]interface{}) (*dialer, error) {
	e, err := newEndpoint(k, addr, options, mangos.OptionDialAsynch)
	if err != nil {
		return nil, err
	}
	d := &dialer{endpoint: e}
	e.forget = func() {
		k.mu.Lock()
		defer k.mu.Unlock()
		k.dialers = slices.DeleteFunc(k.dialers, func(x *dialer) bool { return x == d })
	}
	k.mu.Lock()
	k.dialers = append(k.dialers, d)
	k.mu.Unlock()
	return d, nil
}

func (k *sock) Dial(addr string) error { return k.DialOptions(addr, nil) }

func (k *sock) DialOptions(addr string, options map[string]interface{}) error {
	d, err := k.newDialer(addr, options)
	if err != nil {
		return err
	}
	if err := d.Dial(); err != nil {
		d.forget()
		return err
	}
	return nil
}

func (d *dialer) Address() string { return d.addr }

// Dial starts the dialer: it makes the first attempt before returning
// unless OptionDialAsynch is set, and reconnects in the background after
// that.
func (d *dialer) Dial() error {
	if err := d.start(); err != nil {
		return err
	}
	var opts []socket.DialOption
	if c := d.tls(); c != nil {
		opts = append(opts, socket.DialTLSConfig(c))
	}
	if async, _ := d.GetOption(mangos.OptionDialAsynch); async != true {
		opts = append(opts, socket.SynchronousDial())
	}
	nd, err := d.k.s.Dial(d.addr, opts...)
	if err != nil {
		d.failed()
		return dialErr(err)
	}
	return d.begun(nd)
}

// dialErr returns mangos's error for a failed dial: ErrConnRefused when
// nobody listens.
func dialErr(err error) error {
	if neterr.ConnRefused(err) || errors.Is(err, fs.ErrNotExist) || errors.Is(err, inproc.ErrRefused) {
		return mangos.ErrConnRefused
	}
	return mapErr(err, false)
}

// listener is a mangos Listener on an mqwire listener.
type listener struct {
	*endpoint
	// handler is OptionWebSocketHandler's, once asked for: the listener
	// is then served by it, and Listen binds nothing. mux is
	// OptionWebSocketMux's, once asked for: Listen serves it
	// (wslistener.go).
	handlerMu sync.Mutex
	handler   *ws.Handler
	mux       *http.ServeMux
}

func (k *sock) NewListener(addr string, options map[string]interface{}) (mangos.Listener, error) {
	return k.newListener(addr, options)
}

func (k *sock) newListener(addr string, options map[string]interface{}) (*listener, error) {
	var extra []string
	switch {
	case strings.HasPrefix(addr, "ipc://"):
		extra = ipcListenerOptions
	case isWS(addr):
		extra = wsListenerOptions
	}
	e, err := newEndpoint(k, addr, options, extra...)
	if err != nil {
		return nil, err
	}
	l := &listener{endpoint: e}
	e.forget = func() {
		k.mu.Lock()
		defer k.mu.Unlock()
		k.listeners = slices.DeleteFunc(k.listeners, func(x *listener) bool { return x == l })
	}
	k.mu.Lock()
	k.listeners = append(k.listeners, l)
	k.mu.Unlock()
	return l, nil
}

func (k *sock) Listen(addr string) error { return k.ListenOptions(addr, nil) }

func (k *sock) ListenOptions(addr string, options map[string]interface{}) error {
	l, err := k.newListener(addr, options)
	if err != nil {
		return err
	}
	if err := l.Listen(); err != nil {
		l.forget()
		return err
	}
	return nil
}

// Address returns the address listened on: after Listen, with the port
// the system chose for a tcp port of 0.
func (l *listener) Address() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch n := l.native.(type) {
	case *socket.Listener:
		return n.URL()
	case *muxServer:
		return n.url
	}
	return l.addr
}

// GetOption reads an option of the listener; OptionWebSocketHandler starts
// a ws:// or wss:// listener on a handler for the application's HTTP
// server and returns it, OptionWebSocketMux returns the mux of a server of
// the listener's own.
func (l *listener) GetOption(name string) (interface{}, error) {
	switch name {
	case shimws.OptionWebSocketHandler, shimws.OptionWebSocketMux, shimws.OptionWebSocketCheckOrigin:
		if !isWS(l.addr) {
			return nil, mangos.ErrBadOption
		}
	default:
		return l.endpoint.GetOption(name)
	}
	switch name {
	case shimws.OptionWebSocketHandler:
		return l.webSocketHandler()
	case shimws.OptionWebSocketMux:
		return l.webSocketMux()
	}
	return l.checksOrigin(), nil
}

// SetOption sets an option of the listener before it starts; a served
// handler's origin policy can change at any time, as mangos's can.
func (l *listener) SetOption(name string, value interface{}) error {
	l.handlerMu.Lock()
	h := l.handler
	l.handlerMu.Unlock()
	if name != shimws.OptionWebSocketCheckOrigin || h == nil {
		return l.endpoint.SetOption(name, value)
	}
	v, ok := value.(bool)
	if !ok {
		return mangos.ErrBadValue
	}
	l.mu.Lock()
	l.vals[name] = v
	l.mu.Unlock()
	l.setHandlerOrigin(h)
	return nil
}

// Listen starts the listener; one served by OptionWebSocketHandler's
// handler is started already, one read for OptionWebSocketMux serves it.
func (l *listener) Listen() error {
	l.handlerMu.Lock()
	served, mux := l.handler != nil, l.mux
	l.handlerMu.Unlock()
	if served {
		return nil
	}
	if mux != nil {
		return l.serveMux(mux)
	}
	if err := l.start(); err != nil {
		return err
	}
	opts := append(l.fileOptions(), l.originOptions()...)
	if c := l.tls(); c != nil {
		opts = append(opts, socket.ListenTLSConfig(c))
	}
	nl, err := l.k.s.Listen(l.addr, opts...)
	if err != nil {
		l.failed()
		return mapErr(err, false)
	}
	return l.begun(nl)
}

// ipcListenerOptions are an ipc:// listener's options of its own: its
// socket file's mode, owner and group.
var ipcListenerOptions = []string{
	shimipc.OptionIpcSocketPermissions, shimipc.OptionIpcSocketOwner, shimipc.OptionIpcSocketGroup,
}

// fileOptions returns mqwire's listen options for an ipc:// listener's
// socket file options.
func (l *listener) fileOptions() []socket.ListenOption {
	l.mu.Lock()
	defer l.mu.Unlock()
	var opts []socket.ListenOption
	switch m := l.vals[shimipc.OptionIpcSocketPermissions].(type) {
	case uint32:
		opts = append(opts, ipc.Permissions(fs.FileMode(m)))
	case fs.FileMode:
		opts = append(opts, ipc.Permissions(m))
	}
	owner, hasOwner := l.vals[shimipc.OptionIpcSocketOwner].(int)
	group, hasGroup := l.vals[shimipc.OptionIpcSocketGroup].(int)
	if hasOwner || hasGroup {
		if !hasOwner {
			owner = -1
		}
		if !hasGroup {
			group = -1
		}
		opts = append(opts, ipc.Owner(owner, group))
	}
	return opts
}

// pipe is a mangos Pipe on an mqwire pipe.
type pipe struct {
	k  *sock
	id socket.PipeID
	p  *socket.Pipe // nil for a pipe gone before a message of it was received
	d  *dialer
	l  *listener
	// added is set once the pipe is attached (under k.mu).
	added bool
}

func (p *pipe) ID() uint32 { return uint32(p.id) }

func (p *pipe) Address() string {
	if p.p == nil {
		return ""
	}
	return p.p.URL()
}

func (p *pipe) GetOption(name string) (interface{}, error) {
	if p.p == nil {
		return nil, mangos.ErrClosed
	}
	switch name {
	case mangos.OptionLocalAddr:
		return addrOf(p.p.URL(), p.p.LocalAddr()), nil
	case mangos.OptionRemoteAddr:
		return addrOf(p.p.URL(), p.p.RemoteAddr()), nil
	case mangos.OptionTLSConnState:
		var st tls.ConnectionState
		if !p.p.ConnInfo(&st) {
			return nil, mangos.ErrBadOption
		}
		return st, nil
	case mangos.OptionHTTPRequest:
		return p.httpRequest()
	case mangos.OptionPeerPID, mangos.OptionPeerUID, mangos.OptionPeerGID:
		var c socket.PeerCred
		if !p.p.ConnInfo(&c) {
			return nil, mangos.ErrBadOption
		}
		return map[string]int{mangos.OptionPeerPID: c.PID, mangos.OptionPeerUID: c.UID, mangos.OptionPeerGID: c.GID}[name], nil
	}
	if p.d != nil {
		return p.d.GetOption(name)
	}
	if p.l != nil {
		return p.l.GetOption(name)
	}
	return p.k.GetOption(name)
}

// httpRequest returns a WebSocket pipe's opening request, as mangos gives
// it: the request a listener's pipe was opened with, or the one a
// dialer's pipe sent (its header fields are then the answer's, all that
// mqwire keeps).
func (p *pipe) httpRequest() (interface{}, error) {
	var hs ws.Handshake
	if !p.p.ConnInfo(&hs) {
		return nil, mangos.ErrBadOption
	}
	u, err := url.ParseRequestURI(hs.Path)
	if err != nil {
		return nil, mangos.ErrBadOption
	}
	host := hs.Header.Get("Host")
	if p.p.Dialed() {
		host = p.p.RemoteAddr()
	}
	return &http.Request{Method: http.MethodGet, URL: u, RequestURI: hs.Path, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: hs.Header, Host: host, RemoteAddr: p.p.RemoteAddr()}, nil
}

func (p *pipe) Listener() mangos.Listener {
	if p.l == nil {
		return nil
	}
	return p.l
}

func (p *pipe) Dialer() mangos.Dialer {
	if p.d == nil {
		return nil
	}
	return p.d
}

func (p *pipe) Close() error {
	if p.p == nil {
		return mangos.ErrClosed
	}
	p.p.Close(nil)
	return nil
}

// addrOf returns a pipe's address as the net.Addr mangos gives: a
// *net.TCPAddr for tcp-based transports, a *net.UnixAddr for ipc, else one
// that names the transport.
func addrOf(url, a string) net.Addr {
	scheme, _, _ := strings.Cut(url, "://")
	if ap, err := netip.ParseAddrPort(a); err == nil {
		return net.TCPAddrFromAddrPort(ap)
	}
	if scheme == "ipc" {
		return &net.UnixAddr{Name: a, Net: "unix"}
	}
	return schemeAddr{scheme: scheme, addr: a}
}

// schemeAddr is an address of a transport that has no net.Addr of its own.
type schemeAddr struct{ scheme, addr string }

func (a schemeAddr) Network() string { return a.scheme }
func (a schemeAddr) String() string  { return a.addr }
