// Package xpair is mangos's xpair protocol package on mqwire: the raw socket
// of PAIR, one peer at a time, both ways (pair0). Raw: the application reads and writes the SP header
// (Message.Header), as devices do; it keeps no protocol state.
package xpair

import (
	"github.com/mqwire/mqwire/compat/mangos"
	"github.com/mqwire/mqwire/compat/mangos/internal/core"
)

// The protocol's numbers and names, and its peer's.
const (
	Self     = mangos.ProtoPair
	Peer     = mangos.ProtoPair
	SelfName = "pair"
	PeerName = "pair"
)

// NewSocket returns a new raw pair socket.
func NewSocket() (mangos.Socket, error) { return core.NewSocket(Self, true) }
