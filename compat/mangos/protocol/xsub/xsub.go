// Package xsub is mangos's xsub protocol package on mqwire: the raw socket
// of SUB, which receives the messages of its publishers that match its subscriptions (sub0). Raw: the application reads and writes the SP header
// (Message.Header), as devices do; it keeps no protocol state.
package xsub

import (
	"github.com/mqwire/mqwire/compat/mangos"
	"github.com/mqwire/mqwire/compat/mangos/internal/core"
)

// The protocol's numbers and names, and its peer's.
const (
	Self     = mangos.ProtoSub
	Peer     = mangos.ProtoPub
	SelfName = "sub"
	PeerName = "pub"
)

// NewSocket returns a new raw sub socket.
func NewSocket() (mangos.Socket, error) { return core.NewSocket(Self, true) }
