// Package xpub is mangos's xpub protocol package on mqwire: the raw socket
// of PUB, which sends each message to every subscriber (pub0). Raw: the application reads and writes the SP header
// (Message.Header), as devices do; it keeps no protocol state.
package xpub

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

// NewSocket returns a new raw pub socket.
func NewSocket() (mangos.Socket, error) { return core.NewSocket(Self, true) }
