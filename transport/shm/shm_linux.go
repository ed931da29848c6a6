//go:build linux

package shm

import (
	"context"
	"errors"
	"net"
	"syscall"
	"time"

	"github.com/mqwire/mqwire/internal/sockfile"
	"github.com/mqwire/mqwire/socket"
)

func init() { socket.RegisterTransport(transport{}) }

type transport struct{}

func (transport) Schemes() []string { return []string{"shm"} }

// CheckAddr rejects an empty path and bad parameters.
func (transport) CheckAddr(_, addr string) error {
	_, err := parseAddr(addr)
	return err
}

// The shared mapping: a header page, the two control blocks, then the two
// data areas. Ring 0 carries listener-to-dialer bytes, ring 1 the other way.
//
//	0     magic "MQWSHM\x00\x00" | version u32 | ring capacity u32 |
//	      slot pool offset u64 | slot pool size u64   (the hello, 32 bytes)
//	32    slots per side u32 | slot size u32          (when there is a pool)
//	4096  ring 0 control block (512 bytes)
//	4608  ring 1 control block
//	5120  release ring 0 control block (256 bytes): releases of pool 0
//	5376  release ring 1 control block: releases of pool 1
//	6144  release ring 0 entries (1 KiB), then release ring 1's
//	8192  ring 0 data (capacity bytes), then ring 1 data
//	pool  pool 0 (the listener's slots), then pool 1 (the dialer's)
const (
	magic      = "MQWSHM\x00\x00"
	version    = 1
	helloSize  = 32
	headerPage = 4096
	ctl0       = 4096
	ctl1       = ctl0 + ctlSize
	rel0Ctl    = ctl1 + ctlSize
	rel1Ctl    = rel0Ctl + relCtlSize
	rel0Ent    = 6144
	rel1Ent    = rel0Ent + relEntSize
	dataStart  = 8192
	// maxPool bounds the pool size a dialer accepts.
	maxPool   = 2 * maxSlots * maxSlotSize
	setupWait = 5 * time.Second
	// spinCheck: a spinning side reads the clock every spinCheck turns.
	spinCheck = 16
)

// The release rings fit in the header pages (this fails to compile if not).
var _ [dataStart - (rel1Ent + relEntSize)]struct{}

func mapSize(ringCap int) int { return dataStart + 2*ringCap }

func (transport) Dial(ctx context.Context, _, addr string) (socket.Conn, error) {
	cfg, err := parseAddr(addr)
	if err != nil {
		return socket.Conn{}, err
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, "unix", cfg.path)
	if err != nil {
		return socket.Conn{}, err
	}
	uc := nc.(*net.UnixConn)
	c, err := dialSetup(ctx, uc, cfg)
	if err != nil {
		uc.Close()
		return socket.Conn{}, err
	}
	return socket.Conn{Stream: c, Remote: "shm://" + cfg.path, Info: sockfile.Info(uc)}, nil
}

func (t transport) Listen(scheme, addr string) (socket.TransportListener, error) {
	return t.ListenContext(context.Background(), scheme, addr)
}

// ListenContext is Listen with the access of Permissions and Owner, found
// in ctx.
func (transport) ListenContext(ctx context.Context, _, addr string) (socket.TransportListener, error) {
	cfg, err := parseAddr(addr)
	if err != nil {
		return nil, err
	}
	if err := sockfile.RemoveStale("shm", cfg.path); err != nil {
		return nil, err
	}
	l, err := sockfile.Listen(cfg.path, sockfile.AccessIn(ctx))
	if err != nil {
		return nil, socket.ListenError(err, "shm://"+addr)
	}
	return &listener{l: l, cfg: cfg, url: "shm://" + addr}, nil
}

type listener struct {
	l   *net.UnixListener
	cfg config
	url string
}

// Accept waits for a dialer and sets its connection up. A dialer that goes
// away during set-up is skipped.
func (l *listener) Accept() (socket.Conn, error) {
	for {
		uc, err := l.l.AcceptUnix()
		if err != nil {
			return socket.Conn{}, err
		}
		c, err := serveSetup(uc, l.cfg)
		if err != nil {
			uc.Close()
			var errno syscall.Errno
			if errors.As(err, &errno) && (errno == syscall.EMFILE || errno == syscall.ENFILE || errno == syscall.ENOMEM) {
				return socket.Conn{}, err
			}
			continue
		}
		return socket.Conn{Stream: c, Remote: "shm://" + l.cfg.path, Info: sockfile.Info(uc)}, nil
	}
}

// Close stops listening and removes the socket file.
func (l *listener) Close() error { return l.l.Close() }

func (l *listener) URL() string { return l.url }

type addr string

func (a addr) Network() string { return "shm" }
func (a addr) String() string  { return string(a) }
