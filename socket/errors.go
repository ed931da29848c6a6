package socket

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/mqwire/mqwire/internal/neterr"
	"github.com/mqwire/mqwire/wire"
)

// Errors returned by sockets. Compare with errors.Is: returned errors may wrap
// these with detail.
var (
	// ErrClosed: the socket (or context) is closed.
	ErrClosed = errors.New("mqwire: socket closed")
	// ErrTimeout: a send or receive deadline passed. It also matches
	// os.ErrDeadlineExceeded and context.DeadlineExceeded.
	ErrTimeout error = timeoutError{}
	// ErrTooLarge: a message is above the receive size limit.
	ErrTooLarge = wire.ErrTooLarge
	// ErrProtocol: a peer broke the wire protocol or the pattern's rules.
	ErrProtocol = wire.ErrProtocol
	// ErrNoPeer: there is no peer to take the message (where the pattern
	// reports that instead of waiting).
	ErrNoPeer = errors.New("mqwire: no peer")
	// ErrBadOption: an option value is out of range.
	ErrBadOption = errors.New("mqwire: bad option value")
	// ErrOptionNotApplicable: the option does not apply to this pattern.
	ErrOptionNotApplicable = errors.New("mqwire: option does not apply to this socket")
	// ErrNotSupported: the operation is not part of this pattern (Send on a
	// subscriber, Recv on a publisher).
	ErrNotSupported = errors.New("mqwire: operation not supported by this pattern")
	// ErrBadState: the operation is not valid now (Recv on a REQ with no
	// request outstanding).
	ErrBadState = errors.New("mqwire: operation not valid in this state")
	// ErrBadURL: the address is not a URL a transport understands.
	ErrBadURL = errors.New("mqwire: bad address")
	// ErrPeerMismatch: the peer runs a protocol that cannot talk to ours.
	ErrPeerMismatch = errors.New("mqwire: peer protocol mismatch")
	// ErrAddrInUse: the listening address is taken.
	ErrAddrInUse = errors.New("mqwire: address in use")
	// ErrAddrNotAvailable: the listening address is not one this host can
	// listen on: an IP address of no local interface, or an ipc or shm
	// path whose directory does not exist (libzmq's EADDRNOTAVAIL and
	// ENOENT, nng's NNG_EADDRINVAL and NNG_ENOENT).
	ErrAddrNotAvailable = errors.New("mqwire: address not available")
	// ErrMultipart: RecvBytes received a message of more than one frame
	// (ZMTP multipart), which one byte slice cannot hold; Recv and
	// RecvFrames take such messages whole.
	ErrMultipart = errors.New("mqwire: multipart message")
)

type timeoutError struct{}

func (timeoutError) Error() string   { return "mqwire: timed out" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }
func (timeoutError) Is(target error) bool {
	return target == os.ErrDeadlineExceeded || target == context.DeadlineExceeded
}

// ctxErr turns the end of a wait on ctx into the error a caller expects: a
// passed deadline is ErrTimeout, a cancellation is context.Canceled.
func ctxErr(ctx context.Context) error {
	if err := ctx.Err(); errors.Is(err, context.DeadlineExceeded) {
		return ErrTimeout
	} else if err != nil {
		return err
	}
	return ErrTimeout
}

// CtxErr is ctxErr for patterns: the error to return when ctx ended a wait.
func CtxErr(ctx context.Context) error { return ctxErr(ctx) }

// ListenError is what a transport's Listen returns for err, the system's
// error from listening on url: ErrAddrInUse or ErrAddrNotAvailable when err
// says so, with err still wrapped (errors.Is finds both, so that a program
// ported from libzmq that looks for EADDRINUSE still finds it); err as it
// is otherwise.
func ListenError(err error, url string) error {
	switch {
	case neterr.AddrInUse(err) || strings.Contains(err.Error(), "address already in use"):
		return fmt.Errorf("%w: %s: %w", ErrAddrInUse, url, err)
	case neterr.AddrNotAvailable(err):
		return fmt.Errorf("%w: %s: %w", ErrAddrNotAvailable, url, err)
	}
	return err
}
