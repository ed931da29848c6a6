// Package tcp is the tcp:// transport (also tcp4:// and tcp6://): IPv4 and
// IPv6, TCP_NODELAY on. Addresses take libzmq's forms too, so that
// endpoints written for libzmq work unchanged: to listen, the host may be
// "*" (or empty) for every address, an IP address, a host name, or the
// name of a network interface ("tcp://eth0:5555", its first IPv4 address,
// or IPv6 for tcp6), and the port "*" for one the system chooses (as 0
// does; Listener.URL tells it). To dial, "tcp://source;host:port" connects
// from the source address, an IP address or an interface name with a port
// (0 or "*" for any): "tcp://eth1:0;server1:5555". ListenDevice and
// DialDevice bind the sockets to an interface (or a VRF) on Linux;
// DialSOCKS connects through a SOCKS5 proxy.
// tls+tcp:// (and tls+tcp4://, tls+tcp6://), nng's and mangos' TLS
// transport, is TCP whose connections the socket runs TLS over, with its
// socket.TLSConfig.
package tcp

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

func (transport) Schemes() []string {
	return []string{"tcp", "tcp4", "tcp6", "tls+tcp", "tls+tcp4", "tls+tcp6"}
}

// TLS reports whether scheme's connections carry TLS (socket.TLSTransport).
func (transport) TLS(scheme string) bool { return strings.HasPrefix(scheme, "tls+") }

// network is the net package's name for scheme.
func network(scheme string) string { return strings.TrimPrefix(scheme, "tls+") }

// hostPort checks "host:port" and maps libzmq's forms to Go's: the "*"
// wildcard host to every address, and, to listen, an interface name to its
// address and the "*" port to 0.
func hostPort(scheme, addr string, listening bool) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("%w: %s://%s: %v", socket.ErrBadURL, scheme, addr, err)
	}
	bad := func(why string) (string, error) {
		return "", fmt.Errorf("%w: %s://%s: %s", socket.ErrBadURL, scheme, addr, why)
	}
	if strings.Contains(host, ";") {
		return bad("a source address (source;host:port) is for dialing")
	}
	if port, err = portnum.Check(port, listening); err != nil {
		return bad(err.Error())
	}
	switch {
	case host == "*" && !listening:
		return bad("cannot dial a wildcard host")
	case host == "*":
		host = ""
	case listening && host != "" && net.ParseIP(host) == nil:
		if ip, ok := interfaceAddr(network(scheme), host); ok {
			host = ip.String()
		}
	}
	return net.JoinHostPort(host, port), nil
}

// splitSource splits a dial address into the local address to connect
// from, if it names one (libzmq's "source;host:port"), and the peer's.
func splitSource(scheme, addr string) (local *net.TCPAddr, peer string, err error) {
	src, peer, ok := strings.Cut(addr, ";")
	if !ok {
		return nil, addr, nil
	}
	hp, err := hostPort(scheme, src, true)
	if err != nil {
		return nil, "", err
	}
	host, port, _ := net.SplitHostPort(hp)
	local = &net.TCPAddr{}
	if host != "" {
		if local.IP = net.ParseIP(host); local.IP == nil {
			return nil, "", fmt.Errorf("%w: %s://%s: source %q is neither an IP address nor an interface", socket.ErrBadURL, scheme, addr, src)
		}
	}
	if local.Port, err = net.LookupPort("tcp", port); err != nil {
		return nil, "", fmt.Errorf("%w: %s://%s: %v", socket.ErrBadURL, scheme, addr, err)
	}
	return local, peer, nil
}

// interfaceAddr returns the address of the network interface called name
// that suits network: its first IPv4 address ("tcp6": IPv6), or for "tcp"
// its first IPv6 address when it has no IPv4 one. ok is false when no
// interface has that name, or it has no such address.
func interfaceAddr(network, name string) (ip net.IP, ok bool) {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return nil, false
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return nil, false
	}
	var v6 net.IP
	for _, a := range addrs {
		n, isNet := a.(*net.IPNet)
		if !isNet {
			continue
		}
		switch {
		case n.IP.To4() != nil && network != "tcp6":
			return n.IP, true
		case n.IP.To4() == nil && v6 == nil && network != "tcp4":
			v6 = n.IP
		}
	}
	return v6, v6 != nil
}

// CheckAddr rejects an address that can never be bound.
func (transport) CheckAddr(scheme, addr string) error {
	_, err := hostPort(scheme, addr, true)
	return err
}

// CheckDialAddr rejects an address that can never be dialed, such as the
// "*" wildcard host.
func (transport) CheckDialAddr(scheme, addr string) error {
	_, peer, err := splitSource(scheme, addr)
	if err == nil {
		_, err = hostPort(scheme, peer, false)
	}
	return err
}

func (transport) Dial(ctx context.Context, scheme, addr string) (socket.Conn, error) {
	local, peer, err := splitSource(scheme, addr)
	if err != nil {
		return socket.Conn{}, err
	}
	hp, err := hostPort(scheme, peer, false)
	if err != nil {
		return socket.Conn{}, err
	}
	dev, _ := ctx.Value(deviceKey{}).(string)
	d := net.Dialer{Control: deviceControl(dev)}
	if local != nil {
		d.LocalAddr = local
	}
	proxy, viaProxy := ctx.Value(socksKey{}).(SOCKS)
	to := hp
	if viaProxy {
		to = proxy.Proxy
	}
	c, err := d.DialContext(ctx, network(scheme), to)
	if err != nil {
		return socket.Conn{}, err
	}
	remote := c.RemoteAddr().String()
	if viaProxy {
		if err := dialSOCKS(ctx, c, proxy, hp); err != nil {
			c.Close()
			return socket.Conn{}, err
		}
		remote = hp // the peer as the proxy was asked for it
	}
	tune(c)
	return socket.Conn{Stream: c, TLS: transport{}.TLS(scheme), Remote: remote, Local: c.LocalAddr().String()}, nil
}

func (t transport) Listen(scheme, addr string) (socket.TransportListener, error) {
	return t.ListenContext(context.Background(), scheme, addr)
}

// ListenContext is Listen with ListenDevice's interface, if any, in ctx.
func (transport) ListenContext(ctx context.Context, scheme, addr string) (socket.TransportListener, error) {
	hp, err := hostPort(scheme, addr, true)
	if err != nil {
		return nil, err
	}
	dev, _ := ctx.Value(deviceKey{}).(string)
	lc := net.ListenConfig{Control: deviceControl(dev)}
	l, err := lc.Listen(ctx, network(scheme), hp)
	if err != nil {
		return nil, socket.ListenError(err, scheme+"://"+addr)
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
	return socket.Conn{Stream: c, TLS: transport{}.TLS(l.scheme), Remote: c.RemoteAddr().String(), Local: c.LocalAddr().String()}, nil
}

func (l *listener) Close() error { return l.l.Close() }

func (l *listener) URL() string { return l.scheme + "://" + l.l.Addr().String() }

// tune turns Nagle off (Go does by default; said here so nobody changes it).
func tune(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
}
