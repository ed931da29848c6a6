// Package tcp is the tcp:// transport (also tcp4:// and tcp6://): IPv4 and
// IPv6, TCP_NODELAY on, "*" or an empty host to listen on every address.
// tls+tcp:// (and tls+tcp4://, tls+tcp6://), nng's and mangos' TLS
// transport, is TCP whose connections the socket runs TLS over, with its
// socket.TLSConfig.
package tcp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"

	"github.com/mqwire/mqwire/socket"
)

func init() { socket.RegisterTransport(transport{}) }

type transport struct{}

func (transport) Schemes() []string {
	return []string{"tcp", "tcp4", "tcp6", "tls+tcp", "tls+tcp4", "tls+tcp6"}
}

// TLS reports whether scheme's connections carry TLS (socket.TLSTransport).
func (transport) TLS(scheme string) bool { return strings.HasPrefix(scheme, "tls+") }

// network is the net package's name for scheme.
func network(scheme string) string { return strings.TrimPrefix(scheme, "tls+") }

// hostPort checks "host:port" and maps the "*" wildcard to every address.
func hostPort(scheme, addr string, listening bool) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("%w: %s://%s: %v", socket.ErrBadURL, scheme, addr, err)
	}
	if host == "*" {
		if !listening {
			return "", fmt.Errorf("%w: %s://%s: cannot dial a wildcard host", socket.ErrBadURL, scheme, addr)
		}
		host = ""
	}
	if port == "" {
		return "", fmt.Errorf("%w: %s://%s: no port", socket.ErrBadURL, scheme, addr)
	}
	return net.JoinHostPort(host, port), nil
}

// CheckAddr rejects an address that can never be bound.
func (transport) CheckAddr(scheme, addr string) error {
	_, err := hostPort(scheme, addr, true)
	return err
}

// CheckDialAddr rejects an address that can never be dialed, such as the
// "*" wildcard host.
func (transport) CheckDialAddr(scheme, addr string) error {
	_, err := hostPort(scheme, addr, false)
	return err
}

func (transport) Dial(ctx context.Context, scheme, addr string) (socket.Conn, error) {
	hp, err := hostPort(scheme, addr, false)
	if err != nil {
		return socket.Conn{}, err
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, network(scheme), hp)
	if err != nil {
		return socket.Conn{}, err
	}
	tune(c)
	return socket.Conn{Stream: c, TLS: transport{}.TLS(scheme), Remote: c.RemoteAddr().String()}, nil
}

func (transport) Listen(scheme, addr string) (socket.TransportListener, error) {
	hp, err := hostPort(scheme, addr, true)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen(network(scheme), hp)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) || strings.Contains(err.Error(), "address already in use") {
			// Both match: ErrAddrInUse, and the system's EADDRINUSE that
			// a program ported from libzmq looks for.
			return nil, fmt.Errorf("%w: %w", socket.ErrAddrInUse, err)
		}
		return nil, err
	}
	return &listener{l: l, scheme: scheme}, nil
}

type listener struct {
	l      net.Listener
	scheme string
}

func (l *listener) Accept() (socket.Conn, error) {
	c, err := l.l.Accept()
	if err != nil {
		return socket.Conn{}, err
	}
	tune(c)
	return socket.Conn{Stream: c, TLS: transport{}.TLS(l.scheme), Remote: c.RemoteAddr().String()}, nil
}

func (l *listener) Close() error { return l.l.Close() }

func (l *listener) URL() string { return l.scheme + "://" + l.l.Addr().String() }

// tune turns Nagle off (Go does by default; said here so nobody changes it).
func tune(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
}
