package zmtp

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/mqwire/mqwire/wire"
)

// Sizes of the parts of a ZMTP 3.x greeting.
const (
	// SignatureSize is the size of the signature (FF, padding, 7F) that opens
	// the greeting; libzmq sends it first and waits for the peer's.
	SignatureSize = 10
	// RevisionOffset is the offset of the major version byte.
	RevisionOffset = 10
	// GreetingSize is the size of a whole ZMTP 3.x greeting.
	GreetingSize = 64
	// MechanismSize is the size of the NUL-padded mechanism name field.
	MechanismSize = 20
)

// Offsets inside the greeting.
const (
	minorOffset     = 11
	mechanismOffset = 12
	asServerOffset  = mechanismOffset + MechanismSize // 32
	fillerOffset    = asServerOffset + 1              // 33
)

// Version numbers this package speaks.
const (
	// Major is the major version (revision) of ZMTP 3.x.
	Major = 3
	// Revision20 is the revision byte of a ZMTP 2.0 peer (libzmq 3.x,
	// JeroMQ 0.3). Its greeting ends after one more byte, its socket type
	// (TypeName), and its first frame in each direction is its identity.
	Revision20 = 1
	// Greeting20Size is the size of a whole ZMTP 2.0 greeting.
	Greeting20Size = 12
	// Minor30 is the minor version announced by a ZMTP 3.0 peer.
	Minor30 = 0
	// Minor31 is the minor version announced by a ZMTP 3.1 peer, and the one
	// libzmq 4.3.4 sends.
	Minor31 = 1
)

// Security mechanism names as they appear in the greeting.
const (
	MechanismNull  = "NULL"
	MechanismPlain = "PLAIN"
	MechanismCurve = "CURVE"
)

// Greeting is the content of a ZMTP 3.x greeting.
type Greeting struct {
	// Major is the protocol revision: 3 for ZMTP 3.x. Peers that announce a
	// higher revision are spoken to as ZMTP 3.1 (libzmq does the same).
	Major uint8
	// Minor is 0 for ZMTP 3.0 and 1 for ZMTP 3.1.
	Minor uint8
	// Mechanism is the security mechanism: MechanismNull, MechanismPlain or
	// MechanismCurve.
	Mechanism string
	// AsServer is the as-server flag. libzmq always sends false and never
	// reads it; the roles come from each side's own configuration.
	AsServer bool
	// Padding is the 8 bytes between FF and 7F, as a big-endian number. They
	// are not significant. libzmq writes the length of its routing id + 1
	// there (a ZMTP 1.0 peer reads it as the length of an identity frame);
	// zero is as good.
	Padding uint64
}

// IsZMTP30 reports whether the greeting comes from a ZMTP 3.0 peer (revision
// 3, minor 0). Such a peer takes subscriptions as data messages (01 + topic /
// 00 + topic) instead of SUBSCRIBE / CANCEL commands and knows no PING.
func (g Greeting) IsZMTP30() bool { return g.Major == Major && g.Minor == Minor30 }

// AppendGreeting appends the 64-byte greeting g. A mechanism name longer
// than MechanismSize bytes is a programming error and panics.
func AppendGreeting(b []byte, g Greeting) []byte {
	if len(g.Mechanism) > MechanismSize {
		panic(fmt.Sprintf("zmtp: mechanism name %q longer than %d bytes", g.Mechanism, MechanismSize))
	}
	b = append(b, 0xFF)
	b = binary.BigEndian.AppendUint64(b, g.Padding)
	b = append(b, 0x7F, g.Major, g.Minor)
	b = append(b, g.Mechanism...)
	b = append(b, make([]byte, MechanismSize-len(g.Mechanism))...)
	var asServer byte
	if g.AsServer {
		asServer = 1
	}
	b = append(b, asServer)
	return append(b, make([]byte, GreetingSize-fillerOffset)...)
}

// CheckSignature checks the first SignatureSize bytes a peer sent. It can be
// called as soon as those bytes are in, before the rest of the greeting
// (libzmq sends no more until it has our signature). A peer speaking SP,
// HTTP, TLS or ZMTP 1.0 gets a *wire.ProtocolError saying so.
func CheckSignature(b []byte) error {
	if len(b) < SignatureSize {
		if IsSPHeader(b) {
			return protoErr("peer speaks SP (nanomsg / nng), not ZMTP")
		}
		return protoErr("short greeting signature (%d bytes)", len(b))
	}
	b = b[:SignatureSize]
	if b[0] != 0xFF {
		if other := guessProtocol(b); other != "" {
			return protoErr("peer speaks %s, not ZMTP", other)
		}
		// A ZMTP 1.0 peer opens with the 1-byte length of its identity frame.
		return protoErr("bad greeting signature % x (ZMTP 1.0 or not ZMTP)", b)
	}
	if b[9]&0x01 == 0 {
		// A ZMTP 1.0 peer with an identity of 254 bytes or more opens with FF,
		// a u64 length and a flags byte whose bit 0 is clear: libzmq tells the
		// two apart by that bit.
		return protoErr("peer speaks ZMTP 1.0 (unversioned), need ZMTP 3.x")
	}
	if b[9] != 0x7F {
		return protoErr("bad greeting signature % x", b)
	}
	return nil
}

// CheckRevision checks the major version (greeting byte 10), which libzmq
// sends on its own once it has the peer's signature. A revision below 3 is a
// *wire.ProtocolError naming the old protocol: 0 is ZMTP 1.0 with a revision
// byte, 1 is ZMTP 2.0 (libzmq 3.x), 2 was never released. (mqwire's sockets
// speak ZMTP 2.0 to a peer that announces it, before they get here.)
func CheckRevision(major byte) error {
	switch major {
	case 0:
		return protoErr("peer speaks ZMTP 1.0 (revision 0), need ZMTP 3.x")
	case 1:
		return protoErr("peer speaks ZMTP 2.0 (revision 1), need ZMTP 3.x")
	case 2:
		return protoErr("peer speaks ZMTP revision 2, need ZMTP 3.x")
	}
	return nil
}

// ParseGreeting parses a whole 64-byte greeting. It checks the signature and
// the revision, and requires a known mechanism name (NULL, PLAIN or CURVE),
// NUL padded with nothing but NULs after it. The padding, the as-server byte
// and the filler are not validated, as libzmq does not validate them.
func ParseGreeting(b []byte) (Greeting, error) {
	// Judge what is there first: a short greeting from a peer that speaks
	// another protocol should say which.
	if len(b) >= SignatureSize || IsSPHeader(b) {
		if err := CheckSignature(b); err != nil {
			return Greeting{}, err
		}
	}
	if len(b) > RevisionOffset {
		if err := CheckRevision(b[RevisionOffset]); err != nil {
			return Greeting{}, err
		}
	}
	if len(b) < GreetingSize {
		return Greeting{}, protoErr("short greeting (%d bytes)", len(b))
	}
	mech, err := parseMechanism(b[mechanismOffset:asServerOffset])
	if err != nil {
		return Greeting{}, err
	}
	return Greeting{
		Major:     b[RevisionOffset],
		Minor:     b[minorOffset],
		Mechanism: mech,
		AsServer:  b[asServerOffset] != 0,
		Padding:   binary.BigEndian.Uint64(b[1:9]),
	}, nil
}

// parseMechanism reads the NUL-padded mechanism field and returns one of the
// Mechanism constants (so that nothing is allocated).
func parseMechanism(f []byte) (string, error) {
	name := f
	if i := bytes.IndexByte(f, 0); i >= 0 {
		name = f[:i]
		for _, c := range f[i:] {
			if c != 0 {
				return "", protoErr("mechanism field %q has bytes after the NUL padding", f)
			}
		}
	}
	switch string(name) {
	case MechanismNull:
		return MechanismNull, nil
	case MechanismPlain:
		return MechanismPlain, nil
	case MechanismCurve:
		return MechanismCurve, nil
	case "":
		return "", protoErr("empty mechanism name")
	}
	return "", protoErr("unknown mechanism %q", name)
}

// IsSPHeader reports whether b starts with the 4 bytes that open an SP
// connection header (00 'S' 'P' 00): the peer speaks SP (nng, nanomsg,
// mangos), not ZMTP. It needs at least 4 bytes; a listener serving both
// dialects can tell them apart by the first byte alone (FF for ZMTP, 00 for
// SP).
func IsSPHeader(b []byte) bool {
	return len(b) >= 4 && b[0] == 0 && b[1] == 'S' && b[2] == 'P' && b[3] == 0
}

// guessProtocol names the protocol a non-ZMTP opening probably belongs to.
func guessProtocol(b []byte) string {
	switch {
	case IsSPHeader(b):
		return "SP (nanomsg / nng)"
	case len(b) >= 4 && (string(b[:4]) == "GET " || string(b[:4]) == "POST" || string(b[:4]) == "HTTP"):
		return "HTTP"
	case len(b) >= 2 && b[0] == 0x16 && b[1] == 0x03:
		return "TLS"
	}
	return ""
}

func protoErr(format string, args ...any) error {
	return &wire.ProtocolError{Dialect: "zmtp", Reason: fmt.Sprintf(format, args...)}
}
