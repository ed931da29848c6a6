// Package streamtest helps tests play a hostile or hand-written SP peer
// against mqwire sockets: an in-memory stream transport (net.Pipe under a
// "streamtest://" scheme, and "streamtestipc://" for the IPC framing) that
// lets a test open byte-stream connections to a listening socket cheaply
// enough for fuzzing, a raw SP peer that writes and reads frames with no
// mqwire code on its side, and a watcher that collects a socket's events.
//
// It is for mqwire's own tests; nothing outside the module can import it.
package streamtest

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mqwire/mqwire/socket"
	"github.com/mqwire/mqwire/wire/sp"
)

// Scheme is the URL scheme of the in-memory stream transport with TCP
// framing; SchemeIPC uses the IPC framing (a type byte before each length).
const (
	Scheme    = "streamtest"
	SchemeIPC = "streamtestipc"
)

func init() { socket.RegisterTransport(transport{}) }

// ErrRefused is returned when nobody listens on the name.
var ErrRefused = errors.New("streamtest: connection refused")

var (
	mu        sync.Mutex
	listeners = map[string]*listener{}
	names     atomic.Int64
	remotes   atomic.Int64
)

// URL returns a fresh address on the in-memory stream transport, with the
// IPC framing when ipc is true.
func URL(ipc bool) string {
	s := Scheme
	if ipc {
		s = SchemeIPC
	}
	return fmt.Sprintf("%s://l%d", s, names.Add(1))
}

type transport struct{}

func (transport) Schemes() []string { return []string{Scheme, SchemeIPC} }

func (transport) Dial(ctx context.Context, scheme, name string) (socket.Conn, error) {
	c, remote, err := connect(ctx, scheme, name)
	if err != nil {
		return socket.Conn{}, err
	}
	return socket.Conn{Stream: c, IPCFraming: scheme == SchemeIPC, Remote: remote}, nil
}

func (transport) Listen(scheme, name string) (socket.TransportListener, error) {
	if name == "" {
		return nil, fmt.Errorf("%w: %s:// needs a name", socket.ErrBadURL, scheme)
	}
	mu.Lock()
	defer mu.Unlock()
	if listeners[name] != nil {
		return nil, fmt.Errorf("%w: %s://%s", socket.ErrAddrInUse, scheme, name)
	}
	l := &listener{scheme: scheme, name: name, accept: make(chan socket.Conn), closed: make(chan struct{})}
	listeners[name] = l
	return l, nil
}

type listener struct {
	scheme, name string
	accept       chan socket.Conn
	closed       chan struct{}
	once         sync.Once
}

func (l *listener) Accept() (socket.Conn, error) {
	select {
	case c := <-l.accept:
		return c, nil
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

func (l *listener) URL() string { return l.scheme + "://" + l.name }

// connect makes a net.Pipe, hands one end to the listener named name and
// returns the other with the name the listener's socket reports it by.
func connect(ctx context.Context, scheme, name string) (net.Conn, string, error) {
	mu.Lock()
	l := listeners[name]
	mu.Unlock()
	if l == nil || l.scheme != scheme {
		return nil, "", fmt.Errorf("%w: %s://%s", ErrRefused, scheme, name)
	}
	a, b := net.Pipe()
	remote := fmt.Sprintf("streamtest-peer-%d", remotes.Add(1))
	select {
	case l.accept <- socket.Conn{Stream: b, IPCFraming: scheme == SchemeIPC, Remote: remote}:
		return a, remote, nil
	case <-l.closed:
	case <-ctx.Done():
	}
	a.Close()
	b.Close()
	return nil, "", fmt.Errorf("%w: %s://%s", ErrRefused, scheme, name)
}

// Connect opens a byte-stream connection to the socket listening at url (a
// URL from this package) and returns a raw peer on it, not yet handshaken.
// The socket reports the connection with Event.Remote == Peer.Remote.
func Connect(url string) (*Peer, error) {
	scheme, name, ok := cut(url)
	if !ok || (scheme != Scheme && scheme != SchemeIPC) {
		return nil, fmt.Errorf("%w: %q is not a streamtest URL", socket.ErrBadURL, url)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, remote, err := connect(ctx, scheme, name)
	if err != nil {
		return nil, err
	}
	f := sp.FramingTCP
	if scheme == SchemeIPC {
		f = sp.FramingIPC
	}
	return NewPeer(c, f, remote), nil
}

func cut(url string) (string, string, bool) { return strings.Cut(url, "://") }

// Peer is a hand-written SP peer on a byte stream: it writes exactly the
// bytes a test gives it and parses what the socket sends back, with no
// mqwire socket code on its side.
type Peer struct {
	Conn    net.Conn
	Framing sp.Framing
	// Remote is how the socket under test names this connection in its
	// events, when known (streamtest connections); empty otherwise.
	Remote string
	br     *bufio.Reader
}

// NewPeer wraps an open connection (tcp, unix or a streamtest one).
func NewPeer(c net.Conn, f sp.Framing, remote string) *Peer {
	return &Peer{Conn: c, Framing: f, Remote: remote, br: bufio.NewReader(c)}
}

// DialPeer connects to a socket listening on a tcp or ipc URL
// ("tcp://host:port", "ipc:///path").
func DialPeer(url string, timeout time.Duration) (*Peer, error) {
	scheme, addr, ok := cut(url)
	if !ok {
		return nil, fmt.Errorf("%w: %q", socket.ErrBadURL, url)
	}
	switch scheme {
	case "tcp", "tcp4", "tcp6":
		c, err := net.DialTimeout(scheme, addr, timeout)
		if err != nil {
			return nil, err
		}
		return NewPeer(c, sp.FramingTCP, c.LocalAddr().String()), nil
	case "ipc":
		c, err := net.DialTimeout("unix", addr, timeout)
		if err != nil {
			return nil, err
		}
		return NewPeer(c, sp.FramingIPC, ""), nil
	case Scheme, SchemeIPC:
		return Connect(url)
	}
	return nil, fmt.Errorf("%w: DialPeer does not speak %q", socket.ErrBadURL, scheme)
}

// Handshake sends the SP connection header for protocol self and reads the
// socket's, both at once (net.Pipe writes wait for the reader). It returns
// the protocol the socket announced.
func (p *Peer) Handshake(self uint16) (uint16, error) {
	werr := make(chan error, 1)
	go func() {
		_, err := p.Conn.Write(sp.AppendHeader(nil, self))
		werr <- err
	}()
	var h [sp.HeaderSize]byte
	_, rerr := io.ReadFull(p.br, h[:])
	if err := <-werr; err != nil {
		return 0, err
	}
	if rerr != nil {
		return 0, rerr
	}
	return sp.ParseHeader(h[:])
}

// ReadHeader reads the socket's 8-byte connection header and returns the
// protocol it announces, without sending ours.
func (p *Peer) ReadHeader() (uint16, error) {
	var h [sp.HeaderSize]byte
	if _, err := io.ReadFull(p.br, h[:]); err != nil {
		return 0, err
	}
	return sp.ParseHeader(h[:])
}

// Write writes b as it is.
func (p *Peer) Write(b []byte) error {
	_, err := p.Conn.Write(b)
	return err
}

// Frame returns msg framed for the peer's framing.
func (p *Peer) Frame(msg []byte) []byte {
	b := p.Framing.AppendFrameHeader(nil, uint64(len(msg)))
	return append(b, msg...)
}

// WriteMsg writes one framed message whose SP payload (protocol header words
// and body together) is msg.
func (p *Peer) WriteMsg(msg []byte) error { return p.Write(p.Frame(msg)) }

// ReadMsg reads one framed message and returns its payload. It refuses
// sizes above limit.
func (p *Peer) ReadMsg(limit uint64) ([]byte, error) {
	var h [9]byte
	n := p.Framing.FrameHeaderSize()
	if _, err := io.ReadFull(p.br, h[:n]); err != nil {
		return nil, err
	}
	size, err := p.Framing.ParseFrameHeader(h[:n], limit)
	if err != nil {
		return nil, err
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(p.br, b); err != nil {
		return nil, err
	}
	return b, nil
}

// WaitClosed reads and discards until the socket closes the connection or
// timeout passes. It returns nil when the connection was closed by the other
// side (EOF or reset) and an error when it is still open after timeout.
func (p *Peer) WaitClosed(timeout time.Duration) error {
	if err := p.Conn.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return nil // a closed connection refuses deadlines
	}
	_, err := io.Copy(io.Discard, p.br)
	if err == nil || !errors.Is(err, os.ErrDeadlineExceeded) {
		return nil
	}
	return fmt.Errorf("streamtest: connection still open after %v", timeout)
}

// Close closes the connection.
func (p *Peer) Close() error { return p.Conn.Close() }

// CloseWrite half-closes a tcp or unix connection, so the socket reads EOF
// while the peer can still read; on other connections it closes.
func (p *Peer) CloseWrite() error {
	if cw, ok := p.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return p.Conn.Close()
}

// U32 returns v as a 4-byte big-endian word, for protocol headers.
func U32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

// Watcher records every event of a socket, so that a test can wait for the
// one it caused. Its goroutine ends when the socket closes.
type Watcher struct {
	mu     sync.Mutex
	events []socket.Event
	notify chan struct{} // closed and replaced on each new event
	done   chan struct{}
}

// Watch starts recording s's events. Call it before the socket connects to
// anything, so that no event is missed.
func Watch(s *socket.Socket) *Watcher {
	w := &Watcher{notify: make(chan struct{}), done: make(chan struct{})}
	ch := s.Events(1 << 14)
	go func() {
		defer close(w.done)
		for e := range ch {
			w.mu.Lock()
			w.events = append(w.events, e)
			close(w.notify)
			w.notify = make(chan struct{})
			w.mu.Unlock()
		}
	}()
	return w
}

// Len returns the number of events recorded so far; pass it to Wait as from
// to wait only for later events.
func (w *Watcher) Len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.events)
}

// Events returns a copy of the events recorded so far.
func (w *Watcher) Events() []socket.Event {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]socket.Event(nil), w.events...)
}

// Wait returns the first event at index from or later for which match is
// true, waiting up to timeout for it.
func (w *Watcher) Wait(from int, timeout time.Duration, match func(socket.Event) bool) (socket.Event, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		w.mu.Lock()
		for i := from; i < len(w.events); i++ {
			if match(w.events[i]) {
				e := w.events[i]
				w.mu.Unlock()
				return e, nil
			}
		}
		from = max(from, len(w.events))
		notify := w.notify
		w.mu.Unlock()
		select {
		case <-notify:
		case <-w.done:
			return socket.Event{}, fmt.Errorf("streamtest: socket closed while waiting for an event")
		case <-t.C:
			return socket.Event{}, fmt.Errorf("streamtest: no matching event within %v", timeout)
		}
	}
}

// Done is closed when the socket has closed and every event is recorded.
func (w *Watcher) Done() <-chan struct{} { return w.done }

// Is returns a matcher for events of type typ from the connection named
// remote (any connection when remote is empty).
func Is(typ socket.EventType, remote string) func(socket.Event) bool {
	return func(e socket.Event) bool {
		return e.Type == typ && (remote == "" || e.Remote == remote)
	}
}

// Ends returns a matcher for the event that ends a connection named remote
// (any connection when remote is empty): a failed handshake, a refused pipe
// or a disconnect.
func Ends(remote string) func(socket.Event) bool {
	return func(e socket.Event) bool {
		switch e.Type {
		case socket.EventHandshakeFailed, socket.EventDisconnected, socket.EventPipeRejected:
			return remote == "" || e.Remote == remote
		}
		return false
	}
}
