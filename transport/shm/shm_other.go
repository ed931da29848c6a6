//go:build !linux

package shm

import (
	"context"
	"fmt"

	"github.com/mqwire/mqwire/socket"
)

func init() { socket.RegisterTransport(transport{}) }

// transport stands in for shm:// where it is not built: every use fails
// with an error matching socket.ErrNotSupported.
type transport struct{}

func (transport) Schemes() []string { return []string{"shm"} }

var errNotSupported = fmt.Errorf("%w: shm:// needs Linux (memfd, eventfd)", socket.ErrNotSupported)

// CheckAddr fails at once, so that a Dial does not retry in the background.
func (transport) CheckAddr(_, _ string) error { return errNotSupported }

func (transport) Dial(context.Context, string, string) (socket.Conn, error) {
	return socket.Conn{}, errNotSupported
}

func (transport) Listen(string, string) (socket.TransportListener, error) {
	return nil, errNotSupported
}
