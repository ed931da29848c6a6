package socket

import (
	"fmt"
	"net"

	"github.com/mqwire/mqwire/wire/zmtp"
)

// zmtp20Handshake finishes the handshake with a peer that announced ZMTP 2.0
// (libzmq 3.x, JeroMQ 0.3), as libzmq 4.3.4 does: the number of our socket
// type ends our greeting and the peer's ends its, then each side's first
// frame is its identity, and messages follow in ZMTP 3.0's framing, with
// subscriptions as data messages. ZMTP 2.0 has no security mechanism, no
// metadata and no commands: a socket with a mechanism refuses such a peer
// (libzmq does too), and its pipe sends no heartbeats. g holds the peer's
// greeting up to its revision byte.
func (s *Socket) zmtp20Handshake(p *Pipe, c net.Conn, g *[zmtp.GreetingSize]byte, mech mechanism) error {
	if mech.name() != zmtp.MechanismNull {
		return fmt.Errorf("%w: peer speaks ZMTP 2.0, which has no security mechanism, and this socket requires %s", ErrPeerMismatch, mech.name())
	}
	ours := s.info.ZMTPType
	num, _ := zmtp.TypeNumber(ours)
	id, _ := s.announcedIdentity()
	out := make([]byte, 0, 1+zmtp.ShortHeaderSize+len(id))
	out = append(out, num)
	out = zmtp.AppendFrame(out, 0, id)
	if _, err := c.Write(out); err != nil {
		return handshakeErr("zmtp 2.0 greeting", err)
	}
	if _, err := readFull(c, g[zmtp.RevisionOffset+1:zmtp.Greeting20Size]); err != nil {
		return handshakeErr("zmtp 2.0 greeting", err)
	}
	theirs, ok := zmtp.TypeName(g[zmtp.Greeting20Size-1])
	if !ok {
		return zmtpErr("ZMTP 2.0 peer announced socket type %d, which does not exist", g[zmtp.Greeting20Size-1])
	}
	if !zmtp.Compatible(ours, theirs) {
		return fmt.Errorf("%w: ZMTP 2.0 peer is %q, %s (%s) cannot talk to it", ErrPeerMismatch, theirs, s.info.Name, ours)
	}
	peerID, err := readIdentityFrame(c)
	if err != nil {
		return err
	}
	p.peerName = theirs
	if len(peerID) > 0 {
		p.peerIdentity = peerID
	}
	s.newZMTPCodec(p, true, true, zmtp.MechanismNull)
	return nil
}

// readIdentityFrame reads a ZMTP 2.0 peer's first frame, its identity: one
// short frame, no flags, of at most 255 bytes (an identity's limit in every
// ZMTP revision). It reads nothing past it.
func readIdentityFrame(c net.Conn) ([]byte, error) {
	var h [zmtp.ShortHeaderSize]byte
	if _, err := readFull(c, h[:]); err != nil {
		return nil, handshakeErr("zmtp 2.0 identity", err)
	}
	if h[0] != 0 {
		return nil, zmtpErr("ZMTP 2.0 peer's identity frame has flags 0x%02x, want a short frame without MORE", h[0])
	}
	id := make([]byte, h[1])
	if _, err := readFull(c, id); err != nil {
		return nil, handshakeErr("zmtp 2.0 identity", err)
	}
	return id, nil
}
