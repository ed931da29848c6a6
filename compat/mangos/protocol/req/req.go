// Package req is mangos's req protocol package on mqwire: the socket
// of REQ, the side of request/reply that asks (req0).
package req

import (
	"github.com/mqwire/mqwire/compat/mangos"
	"github.com/mqwire/mqwire/compat/mangos/internal/core"
)

// The protocol's numbers and names, and its peer's.
const (
	Self     = mangos.ProtoReq
	Peer     = mangos.ProtoRep
	SelfName = "req"
	PeerName = "rep"
)

// NewSocket returns a new req socket.
func NewSocket() (mangos.Socket, error) { return core.NewSocket(Self, false) }
