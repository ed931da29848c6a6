// Package xpair1 is mangos's xpair1 protocol package on mqwire: the raw socket
// of PAIR version 1, one peer at a time, both ways, with a hop count (pair1). Raw: the application reads and writes the SP header
// (Message.Header), as devices do; it keeps no protocol state.
package xpair1

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

// NewSocket returns a new raw pair1 socket.
func NewSocket() (mangos.Socket, error) { return core.NewSocket(Self, true) }
