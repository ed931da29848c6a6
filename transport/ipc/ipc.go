// Package ipc is the ipc:// transport: SP over Unix domain sockets, with the
// IPC framing nng uses. "ipc:///tmp/x.sock" is an absolute path,
// "ipc://x.sock" a relative one. On Linux, a socket may also live in the
// abstract namespace, with no file: "ipc://@name" as libzmq writes it, or
// "abstract://name" as nng does (its name may hold %-escaped bytes). Such a
// name is gone as soon as its listener closes or its process dies: nothing
// is left to remove.
//
// Permissions and Owner set who may connect to a listener's socket file
// (nng's NNG_OPT_IPC_PERMISSIONS); a pipe tells its peer's process, user
// and group ids on Linux (Pipe.ConnInfo with a *socket.PeerCred, nng's
// NNG_OPT_IPC_PEER_PID, _UID and _GID), for a PipeHook to refuse peers by.
//
// A socket file left behind by a process that died is stale: Listen removes
// it and binds. A file that a live listener still answers on is in use, and
// Listen fails with socket.ErrAddrInUse. A path that exists but is not a
// socket is never removed.
package ipc

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"runtime"

	"github.com/mqwire/mqwire/internal/sockfile"
	"github.com/mqwire/mqwire/socket"
)

func init() { socket.RegisterTransport(transport{}) }

// sendBuffer is the kernel send buffer (SO_SNDBUF) an ipc connection asks
// for unless socket.SendBuffer sets one. A Unix socket's send buffer bounds
// what is in flight to the peer, and the system's default (about 208 KiB on
// Linux) has a 1 MiB message go in five writes, each waiting for the peer
// to read: 1 MiB one way took 283-294 us with it against 167-186 us with
// this (libzmq, which keeps the default: 213-250 us). Linux doubles the
// value and caps it at twice net.core.wmem_max (at its default, 208 KiB,
// the gain was 290 -> 232 us). The buffer holds memory only for bytes the
// peer has not read yet.
const sendBuffer = 512 << 10

// setSendBuffer asks for sendBuffer; a system that refuses keeps its own.
func setSendBuffer(c net.Conn) {
	if uc, ok := c.(*net.UnixConn); ok {
		uc.SetWriteBuffer(sendBuffer)
	}
}

type transport struct{}

func (transport) Schemes() []string { return []string{"ipc", "abstract"} }

// unixName returns the Unix socket address of an ipc:// or abstract://
// address: a path, or a name in the abstract namespace, which Go's net
// package writes with a leading "@".
func unixName(scheme, addr string) (name string, abstract bool, err error) {
	if scheme == "abstract" {
		if addr == "" {
			return "", false, fmt.Errorf("%w: abstract:// needs a name", socket.ErrBadURL)
		}
		n, err := url.PathUnescape(addr)
		if err != nil {
			return "", false, fmt.Errorf("%w: abstract://%s: %v", socket.ErrBadURL, addr, err)
		}
		addr = "@" + n
	}
	if addr == "" {
		return "", false, fmt.Errorf("%w: ipc:// needs a path", socket.ErrBadURL)
	}
	abstract = addr[0] == '@'
	if abstract && runtime.GOOS != "linux" {
		return "", false, fmt.Errorf("%w: %s://%s: the abstract namespace is Linux's", socket.ErrNotSupported, scheme, addr)
	}
	return addr, abstract, nil
}

// CheckAddr rejects an address that names no socket.
func (transport) CheckAddr(scheme, addr string) error {
	_, _, err := unixName(scheme, addr)
	return err
}

func (transport) Dial(ctx context.Context, scheme, addr string) (socket.Conn, error) {
	name, _, err := unixName(scheme, addr)
	if err != nil {
		return socket.Conn{}, err
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", name)
	if err != nil {
		return socket.Conn{}, err
	}
	setSendBuffer(c)
	return socket.Conn{Stream: c, IPCFraming: true, Remote: scheme + "://" + addr, Info: sockfile.Info(c.(*net.UnixConn))}, nil
}

func (t transport) Listen(scheme, addr string) (socket.TransportListener, error) {
	return t.ListenContext(context.Background(), scheme, addr)
}

// ListenContext is Listen with the access of Permissions and Owner, found
// in ctx.
func (transport) ListenContext(ctx context.Context, scheme, addr string) (socket.TransportListener, error) {
	name, abstract, err := unixName(scheme, addr)
	if err != nil {
		return nil, err
	}
	access := sockfile.AccessIn(ctx)
	if abstract && (access.SetPerm || access.SetOwner) {
		return nil, fmt.Errorf("%w: Permissions and Owner on %s://%s, which has no file", socket.ErrOptionNotApplicable, scheme, addr)
	}
	if !abstract { // an abstract name has no file to be stale
		if err := sockfile.RemoveStale("ipc", name); err != nil {
			return nil, err
		}
	}
	l, err := sockfile.Listen(name, access)
	if err != nil {
		return nil, socket.ListenError(err, scheme+"://"+addr)
	}
	return &listener{l: l, url: scheme + "://" + addr}, nil
}

type listener struct {
	l   *net.UnixListener
	url string
}

func (l *listener) Accept() (socket.Conn, error) {
	c, err := l.l.AcceptUnix()
	if err != nil {
		return socket.Conn{}, err
	}
	setSendBuffer(c)
	return socket.Conn{Stream: c, IPCFraming: true, Remote: l.url, Info: sockfile.Info(c)}, nil
}

// Close stops listening and removes the socket file.
func (l *listener) Close() error { return l.l.Close() }

func (l *listener) URL() string { return l.url }
