// Package protocol is mangos's protocol package on mqwire: the protocol
// numbers, and the Socket type the protocol packages return. Custom
// protocols are not offered: each protocol package here makes its socket.
package protocol

import "github.com/mqwire/mqwire/compat/mangos"

// Socket is a socket of one protocol.
type Socket = mangos.Socket

// Info names a protocol and its peer.
type Info = mangos.ProtocolInfo

// The SP protocol numbers.
const (
	ProtoPair       = mangos.ProtoPair
	ProtoPair1      = mangos.ProtoPair1
	ProtoPub        = mangos.ProtoPub
	ProtoSub        = mangos.ProtoSub
	ProtoReq        = mangos.ProtoReq
	ProtoRep        = mangos.ProtoRep
	ProtoPush       = mangos.ProtoPush
	ProtoPull       = mangos.ProtoPull
	ProtoSurveyor   = mangos.ProtoSurveyor
	ProtoRespondent = mangos.ProtoRespondent
	ProtoBus        = mangos.ProtoBus
)
