// Package ws is the ws:// transport (also ws4:// and ws6://): SP over
// WebSocket (RFC 6455), as nng's and mangos' ws transports speak it, and
// ZMTP over WebSocket, as libzmq's does (ZWS 2.0, ZeroMQ's RFC 45), so that
// mqwire talks to their sockets and to browsers' WebSocket clients. wss://
// (wss4://, wss6://) is the same over TLS, with the socket's TLSConfig, as
// nng's and mangos' wss transports. A URL names the host, port and HTTP
// path: "ws://host:8080/path" (the path "/" when none is given; to listen,
// the host may be "*" or empty for every address, and the port 0 for one
// the system chooses).
//
// The opening handshake takes the place of SP's connection header or
// ZMTP's greeting: a dialer offers its peer's SP protocol
// ("rep.sp.nanomsg.org"), or, dialing in ZMTP, "ZWS2.0/" and its security
// mechanism; the listener answers with the one it speaks. Each SP message,
// its protocol header (a REQ's request id, say) and body together, is one
// binary WebSocket message; each ZMTP frame is one, behind a flags byte. A
// listener serves one path; ws:// listeners of one socket or many may share
// a port, each with its own path (wss:// listeners cannot). A socket can
// also be served on the application's own HTTP server, beside its other
// handlers, through a Handler (NewHandler), as nng's and mangos' can.
package ws

import (
	"context"
	"fmt"
	"net"
	"strings"

	"github.com/mqwire/mqwire/internal/portnum"
	"github.com/mqwire/mqwire/socket"
)

func init() { socket.RegisterTransport(transport{}) }

type transport struct{}

func (transport) Schemes() []string { return []string{"ws", "ws4", "ws6", "wss", "wss4", "wss6"} }

// TLS reports whether scheme's connections carry TLS under the WebSocket
// (socket.TLSTransport).
func (transport) TLS(scheme string) bool { return strings.HasPrefix(scheme, "wss") }

// network is the net package's name for scheme.
func network(scheme string) string {
	return "tcp" + strings.TrimPrefix(strings.TrimPrefix(scheme, "wss"), "ws")
}

// streamConn is the socket.Conn of a tcp connection: the socket runs TLS
// over it for wss, and then the WebSocket framing that frame makes.
func streamConn(scheme string, c net.Conn, frame func(under net.Conn) net.Conn) socket.Conn {
	return socket.Conn{
		Stream: c,
		TLS:    transport{}.TLS(scheme),
		Frame:  frame,
		Remote: c.RemoteAddr().String(),
		Local:  c.LocalAddr().String(),
	}
}

// splitAddr splits "host:port/path" and checks it.
func splitAddr(scheme, addr string, listening bool) (hostPort, path string, err error) {
	hostPort, path, _ = strings.Cut(addr, "/")
	path = "/" + path
	host, port, err := net.SplitHostPort(hostPort)
	bad := func(why string) (string, string, error) {
		return "", "", fmt.Errorf("%w: %s://%s: %s", socket.ErrBadURL, scheme, addr, why)
	}
	if err != nil {
		return bad(err.Error())
	}
	if port, err = portnum.Check(port, listening); err != nil {
		return bad(err.Error())
	}
	switch {
	case strings.ContainsAny(path, " \t\r\n"):
		return bad("a path with white space")
	case (host == "*" || host == "") && !listening:
		return bad("no host to dial")
	case host == "*":
		host = ""
	}
	hostPort = net.JoinHostPort(host, port)
	return hostPort, path, nil
}

// CheckAddr implements socket.AddrChecker.
func (transport) CheckAddr(scheme, addr string) error {
	_, _, err := splitAddr(scheme, addr, true)
	return err
}

// CheckDialAddr implements socket.DialAddrChecker.
func (transport) CheckDialAddr(scheme, addr string) error {
	_, _, err := splitAddr(scheme, addr, false)
	return err
}

func (transport) Dial(ctx context.Context, scheme, addr string) (socket.Conn, error) {
	hostPort, path, err := splitAddr(scheme, addr, false)
	if err != nil {
		return socket.Conn{}, err
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, network(scheme), hostPort)
	if err != nil {
		return socket.Conn{}, err
	}
	header, _ := ctx.Value(headerKey{}).([]byte)
	frames := framesIn(ctx)
	return streamConn(scheme, c, func(under net.Conn) net.Conn {
		wc := newConn(under, false, hostPort, path, nil)
		wc.header = header
		wc.setFrames(frames)
		return wc
	}), nil
}

func (t transport) Listen(scheme, addr string) (socket.TransportListener, error) {
	return t.ListenContext(context.Background(), scheme, addr)
}

// ListenContext is Listen with the listen options' values (CheckOrigin,
// ListenHeader, ListenFrameLimits) in ctx.
func (transport) ListenContext(ctx context.Context, scheme, addr string) (socket.TransportListener, error) {
	hostPort, path, err := splitAddr(scheme, addr, true)
	if err != nil {
		return nil, err
	}
	cfg := listenConfigIn(ctx)
	if !(transport{}).TLS(scheme) {
		return listenShared(scheme, hostPort, path, cfg)
	}
	l, err := net.Listen(network(scheme), hostPort)
	if err != nil {
		return nil, socket.ListenError(err, scheme+"://"+addr)
	}
	return &listener{l: l, scheme: scheme, path: path, cfg: cfg}, nil
}

// listener is a wss:// listener: one path on its port.
type listener struct {
	l      net.Listener
	scheme string
	path   string
	cfg    listenConfig
}

func (l *listener) Accept() (socket.Conn, error) {
	c, err := l.l.Accept()
	if err != nil {
		return socket.Conn{}, err
	}
	return streamConn(l.scheme, c, func(under net.Conn) net.Conn {
		wc := newConn(under, true, "", l.path, nil)
		wc.listenWith(l.cfg)
		return wc
	}), nil
}

func (l *listener) Close() error { return l.l.Close() }

func (l *listener) URL() string { return l.scheme + "://" + l.l.Addr().String() + l.path }
