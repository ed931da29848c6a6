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

// Message is mangos's message, which the protocols carry.
type Message = mangos.Message

// The errors a protocol returns, mangos's values (compare them with ==).
const (
	ErrClosed      = mangos.ErrClosed
	ErrSendTimeout = mangos.ErrSendTimeout
	ErrRecvTimeout = mangos.ErrRecvTimeout
	ErrBadValue    = mangos.ErrBadValue
	ErrBadOption   = mangos.ErrBadOption
	ErrProtoOp     = mangos.ErrProtoOp
	ErrProtoState  = mangos.ErrProtoState
	ErrCanceled    = mangos.ErrCanceled
	ErrNoPeers     = mangos.ErrNoPeers
)

// The options the protocols take, by mangos's names (package mangos says
// what each is).
const (
	OptionRaw          = mangos.OptionRaw
	OptionRecvDeadline = mangos.OptionRecvDeadline
	OptionSendDeadline = mangos.OptionSendDeadline
	OptionRetryTime    = mangos.OptionRetryTime
	OptionSubscribe    = mangos.OptionSubscribe
	OptionUnsubscribe  = mangos.OptionUnsubscribe
	OptionSurveyTime   = mangos.OptionSurveyTime
	OptionWriteQLen    = mangos.OptionWriteQLen
	OptionReadQLen     = mangos.OptionReadQLen
	OptionLinger       = mangos.OptionLinger
	OptionTTL          = mangos.OptionTTL
	OptionBestEffort   = mangos.OptionBestEffort
	OptionFailNoPeers  = mangos.OptionFailNoPeers
)
