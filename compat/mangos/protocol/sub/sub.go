// Package sub is mangos's sub protocol package on mqwire: the socket
// of SUB, which receives the messages of its publishers that match its subscriptions (sub0).
package sub

import (
	"github.com/mqwire/mqwire/compat/mangos"
	"github.com/mqwire/mqwire/compat/mangos/internal/core"
)

// The protocol's numbers and names, and its peer's.
const (
	Self     = mangos.ProtoSub
	Peer     = mangos.ProtoPub
	SelfName = "sub"
	PeerName = "pub"
)

// NewSocket returns a new sub socket.
func NewSocket() (mangos.Socket, error) { return core.NewSocket(Self, false) }
