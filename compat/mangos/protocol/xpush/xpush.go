// Package xpush is mangos's xpush protocol package on mqwire: the raw socket
// of PUSH, which sends each message to one puller, in turn (push0). Raw: the application reads and writes the SP header
// (Message.Header), as devices do; it keeps no protocol state.
package xpush

import (
	"github.com/mqwire/mqwire/compat/mangos"
	"github.com/mqwire/mqwire/compat/mangos/internal/core"
)

// The protocol's numbers and names, and its peer's.
const (
	Self     = mangos.ProtoPush
	Peer     = mangos.ProtoPull
	SelfName = "push"
	PeerName = "pull"
)

// NewSocket returns a new raw push socket.
func NewSocket() (mangos.Socket, error) { return core.NewSocket(Self, true) }
