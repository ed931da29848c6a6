// Package errors stands in for mangos's package of the same name: mangos's
// error values, the very ones package mangos returns, so that code
// comparing an error with errors.ErrClosed (or importing the package with
// ".") works unchanged.
package errors

import "github.com/mqwire/mqwire/compat/mangos"

// The error values, as package mangos defines them.
const (
	ErrBadAddr     = mangos.ErrBadAddr
	ErrBadHeader   = mangos.ErrBadHeader
	ErrBadVersion  = mangos.ErrBadVersion
	ErrTooShort    = mangos.ErrTooShort
	ErrTooLong     = mangos.ErrTooLong
	ErrClosed      = mangos.ErrClosed
	ErrConnRefused = mangos.ErrConnRefused
	ErrSendTimeout = mangos.ErrSendTimeout
	ErrRecvTimeout = mangos.ErrRecvTimeout
	ErrProtoState  = mangos.ErrProtoState
	ErrProtoOp     = mangos.ErrProtoOp
	ErrBadTran     = mangos.ErrBadTran
	ErrBadProto    = mangos.ErrBadProto
	ErrBadOption   = mangos.ErrBadOption
	ErrBadValue    = mangos.ErrBadValue
	ErrGarbled     = mangos.ErrGarbled
	ErrAddrInUse   = mangos.ErrAddrInUse
	ErrBadProperty = mangos.ErrBadProperty
	ErrTLSNoConfig = mangos.ErrTLSNoConfig
	ErrTLSNoCert   = mangos.ErrTLSNoCert
	ErrNotRaw      = mangos.ErrNotRaw
	ErrCanceled    = mangos.ErrCanceled
	ErrNoContext   = mangos.ErrNoContext
	ErrNoPeers     = mangos.ErrNoPeers
)
