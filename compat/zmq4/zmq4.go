// Package zmq4 is mqwire behind the API of github.com/go-zeromq/zmq4
// (v0.17.0): code written against that module builds against this package
// by changing its import path, and its sockets then run on mqwire, speaking
// ZMTP 3.1 to libzmq, zmq4 and mqwire peers over tcp, ipc and inproc (and
// over shm, mqwire's shared memory, to mqwire peers).
//
// What is zmq4's is kept: the constructors (NewPush, NewRouter, ...), Msg,
// the Socket interface, the With options, SetOption with OptionSubscribe,
// OptionUnsubscribe and OptionHWM, NULL and PLAIN security
// (security/plain), and Proxy. Dial waits for its first connection as
// zmq4's does, trying again every WithDialerRetry (250 ms) up to
// WithDialerMaxRetries times (10; -1 for ever); a connection lost later is
// made again only under WithAutomaticReconnect(true), as in zmq4.
//
// What behaves as libzmq's rather than zmq4's:
//
//   - The socket types keep libzmq's semantics (zmq4's differ in places): a
//     PUSH with no peer waits in Send, a PUB drops for a subscriber whose
//     queue is full, a ROUTER drops a message for an unknown peer.
//   - Options are checked: SetOption fails with ErrBadProperty for a name
//     the socket type does not take or a value of the wrong type (zmq4
//     stores anything, and panics on a subscription that is not a string).
//     A With option that does not apply to the socket type (WithID on a
//     PUB, say) makes Listen and Dial fail, since the constructors cannot.
//   - A PLAIN server checks the client's user name and password against
//     its own (zmq4's accepts any); a socket is a PLAIN server if it
//     listens first and a client if it dials first, and cannot be both.
//   - Security is what this package and security/plain make: zmq4's
//     interface takes its own connection type, which has no counterpart
//     here. WithOptions passes any of mqwire's socket options (CURVE, for
//     one) to the socket underneath.
//
// Not provided: zmq4's connection internals (Conn, Cmd, Metadata, Property,
// Open and their errors ErrBadCmd, ErrBadFrame and ErrClosedConn),
// RegisterTransport, and the C-backed NewC constructors and CWithID. Every
// other exported name of zmq4's is here (TestAPICoversZmq4 checks it
// against zmq4's source), and Topics on the sockets that have it in zmq4
// (SUB, PUB, XPUB). Native returns the mqwire socket under a Socket, for
// statistics, events and the rest of mqwire's API.
package zmq4

import (
	"errors"
	"fmt"
	"net"
)

// Socket is a ZeroMQ socket, as zmq4 defines it.
type Socket interface {
	// Close closes the socket and every connection it has.
	Close() error
	// Send sends msg, its frames as the parts of one message, waiting for
	// room up to WithTimeout (5 minutes by default).
	Send(msg Msg) error
	// SendMulti is Send: every message of more than one frame goes as a
	// multipart message.
	SendMulti(msg Msg) error
	// Recv waits for a whole message.
	Recv() (Msg, error)
	// Listen binds the socket to a local endpoint (tcp://, ipc://,
	// inproc://).
	Listen(ep string) error
	// Dial connects the socket to a remote endpoint, waiting for the
	// connection (see WithDialerRetry and WithDialerMaxRetries).
	Dial(ep string) error
	// Type returns the socket's type.
	Type() SocketType
	// Addr returns the address the socket last listened on, or nil.
	Addr() net.Addr
	// GetOption returns an option's value: OptionHWM.
	GetOption(name string) (interface{}, error)
	// SetOption sets an option: OptionSubscribe and OptionUnsubscribe (a
	// string) on a SUB, OptionHWM (an int) on a PUB.
	SetOption(name string, value interface{}) error
}

// SocketType is a ZeroMQ socket type.
type SocketType string

// The socket types.
const (
	Pair   SocketType = "PAIR"
	Pub    SocketType = "PUB"
	Sub    SocketType = "SUB"
	Req    SocketType = "REQ"
	Rep    SocketType = "REP"
	Dealer SocketType = "DEALER"
	Router SocketType = "ROUTER"
	Pull   SocketType = "PULL"
	Push   SocketType = "PUSH"
	XPub   SocketType = "XPUB"
	XSub   SocketType = "XSUB"
)

// peers lists the types each type can connect to (ZMTP 3.1's table).
var peers = map[SocketType][]SocketType{
	Pair:   {Pair},
	Pub:    {Sub, XSub},
	Sub:    {Pub, XPub},
	Req:    {Rep, Router},
	Rep:    {Req, Dealer},
	Dealer: {Rep, Dealer, Router},
	Router: {Req, Dealer, Router},
	Pull:   {Push},
	Push:   {Pull},
	XPub:   {Sub, XSub},
	XSub:   {Pub, XPub},
}

// IsCompatible reports whether a socket of this type can connect to one of
// type peer.
func (sck SocketType) IsCompatible(peer SocketType) bool {
	for _, p := range peers[sck] {
		if p == peer {
			return true
		}
	}
	return false
}

// SocketIdentity is a socket's routing id (WithID).
type SocketIdentity []byte

// String returns the id in hexadecimal.
func (id SocketIdentity) String() string { return fmt.Sprintf("%x", []byte(id)) }

// ErrBadProperty is what GetOption and SetOption return for an option the
// socket does not take, or a value of the wrong type.
var ErrBadProperty = errors.New("zmq4: bad property")

// UnknownTransportError is what Listen and Dial return for an endpoint
// whose transport is not one of Transports.
type UnknownTransportError struct {
	Name string
}

func (e UnknownTransportError) Error() string {
	return fmt.Sprintf("zmq4: unknown transport %q", e.Name)
}

// Transports returns the transports endpoints can name (zmq4 also has
// udp, which mqwire has not).
func Transports() []string { return []string{"inproc", "ipc", "shm", "tcp"} }
