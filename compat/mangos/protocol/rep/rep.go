// Package rep is mangos's rep protocol package on mqwire: the socket
// of REP, the side of request/reply that answers (rep0).
package rep

import (
	"github.com/mqwire/mqwire/compat/mangos"
	"github.com/mqwire/mqwire/compat/mangos/internal/core"
)

// The protocol's numbers and names, and its peer's.
const (
	Self     = mangos.ProtoRep
	Peer     = mangos.ProtoReq
	SelfName = "rep"
	PeerName = "req"
)

// NewSocket returns a new rep socket.
func NewSocket() (mangos.Socket, error) { return core.NewSocket(Self, false) }
