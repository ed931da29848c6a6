// Package xreq is mangos's xreq protocol package on mqwire: the raw socket
// of REQ, the side of request/reply that asks (req0). Raw: the application reads and writes the SP header
// (Message.Header), as devices do; it keeps no protocol state.
package xreq

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

// NewSocket returns a new raw req socket.
func NewSocket() (mangos.Socket, error) { return core.NewSocket(Self, true) }
