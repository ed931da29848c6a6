// Package xpull is mangos's xpull protocol package on mqwire: the raw socket
// of PULL, which receives from its pushers, fairly (pull0). Raw: the application reads and writes the SP header
// (Message.Header), as devices do; it keeps no protocol state.
package xpull

import (
	"github.com/mqwire/mqwire/compat/mangos"
	"github.com/mqwire/mqwire/compat/mangos/internal/core"
)

// The protocol's numbers and names, and its peer's.
const (
	Self     = mangos.ProtoPull
	Peer     = mangos.ProtoPush
	SelfName = "pull"
	PeerName = "push"
)

// NewSocket returns a new raw pull socket.
func NewSocket() (mangos.Socket, error) { return core.NewSocket(Self, true) }
