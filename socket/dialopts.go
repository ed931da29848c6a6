package socket

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/mqwire/mqwire/wire/zmtp"
)

// DialOption is an option of one Dial. It holds for every connection the
// dialer makes, reconnections included, and is checked when Dial is called:
// a bad value or an option that does not apply to the socket fails the
// Dial.
type DialOption struct {
	name  string
	apply func(*Socket, *Dialer) error
}

// String returns the option's name.
func (o DialOption) String() string { return o.name }

// ListenOption is an option of one Listen, checked when Listen is called:
// a bad value or an option that does not apply fails the Listen.
type ListenOption struct {
	name  string
	apply func(s *Socket, t Transport, scheme string, l *Listener) error
}

// String returns the option's name.
func (o ListenOption) String() string { return o.name }

// AcceptFrom makes Listen take its connections from tl rather than bind the
// URL's address: a listener made elsewhere, such as ws.NewHandler's on the
// application's own HTTP server, or one on a descriptor the process
// inherited. The URL's scheme still names the transport, and the
// connections are served as that transport's are; tl.URL is what the
// Listener reports. Listen owns tl from the call on: it closes tl when it
// fails, and Listener.Close closes it. A connection tl returns with TLS set
// is run through TLS with the listener's or the socket's TLSConfig; one
// made over TLS already (by an https server) comes without it.
func AcceptFrom(tl TransportListener) ListenOption {
	return ListenOption{name: "AcceptFrom", apply: func(_ *Socket, _ Transport, _ string, l *Listener) error {
		if tl == nil {
			return fmt.Errorf("%w: AcceptFrom with no listener", ErrBadOption)
		}
		l.from = tl
		return nil
	}}
}

// TransportListenOption makes a listen option that a transport's package
// offers for its own schemes (ipc.Permissions, say), as
// TransportDialOption does for Dial: Listen fails with
// ErrOptionNotApplicable for a URL of another scheme or with AcceptFrom
// (nothing is bound then), and with err when it is not nil; otherwise the
// transport, which must implement ContextListener, binds with value under
// key in the context its ListenContext gets.
func TransportListenOption(name string, schemes []string, key, value any, err error) ListenOption {
	return ListenOption{name: name, apply: func(_ *Socket, _ Transport, scheme string, l *Listener) error {
		if !slices.Contains(schemes, scheme) {
			return fmt.Errorf("%w: %s on a %s:// listener", ErrOptionNotApplicable, name, scheme)
		}
		if err != nil {
			return err
		}
		if key == nil {
			return fmt.Errorf("%w: %s has no key", ErrBadOption, name)
		}
		l.values = append(l.values, dialValue{key, value})
		l.valueNames = append(l.valueNames, name)
		return nil
	}}
}

// TransportDialOption makes a dial option that a transport's package
// offers for its own schemes (ws.DialHeader, say): Dial fails with
// ErrOptionNotApplicable for a URL of another scheme, and with err when it
// is not nil (the package found the value bad, and says why); otherwise
// every connection the dialer makes is dialed with value under key in the
// context that Transport.Dial gets. key must be a comparable value of a
// type of the package's own, as for context.WithValue. name is the
// option's name, for errors.
func TransportDialOption(name string, schemes []string, key, value any, err error) DialOption {
	return DialOption{name: name, apply: func(_ *Socket, d *Dialer) error {
		if !slices.Contains(schemes, d.scheme) {
			return fmt.Errorf("%w: %s on a %s:// dialer", ErrOptionNotApplicable, name, d.scheme)
		}
		if err != nil {
			return err
		}
		if key == nil {
			return fmt.Errorf("%w: %s has no key", ErrBadOption, name)
		}
		d.values = append(d.values, dialValue{key, value})
		return nil
	}}
}

// dialValue is a TransportDialOption's or TransportListenOption's value.
type dialValue struct{ key, value any }

// SynchronousDial makes Dial wait for its first attempt to connect, as
// nng's and mangos's dial do by default: when that attempt fails (nobody
// listens, the handshake is refused, ...), Dial stops the dialer and
// returns the attempt's error; when it succeeds, Dial returns with the
// connection up, and the dialer reconnects in the background after it
// from then on, as any dialer does. The wait is bounded by ConnectTimeout
// and HandshakeTimeout.
func SynchronousDial() DialOption {
	return DialOption{name: "SynchronousDial", apply: func(_ *Socket, d *Dialer) error {
		d.first = make(chan error, 1)
		return nil
	}}
}

// ConnectRoutingID names the peer a ROUTER dials: the ROUTER knows every
// connection this dialer makes by id, in place of the identity the peer
// announces or a generated one (libzmq's ZMQ_CONNECT_ROUTING_ID). So a
// ROUTER can address a peer it dialed, a ROUTER that announces no identity
// or one it cannot know in advance, as soon as the connection is up. The
// id is 1 to 255 bytes, the first not zero. libzmq's option names only the
// next connection; this one keeps the id across reconnections, so that the
// application's name for the peer does not change under it. A connection
// whose id another connection holds is refused as one announcing it would
// be (see package router).
func ConnectRoutingID(id []byte) DialOption {
	return DialOption{name: "ConnectRoutingID", apply: func(s *Socket, d *Dialer) error {
		if s.info.ZMTPType != zmtp.TypeROUTER {
			return fmt.Errorf("%w: ConnectRoutingID on %s", ErrOptionNotApplicable, s.info.Name)
		}
		if len(id) == 0 || len(id) > 255 || id[0] == 0 {
			return badOption("ConnectRoutingID", fmt.Sprintf("%q", id))
		}
		d.routingID = bytes.Clone(id)
		return nil
	}}
}

// ConnectRoutingID returns the routing id the application gave the dial
// that made this pipe (socket.ConnectRoutingID), or nil.
func (p *Pipe) ConnectRoutingID() []byte { return p.connectID }
