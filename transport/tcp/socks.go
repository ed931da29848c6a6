package tcp

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/mqwire/mqwire/internal/neterr"
	"github.com/mqwire/mqwire/socket"
	"github.com/mqwire/mqwire/wire"
)

// SOCKS names a SOCKS5 proxy (RFC 1928) that a tcp:// dialer connects
// through: libzmq's ZMQ_SOCKS_PROXY, ZMQ_SOCKS_USERNAME and
// ZMQ_SOCKS_PASSWORD.
type SOCKS struct {
	// Proxy is the proxy's "host:port".
	Proxy string
	// Username and Password are offered to a proxy that asks for them
	// (RFC 1929's username/password authentication) when Username is
	// set; without a Username only "no authentication" is offered.
	Username, Password string
}

// socksKey carries DialSOCKS's proxy to the transport's Dial.
type socksKey struct{}

// DialSOCKS makes a tcp:// (or tls+tcp://) dialer connect through a SOCKS5
// proxy: each connection goes to the proxy, which is asked to connect on
// to the dialer's host and port. The host goes to the proxy as written,
// a name unresolved (the proxy resolves it), an IP address as one, as
// libzmq does. A source address ("tcp://source;host:port") and DialDevice
// apply to the connection to the proxy. A proxy that refuses fails the
// attempt with a *SOCKSError, and the dialer tries again as after any
// failed connection. A proxy address that is not "host:port", or a name
// or password above 255 bytes, fails Dial with socket.ErrBadOption;
// another transport fails it with socket.ErrOptionNotApplicable.
func DialSOCKS(p SOCKS) socket.DialOption {
	return socket.TransportDialOption("tcp.DialSOCKS", transport{}.Schemes(), socksKey{}, p, p.check())
}

// check returns why p cannot be used, or nil.
func (p SOCKS) check() error {
	bad := func(why string) error {
		return fmt.Errorf("%w: tcp.DialSOCKS(%q): %s", socket.ErrBadOption, p.Proxy, why)
	}
	host, port, err := net.SplitHostPort(p.Proxy)
	if err != nil {
		return bad(err.Error())
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || host == "" {
		return bad("not a host and port")
	}
	switch {
	case len(p.Username) > 255 || len(p.Password) > 255:
		return bad("username and password are 255 bytes at most")
	case p.Username == "" && p.Password != "":
		return bad("a password without a username")
	}
	return nil
}

// SOCKSError is a SOCKS5 proxy's refusal: of every authentication method
// offered, of the username and password, or of the connection asked for
// (Code, RFC 1928's reply field: 5 connection refused, 4 host unreachable,
// 3 network unreachable, ...). It matches the system's error for the same
// fault with errors.Is (syscall.ECONNREFUSED for 5, EHOSTUNREACH for 4,
// ENETUNREACH for 3).
type SOCKSError struct {
	Proxy  string // the proxy's address
	Code   byte   // the reply's code; 0 when the refusal came before the request
	Reason string // what was refused, in a few words
}

// Error says which proxy refused what.
func (e *SOCKSError) Error() string {
	return fmt.Sprintf("tcp: socks proxy %s: %s", e.Proxy, e.Reason)
}

// Is reports whether target is the system's error for the refused
// connection's fault.
func (e *SOCKSError) Is(target error) bool {
	switch e.Code {
	case 3:
		return neterr.NetUnreachable(target)
	case 4:
		return neterr.HostUnreachable(target)
	case 5:
		return neterr.ConnRefused(target)
	}
	return false
}

// socksReplies names RFC 1928's reply codes.
var socksReplies = [...]string{
	1: "general failure",
	2: "connection not allowed by its rules",
	3: "network unreachable",
	4: "host unreachable",
	5: "connection refused",
	6: "TTL expired",
	7: "command not supported",
	8: "address type not supported",
}

// SOCKS5's numbers (RFC 1928, RFC 1929).
const (
	socksVersion    = 5
	socksNoAuth     = 0
	socksUserPass   = 2
	socksNoMethod   = 0xFF
	socksConnect    = 1
	socksIPv4       = 1
	socksDomain     = 3
	socksIPv6       = 4
	userPassVersion = 1
)

// errSOCKS is a proxy's answer that breaks RFC 1928.
func errSOCKS(format string, args ...any) error {
	return &wire.ProtocolError{Dialect: "socks5", Reason: fmt.Sprintf(format, args...)}
}

// dialSOCKS asks the proxy at the other end of c to connect to target
// ("host:port"), within ctx. It reads exactly the proxy's answers, so
// that what the target sends next is left in c for the dialect.
func dialSOCKS(ctx context.Context, c net.Conn, p SOCKS, target string) error {
	// (ctx's end alone stops the exchange, so that a failure it caused
	// always reports ctx's error.)
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	err := socksHandshake(c, p, target)
	if !stop() || ctx.Err() != nil {
		return fmt.Errorf("socks proxy %s: %w", p.Proxy, ctx.Err())
	}
	return err
}

// socksHandshake runs the client's side of SOCKS5 on rw: the method
// negotiation, the username and password if the proxy picks them, and
// the CONNECT request.
func socksHandshake(rw io.ReadWriter, p SOCKS, target string) error {
	host, portText, err := net.SplitHostPort(target)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", socket.ErrBadURL, target, err)
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil {
		return fmt.Errorf("%w: %s: port for a socks proxy", socket.ErrBadURL, target)
	}
	refused := func(code byte, reason string) error {
		return &SOCKSError{Proxy: p.Proxy, Code: code, Reason: reason}
	}

	methods := []byte{socksVersion, 1, socksNoAuth}
	if p.Username != "" {
		methods = []byte{socksVersion, 2, socksNoAuth, socksUserPass}
	}
	if _, err := rw.Write(methods); err != nil {
		return err
	}
	var b [2]byte
	if err := readSOCKS(rw, b[:]); err != nil {
		return err
	}
	switch {
	case b[0] != socksVersion:
		return errSOCKS("answers with version %d, not 5", b[0])
	case b[1] == socksNoMethod:
		return refused(0, "refused every authentication method offered")
	case b[1] == socksUserPass && p.Username != "":
		auth := append([]byte{userPassVersion, byte(len(p.Username))}, p.Username...)
		auth = append(append(auth, byte(len(p.Password))), p.Password...)
		if _, err := rw.Write(auth); err != nil {
			return err
		}
		if err := readSOCKS(rw, b[:]); err != nil {
			return err
		}
		if b[1] != 0 {
			return refused(0, "refused the username and password")
		}
	case b[1] != socksNoAuth:
		return errSOCKS("picks the method %d, which was not offered", b[1])
	}

	req := []byte{socksVersion, socksConnect, 0}
	ip := net.ParseIP(host)
	switch {
	case ip.To4() != nil:
		req = append(append(req, socksIPv4), ip.To4()...)
	case ip != nil:
		req = append(append(req, socksIPv6), ip...)
	case len(host) > 255:
		return fmt.Errorf("%w: %s: a host name above 255 bytes cannot go to a socks proxy", socket.ErrBadURL, target)
	default:
		req = append(append(req, socksDomain, byte(len(host))), host...)
	}
	req = binary.BigEndian.AppendUint16(req, uint16(port))
	if _, err := rw.Write(req); err != nil {
		return err
	}
	var head [4]byte
	if err := readSOCKS(rw, head[:]); err != nil {
		return err
	}
	if head[0] != socksVersion {
		return errSOCKS("replies with version %d, not 5", head[0])
	}
	if code := head[1]; code != 0 {
		reason := "reply code " + strconv.Itoa(int(code))
		if int(code) < len(socksReplies) {
			reason = socksReplies[code]
		}
		return refused(code, reason+" (connecting to "+target+")")
	}
	// The address the proxy connected from, which nothing here needs.
	var rest int
	switch head[3] {
	case socksIPv4:
		rest = 4 + 2
	case socksIPv6:
		rest = 16 + 2
	case socksDomain:
		if err := readSOCKS(rw, b[:1]); err != nil {
			return err
		}
		rest = int(b[0]) + 2
	default:
		return errSOCKS("replies with the address type %d", head[3])
	}
	var addr [255 + 2]byte
	return readSOCKS(rw, addr[:rest])
}

// readSOCKS reads exactly len(b) bytes of the proxy's answer; a proxy that
// ends it early breaks the protocol.
func readSOCKS(r io.Reader, b []byte) error {
	_, err := io.ReadFull(r, b)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errSOCKS("closes the connection mid-answer")
	}
	return err
}
