// Package pair1 is mangos's pair1 protocol package on mqwire: the socket
// of PAIR version 1, one peer at a time, both ways, with a hop count (pair1).
package pair1

import (
	"github.com/mqwire/mqwire/compat/mangos"
	"github.com/mqwire/mqwire/compat/mangos/internal/core"
)

// The protocol's numbers and names, and its peer's.
const (
	Self     = mangos.ProtoPair1
	Peer     = mangos.ProtoPair1
	SelfName = "pair1"
	PeerName = "pair1"
)

// NewSocket returns a new pair1 socket.
func NewSocket() (mangos.Socket, error) { return core.NewSocket(Self, false) }
