// Package push is mangos's push protocol package on mqwire: the socket
// of PUSH, which sends each message to one puller, in turn (push0).
package push

import (
	"github.com/mqwire/mqwire/compat/mangos"
	"github.com/mqwire/mqwire/compat/mangos/internal/core"
)

// The protocol's numbers and names, and its peer's.
const (
	Self     = mangos.ProtoPush
	Peer     = mangos.ProtoPull
	SelfName = "push"
	PeerName = "pull"
)

// NewSocket returns a new push socket.
func NewSocket() (mangos.Socket, error) { return core.NewSocket(Self, false) }
