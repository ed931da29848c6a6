// Package pull is mangos's pull protocol package on mqwire: the socket
// of PULL, which receives from its pushers, fairly (pull0).
package pull

import (
	"github.com/mqwire/mqwire/compat/mangos"
	"github.com/mqwire/mqwire/compat/mangos/internal/core"
)

// The protocol's numbers and names, and its peer's.
const (
	Self     = mangos.ProtoPull
	Peer     = mangos.ProtoPush
	SelfName = "pull"
	PeerName = "push"
)

// NewSocket returns a new pull socket.
func NewSocket() (mangos.Socket, error) { return core.NewSocket(Self, false) }
