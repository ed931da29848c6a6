// Package bus is mangos's bus protocol package on mqwire: the socket
// of BUS, where each message goes to every peer but the one it came from (nng's bus0).
package bus

import (
	"github.com/mqwire/mqwire/compat/mangos"
	"github.com/mqwire/mqwire/compat/mangos/internal/core"
)

// The protocol's numbers and names, and its peer's.
const (
	Self     = mangos.ProtoBus
	Peer     = mangos.ProtoBus
	SelfName = "bus"
	PeerName = "bus"
)

// NewSocket returns a new bus socket.
func NewSocket() (mangos.Socket, error) { return core.NewSocket(Self, false) }
