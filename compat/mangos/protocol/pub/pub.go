// Package pub is mangos's pub protocol package on mqwire: the socket
// of PUB, which sends each message to every subscriber (pub0).
package pub

import (
	"github.com/mqwire/mqwire/compat/mangos"
	"github.com/mqwire/mqwire/compat/mangos/internal/core"
)

// The protocol's numbers and names, and its peer's.
const (
	Self     = mangos.ProtoPub
	Peer     = mangos.ProtoSub
	SelfName = "pub"
	PeerName = "sub"
)

// NewSocket returns a new pub socket.
func NewSocket() (mangos.Socket, error) { return core.NewSocket(Self, false) }
