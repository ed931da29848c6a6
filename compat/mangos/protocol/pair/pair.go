// Package pair is mangos's pair protocol package on mqwire: the socket
// of PAIR, one peer at a time, both ways (pair0).
package pair

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

// NewSocket returns a new pair socket.
func NewSocket() (mangos.Socket, error) { return core.NewSocket(Self, false) }
