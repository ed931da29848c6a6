// Package ipc is the ipc:// transport: SP over Unix domain sockets, with the
// IPC framing nng uses. "ipc:///tmp/x.sock" is an absolute path,
// "ipc://x.sock" a relative one.
//
// A socket file left behind by a process that died is stale: Listen removes
// it and binds. A file that a live listener still answers on is in use, and
// Listen fails with socket.ErrAddrInUse. A path that exists but is not a
// socket is never removed.
package ipc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"

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

func (transport) Schemes() []string { return []string{"ipc"} }

func checkPath(path string) error {
	if path == "" {
		return fmt.Errorf("%w: ipc:// needs a path", socket.ErrBadURL)
	}
	return nil
}

// CheckAddr rejects an empty path.
func (transport) CheckAddr(_, path string) error { return checkPath(path) }

func (transport) Dial(ctx context.Context, _, path string) (socket.Conn, error) {
	if err := checkPath(path); err != nil {
		return socket.Conn{}, err
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return socket.Conn{}, err
	}
	setSendBuffer(c)
	return socket.Conn{Stream: c, IPCFraming: true, Remote: "ipc://" + path}, nil
}

func (transport) Listen(_, path string) (socket.TransportListener, error) {
	if err := checkPath(path); err != nil {
		return nil, err
	}
	if err := sockfile.RemoveStale("ipc", path); err != nil {
		return nil, err
	}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("%w: ipc://%s", socket.ErrAddrInUse, path)
		}
		return nil, err
	}
	return &listener{l: l, path: path}, nil
}

type listener struct {
	l    *net.UnixListener
	path string
}

func (l *listener) Accept() (socket.Conn, error) {
	c, err := l.l.Accept()
	if err != nil {
		return socket.Conn{}, err
	}
	setSendBuffer(c)
	return socket.Conn{Stream: c, IPCFraming: true, Remote: "ipc://" + l.path}, nil
}

// Close stops listening and removes the socket file.
func (l *listener) Close() error { return l.l.Close() }

func (l *listener) URL() string { return "ipc://" + l.path }
