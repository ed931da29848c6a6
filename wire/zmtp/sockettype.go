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
