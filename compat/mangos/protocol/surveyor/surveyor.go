// Package surveyor is mangos's surveyor protocol package on mqwire: the socket
// of SURVEYOR, which asks every respondent and gathers answers for a while (surveyor0).
package surveyor

import (
	"github.com/mqwire/mqwire/compat/mangos"
	"github.com/mqwire/mqwire/compat/mangos/internal/core"
)

// The protocol's numbers and names, and its peer's.
const (
	Self     = mangos.ProtoSurveyor
	Peer     = mangos.ProtoRespondent
	SelfName = "surveyor"
	PeerName = "respondent"
)

// NewSocket returns a new surveyor socket.
func NewSocket() (mangos.Socket, error) { return core.NewSocket(Self, false) }
