// Package xrep is mangos's xrep protocol package on mqwire: the raw socket
// of REP, the side of request/reply that answers (rep0). Raw: the application reads and writes the SP header
// (Message.Header), as devices do; it keeps no protocol state.
package xrep

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

// NewSocket returns a new raw rep socket.
func NewSocket() (mangos.Socket, error) { return core.NewSocket(Self, true) }
