// Package respondent is mangos's respondent protocol package on mqwire: the socket
// of RESPONDENT, which answers a surveyor's surveys (respondent0).
package respondent

import (
	"github.com/mqwire/mqwire/compat/mangos"
	"github.com/mqwire/mqwire/compat/mangos/internal/core"
)

// The protocol's numbers and names, and its peer's.
const (
	Self     = mangos.ProtoRespondent
	Peer     = mangos.ProtoSurveyor
	SelfName = "respondent"
	PeerName = "surveyor"
)

// NewSocket returns a new respondent socket.
func NewSocket() (mangos.Socket, error) { return core.NewSocket(Self, false) }
