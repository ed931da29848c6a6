package zmtp

// Socket type names, as the Socket-Type property carries them. Debian's
// libzmq 4.3.4 is not a draft build: it knows none of CLIENT, SERVER, RADIO,
// DISH, GATHER, SCATTER, DGRAM, PEER, CHANNEL.
const (
	TypePAIR   = "PAIR"
	TypePUB    = "PUB"
	TypeSUB    = "SUB"
	TypeREQ    = "REQ"
	TypeREP    = "REP"
	TypeDEALER = "DEALER"
	TypeROUTER = "ROUTER"
	TypePULL   = "PULL"
	TypePUSH   = "PUSH"
	TypeXPUB   = "XPUB"
	TypeXSUB   = "XSUB"
)

// peers lists, for each socket type, the peer types libzmq 4.3.4 accepts.
var peers = map[string][]string{
	TypePAIR:   {TypePAIR},
	TypePUB:    {TypeSUB, TypeXSUB},
	TypeXPUB:   {TypeSUB, TypeXSUB},
	TypeSUB:    {TypePUB, TypeXPUB},
	TypeXSUB:   {TypePUB, TypeXPUB},
	TypeREQ:    {TypeREP, TypeROUTER},
	TypeREP:    {TypeREQ, TypeDEALER},
	TypeDEALER: {TypeREP, TypeDEALER, TypeROUTER},
	TypeROUTER: {TypeREQ, TypeDEALER, TypeROUTER},
	TypePUSH:   {TypePULL},
	TypePULL:   {TypePUSH},
}

// ValidSocketType reports whether t is one of the Type constants.
func ValidSocketType(t string) bool {
	_, ok := peers[t]
	return ok
}

// Compatible reports whether a socket of type ours may talk to a peer that
// announced type theirs, by the table of RFC 37 that libzmq enforces (it
// closes the connection otherwise). Names are compared exactly, as libzmq
// does; an unknown type is compatible with nothing. The relation is
// symmetric.
func Compatible(ours, theirs string) bool {
	for _, p := range peers[ours] {
		if p == theirs {
			return true
		}
	}
	return false
}

// typeNumbers are the socket types' numbers, which a ZMTP 2.0 greeting
// carries in its byte 11 (the values of libzmq's ZMQ_PAIR ... ZMQ_XSUB).
var typeNumbers = [...]string{TypePAIR, TypePUB, TypeSUB, TypeREQ, TypeREP, TypeDEALER, TypeROUTER, TypePULL, TypePUSH, TypeXPUB, TypeXSUB}

// TypeNumber returns the number a ZMTP 2.0 greeting gives socket type t;
// ok is false for a name that is not one of the Type constants.
func TypeNumber(t string) (n byte, ok bool) {
	for i, name := range typeNumbers {
		if name == t {
			return byte(i), true
		}
	}
	return 0, false
}

// TypeName returns the socket type a ZMTP 2.0 greeting's number n stands
// for; ok is false for a number no socket type has.
func TypeName(n byte) (t string, ok bool) {
	if int(n) >= len(typeNumbers) {
		return "", false
	}
	return typeNumbers[n], true
}
