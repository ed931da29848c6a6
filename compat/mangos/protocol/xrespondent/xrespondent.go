// Package xrespondent is mangos's xrespondent protocol package on mqwire: the raw socket
// of RESPONDENT, which answers a surveyor's surveys (respondent0). Raw: the application reads and writes the SP header
// (Message.Header), as devices do; it keeps no protocol state.
package xrespondent

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

// NewSocket returns a new raw respondent socket.
func NewSocket() (mangos.Socket, error) { return core.NewSocket(Self, true) }
