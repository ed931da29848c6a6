// Package xbus is mangos's xbus protocol package on mqwire: the raw socket
// of BUS, where each message goes to every peer but the one it came from (nng's bus0). Raw: the application reads and writes the SP header
// (Message.Header), as devices do; it keeps no protocol state.
package xbus

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

// NewSocket returns a new raw bus socket.
func NewSocket() (mangos.Socket, error) { return core.NewSocket(Self, true) }
