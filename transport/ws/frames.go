package ws

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/mqwire/mqwire/socket"
	"github.com/mqwire/mqwire/wire"
)

// FrameLimits bounds the WebSocket frames of a dialer's or listener's
// connections, for peers and proxies that take frames only up to a size
// (browsers' and small servers' buffers). A message longer than a frame
// goes in several, as RFC 6455 allows; the limits change nothing else.
type FrameLimits struct {
	// Send is the largest frame payload sent (nng's
	// NNG_OPT_WS_SENDMAXFRAME): longer messages are sent in fragments of
	// at most Send bytes. 0 keeps the default, 64 KiB.
	Send int
	// Recv is the largest frame payload taken (nng's
	// NNG_OPT_WS_RECVMAXFRAME): a peer that sends a longer frame loses
	// its connection, told why with close code 1009, and the socket's
	// EventDisconnected carries a *FrameTooLargeError. 0 sets no limit of
	// its own: the socket's MaxRecvSize bounds whole messages either way.
	Recv int
}

// maxFrameLimit bounds both limits: a frame above it is no use to anyone.
const maxFrameLimit = 1 << 30

// check returns why f cannot be used, or nil.
func (f FrameLimits) check(option string) error {
	if f.Send < 0 || f.Send > maxFrameLimit || f.Recv < 0 || f.Recv > maxFrameLimit {
		return fmt.Errorf("%w: %s{Send: %d, Recv: %d}: each from 0 (the default) to %d bytes",
			socket.ErrBadOption, option, f.Send, f.Recv, maxFrameLimit)
	}
	return nil
}

// framesKey carries DialFrameLimits' and ListenFrameLimits' values to the
// transport.
type framesKey struct{}

// DialFrameLimits sets the frame limits of a ws:// or wss:// dialer's
// connections. Negative sizes or sizes above 1 GiB fail Dial with
// socket.ErrBadOption; another transport fails it with
// socket.ErrOptionNotApplicable.
func DialFrameLimits(f FrameLimits) socket.DialOption {
	return socket.TransportDialOption("ws.DialFrameLimits", transport{}.Schemes(), framesKey{}, f, f.check("ws.DialFrameLimits"))
}

// ListenFrameLimits sets the frame limits of a ws:// or wss:// listener's
// connections, as DialFrameLimits does a dialer's. (A Handler takes them
// through its SetFrameLimits.)
func ListenFrameLimits(f FrameLimits) socket.ListenOption {
	return socket.TransportListenOption("ws.ListenFrameLimits", transport{}.Schemes(), framesKey{}, f, f.check("ws.ListenFrameLimits"))
}

// framesIn returns the frame limits in ctx (the zero value if none).
func framesIn(ctx context.Context) FrameLimits {
	f, _ := ctx.Value(framesKey{}).(FrameLimits)
	return f
}

// SetFrameLimits sets the frame limits of the connections the handler
// takes over from now on; it fails with socket.ErrBadOption as
// ListenFrameLimits does.
func (h *Handler) SetFrameLimits(f FrameLimits) error {
	if err := f.check("ws.Handler.SetFrameLimits"); err != nil {
		return err
	}
	h.hl.frames.Store(&f)
	return nil
}

// frameLimitsOf returns the limits stored in p, or the zero value.
func frameLimitsOf(p *atomic.Pointer[FrameLimits]) FrameLimits {
	if f := p.Load(); f != nil {
		return *f
	}
	return FrameLimits{}
}

// setFrames applies f to a connection before its handshake.
func (c *conn) setFrames(f FrameLimits) {
	c.sendMax = maxFrame
	if f.Send > 0 {
		c.sendMax = f.Send
	}
	c.recvMax = uint64(f.Recv)
}

// FrameTooLargeError reports a peer's frame longer than the connection's
// FrameLimits.Recv. It matches wire.ErrTooLarge and wire.ErrProtocol with
// errors.Is.
type FrameTooLargeError struct {
	Size  uint64 // the frame's payload, as the peer announced it
	Limit uint64 // FrameLimits.Recv
}

// Error gives the frame's size and the limit it passed.
func (e *FrameTooLargeError) Error() string {
	return fmt.Sprintf("ws: frame of %d bytes is above the limit of %d", e.Size, e.Limit)
}

// Is reports whether target is wire.ErrTooLarge or wire.ErrProtocol.
func (e *FrameTooLargeError) Is(target error) bool {
	return target == wire.ErrTooLarge || target == wire.ErrProtocol
}
