// Package xsurveyor is mangos's xsurveyor protocol package on mqwire: the raw socket
// of SURVEYOR, which asks every respondent and gathers answers for a while (surveyor0). Raw: the application reads and writes the SP header
// (Message.Header), as devices do; it keeps no protocol state.
package xsurveyor

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

// NewSocket returns a new raw surveyor socket.
func NewSocket() (mangos.Socket, error) { return core.NewSocket(Self, true) }
