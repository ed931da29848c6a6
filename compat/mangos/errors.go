package mangos

// mangosError is an error of this package: a constant, so that code can
// compare it with == as mangos code does.
type mangosError string

func (e mangosError) Error() string { return "mangos: " + string(e) }

// The errors mangos returns, as values to compare with == (or errors.Is).
const (
	ErrBadAddr     = mangosError("invalid address")
	ErrBadHeader   = mangosError("invalid header received")
	ErrBadVersion  = mangosError("invalid protocol version")
	ErrTooShort    = mangosError("message is too short")
	ErrTooLong     = mangosError("message is too long")
	ErrClosed      = mangosError("object closed")
	ErrConnRefused = mangosError("connection refused")
	ErrSendTimeout = mangosError("send timed out")
	ErrRecvTimeout = mangosError("receive timed out")
	ErrProtoState  = mangosError("operation not valid in this protocol state")
	ErrProtoOp     = mangosError("operation not supported by this protocol")
	ErrBadTran     = mangosError("unknown transport")
	ErrBadProto    = mangosError("protocols do not match")
	ErrBadOption   = mangosError("option not supported")
	ErrBadValue    = mangosError("invalid option value")
	ErrGarbled     = mangosError("message garbled")
	ErrAddrInUse   = mangosError("address in use")
	ErrBadProperty = mangosError("invalid property name")
	ErrTLSNoConfig = mangosError("missing TLS configuration")
	ErrTLSNoCert   = mangosError("missing TLS certificates")
	ErrNotRaw      = mangosError("socket is not in raw mode")
	ErrCanceled    = mangosError("operation canceled")
	ErrNoContext   = mangosError("protocol does not support contexts")
	ErrNoPeers     = mangosError("no connected peers")
)
