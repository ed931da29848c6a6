package socket

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"
)

// Transport carries connections for the URL schemes it names. Stream
// transports (tcp, ipc) give byte streams that a dialect codec frames;
// message transports (inproc) carry messages with no framing at all.
// Transports know nothing of patterns.
type Transport interface {
	// Schemes lists the URL schemes the transport serves ("tcp", "tcp4"...).
	Schemes() []string
	// Dial connects to addr (the URL without "scheme://"). It returns
	// promptly when ctx is cancelled.
	Dial(ctx context.Context, scheme, addr string) (Conn, error)
	// Listen binds addr and returns a listener.
	Listen(scheme, addr string) (TransportListener, error)
}

// ContextListener is implemented by transports that take listen options
// of their own (TransportListenOption): Listen calls ListenContext in
// place of Transport.Listen, with the options' values in ctx.
type ContextListener interface {
	ListenContext(ctx context.Context, scheme, addr string) (TransportListener, error)
}

// AddrChecker is implemented by transports that can tell a malformed
// address before any connection is tried, so that Dial fails at once rather
// than retrying an address that can never work.
type AddrChecker interface {
	CheckAddr(scheme, addr string) error
}

// ListenWaiter is implemented by transports that know when an address gets
// a listener (inproc): a dialer refused there tries again as soon as one
// comes rather than after its reconnect wait, so that a socket may dial
// before its peer listens, as libzmq allows over inproc, and connect the
// moment it does.
type ListenWaiter interface {
	// ListenerUp returns a channel closed when addr next gets a listener,
	// and a release the dialer calls once it no longer waits on it (at
	// least once, more is harmless), so that the transport can forget a
	// name nobody waits for.
	ListenerUp(addr string) (up <-chan struct{}, release func())
}

// DialAddrChecker is implemented by transports whose addresses can be good
// to listen on but never to dial (tcp's "*" wildcard host): Dial calls
// CheckDialAddr in place of CheckAddr.
type DialAddrChecker interface {
	CheckDialAddr(scheme, addr string) error
}

// MessageFramer is implemented by the streams of a transport that carries
// each SP message, or each ZMTP frame, in a message of its own (ws://, as
// nng's ws transport and libzmq's ZWS 2.0 do), with an opening handshake
// of its own in place of SP's connection header or ZMTP's greeting. The
// socket calls Frame before its handshake, under its deadline; the stream
// then shows the socket the dialect's byte stream (SP's tcp framing, or
// ZMTP's greeting and frames, the peer's header or greeting made from the
// opening handshake) and translates both ways.
type MessageFramer interface {
	// Frame runs the opening handshake and reports which dialect the
	// connection carries: the one a dialer offered, the one of a
	// listener's peer.
	Frame(FrameRequest) (zmtp bool, err error)
}

// Heartbeater is implemented by MessageFramer streams whose own protocol
// has heartbeats: WebSocket's ping and pong, which libzmq's ws transport
// uses in place of ZMTP's PING and PONG commands (it drops those). A ZMTP
// pipe with heartbeats on over such a stream sends Ping where it would send
// a PING, and counts what Heard counts as the peer's life, as it counts
// frames. Ping must not wait for the stream's writer.
type Heartbeater interface {
	// Ping sends a heartbeat now, or between the writer's frames when it
	// is writing.
	Ping()
	// Heard counts the heartbeats (pings and pongs) that have come.
	Heard() uint64
}

// FrameRequest is what a MessageFramer's handshake needs of the socket.
type FrameRequest struct {
	SPSelf, SPPeer uint16 // the socket's SP protocols; 0 for a ZeroMQ-only type
	ZMTPType       string // the socket's ZeroMQ type; "" for an SP-only one
	OfferZMTP      bool   // a dialer offers ZMTP rather than SP
	// Mechanism ("NULL", "PLAIN", "CURVE") and AsServer are the socket's
	// ZMTP security mechanism and its role in it. A socket with one other
	// than NULL speaks ZMTP only.
	Mechanism string
	AsServer  bool
	// RecvLimit is the socket's receive limit (0: none), which the stream
	// applies to what it gathers.
	RecvLimit func() uint64
}

// Conn is one transport connection: a byte stream or a message port.
type Conn struct {
	// Stream is the byte stream of a stream transport.
	Stream net.Conn
	// IPCFraming marks a stream that uses SP's IPC framing (a type byte in
	// front of each length).
	IPCFraming bool
	// TLS says the stream is to carry TLS: the socket runs the TLS
	// handshake over it (with its TLSConfig) before the dialect's.
	TLS bool
	// Frame, when not nil, wraps the stream once the socket has run TLS
	// over it (if TLS is set): a transport whose own framing rides above
	// TLS (wss://, WebSocket over TLS) gives its framing here.
	Frame func(net.Conn) net.Conn
	// Port is the end of a message transport connection.
	Port MessagePort
	// Remote names the peer, for events and statistics.
	Remote string
	// Local names our end where the transport gives it an address of its
	// own (tcp: the local host and port), for statistics; empty otherwise.
	Local string
	// Info, when not nil, is what the transport knows of the connection
	// beyond its addresses, for Pipe.ConnInfo (ipc: the peer's PeerCred).
	Info ConnInformer
}

// Close closes whichever end the connection has.
func (c Conn) Close() error {
	if c.Stream != nil {
		return c.Stream.Close()
	}
	if c.Port != nil {
		return c.Port.Close()
	}
	return nil
}

// TransportListener accepts transport connections.
type TransportListener interface {
	// Accept waits for the next connection. After Close it returns an error
	// matching net.ErrClosed.
	Accept() (Conn, error)
	// Close stops listening and releases the address.
	Close() error
	// URL is the bound address as a URL, with a port chosen by the system
	// filled in.
	URL() string
}

// PortInfo is what each end of a message transport tells the other.
type PortInfo struct {
	Proto uint16 // the SP protocol number of the socket
	// ZMTPType is the socket's ZeroMQ type ("DEALER"); a ZeroMQ-only socket
	// (Proto 0) is matched to its peer by it.
	ZMTPType string
	// Identity is the routing id a ZeroMQ-only socket announces (its
	// Identity option), as ZMTP carries it in READY.
	Identity []byte
	Out      *sendQueue // the queue this end sends on; the peer reads it
	// Taken is called by the peer each time it takes a message from Out,
	// so that senders waiting for room on this end wake up.
	Taken func()

	// pipe is the end's own pipe, the one that reads the peer's Out: a
	// sender hands messages straight to it when it can (Pipe.handOver).
	pipe *Pipe
	// reqIDs is a REQ end's queue of request ids, for a ROUTER peer to
	// fill (inproc_envelope.go).
	reqIDs *idQueue
}

// MessagePort is one end of a message-transport connection. Both ends call
// Exchange once; each then reads the other's Out queue until Done closes.
type MessagePort interface {
	// Exchange gives the peer our info and returns the peer's.
	Exchange(ctx context.Context, local PortInfo) (PortInfo, error)
	// Done is closed when either end closes.
	Done() <-chan struct{}
	// Close closes the connection for both ends.
	Close() error
}

var (
	transportsMu sync.RWMutex
	transports   = map[string]Transport{}
)

// RegisterTransport makes t serve its schemes for every socket. Transports
// register themselves when their package is imported; patterns import
// transport/all so that every built-in transport is there.
func RegisterTransport(t Transport) {
	transportsMu.Lock()
	defer transportsMu.Unlock()
	for _, s := range t.Schemes() {
		transports[s] = t
	}
}

// Schemes lists the URL schemes of the registered transports.
func Schemes() []string {
	transportsMu.RLock()
	defer transportsMu.RUnlock()
	var out []string
	for s := range transports {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// splitURL parses "scheme://addr", finds the transport for the scheme and
// has it check addr, for a dial when dialing.
func splitURL(url string, dialing bool) (Transport, string, string, error) {
	scheme, addr, ok := strings.Cut(url, "://")
	if !ok || scheme == "" {
		return nil, "", "", fmt.Errorf("%w: %q has no scheme://", ErrBadURL, url)
	}
	transportsMu.RLock()
	t := transports[scheme]
	transportsMu.RUnlock()
	if t == nil {
		return nil, "", "", fmt.Errorf("%w: no transport for scheme %q in %q", ErrBadURL, scheme, url)
	}
	var err error
	if c, ok := t.(DialAddrChecker); ok && dialing {
		err = c.CheckDialAddr(scheme, addr)
	} else if c, ok := t.(AddrChecker); ok {
		err = c.CheckAddr(scheme, addr)
	}
	if err != nil {
		return nil, "", "", err
	}
	return t, scheme, addr, nil
}

// LoanConn is a stream connection that can also carry a large body by
// reference to memory shared with the peer (shm://), instead of copying it
// through the byte stream. A pipe whose connection implements it sends
// bodies of at least LoanMin bytes as loans when a slot is free, and hands
// a loaned body it receives to the application without a copy.
type LoanConn interface {
	net.Conn
	// LoanMin is the smallest body worth loaning; smaller ones go inline.
	LoanMin() int
	// Loan returns a writable buffer of exactly n bytes in memory shared
	// with the peer, or ok=false when n is out of the loanable range or no
	// slot is free (the body then goes inline). It never waits. A buffer
	// from Loan must be passed to WriteLoan.
	Loan(n int) (buf []byte, ok bool)
	// WriteLoan writes head inline (as Write does), then a record that gives
	// buf to the peer, in order with everything written before. buf is no
	// longer the caller's after the call, whatever the error.
	WriteLoan(head, buf []byte) error
	// ReadLoan is called by the reader when every byte read so far has been
	// consumed and a body of n bytes starts next. If the peer loaned that
	// body it returns it: body aliases shared memory until ReleaseLoan is
	// called with token. ok=false means the body comes inline through Read.
	ReadLoan(n int) (body []byte, token uint64, ok bool)
	// ReleaseLoan gives back the body ReadLoan lent under token. It may be
	// called from any goroutine, before or after Close; a token given back
	// already is ignored.
	ReleaseLoan(token uint64)
}

// TryWriter is implemented by stream connections that can write without
// waiting, so that an application reading through a pipe can write on its
// own goroutine too (see Socket.ReadThrough). TryWrite writes what the
// connection takes of iov at once, in order, and returns how many bytes
// that was; it never waits for the peer. tcp and ipc connections need not
// implement it: the socket uses their descriptors.
type TryWriter interface {
	TryWrite(iov [][]byte) (int, error)
}
