package socket

import (
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/mqwire/mqwire/internal/neterr"
	"github.com/mqwire/mqwire/wire/zmtp"
)

// mechanism is a ZMTP security mechanism (RFC 23): the name it puts in the
// greeting and the command exchange that follows the greetings. One value
// serves every connection of a socket; per-connection state lives in the
// mechConn it is given.
type mechanism interface {
	// name is the mechanism's name in the greeting (zmtp.MechanismNull, ...).
	name() string
	// asServer is the greeting's as-server flag.
	asServer() bool
	// handshake runs the mechanism's commands once both greetings are
	// through: it sends h.props as our metadata and returns the peer's.
	handshake(h *mechConn) (zmtp.Metadata, error)
}

// mechConn is one connection in its security handshake.
type mechConn struct {
	s     *Socket
	p     *Pipe
	c     net.Conn
	props []zmtp.Property // our metadata: Socket-Type, Identity
	buf   []byte
	// deadline is when the handshake times out (the connection's deadline
	// is set to it); an Authenticator must answer by then.
	deadline time.Time
	// session is set by a mechanism that encrypts what follows the
	// handshake (CURVE): the pipe then talks through a curveConn.
	session *zmtp.CurveSession
}

// send writes one command frame, what names it in an I/O error.
func (h *mechConn) send(frame []byte, what string) error {
	if _, err := h.c.Write(frame); err != nil {
		return handshakeErr("zmtp "+what, err)
	}
	return nil
}

// recv reads one command, which must be want or ERROR; ERROR becomes an
// *AuthError (the peer refused us). It returns the command's whole body, for
// the zmtp.Parse function of want.
func (h *mechConn) recv(want, mech string) ([]byte, error) {
	body, err := readCommandBody(h.c)
	if err != nil {
		return nil, err
	}
	name, data, err := zmtp.ParseCommand(body)
	if err != nil {
		return nil, err
	}
	switch string(name) {
	case want:
		return body, nil
	case zmtp.CmdError:
		return nil, peerRefused(mech, data)
	}
	return nil, zmtpErr("%s command during the %s handshake, %s expected", name, mech, want)
}

// readCommandBody reads one command frame of the handshake straight from c
// (no read-ahead: what follows the handshake stays for the pipe) and returns
// its body.
func readCommandBody(c net.Conn) ([]byte, error) {
	var hb [zmtp.LongHeaderSize]byte
	if _, err := readFull(c, hb[:zmtp.ShortHeaderSize]); err != nil {
		return nil, handshakeErr("zmtp handshake", err)
	}
	hn := zmtp.FrameHeaderLen(hb[0])
	if _, err := readFull(c, hb[zmtp.ShortHeaderSize:hn]); err != nil {
		return nil, handshakeErr("zmtp handshake", err)
	}
	hdr, _, err := zmtp.ParseFrameHeader(hb[:hn], maxHandshakeFrame)
	if err != nil {
		return nil, err
	}
	if !hdr.Command() {
		return nil, zmtpErr("data frame during the handshake")
	}
	body := make([]byte, hdr.Size)
	if _, err := readFull(c, body); err != nil {
		return nil, handshakeErr("zmtp handshake", err)
	}
	return body, nil
}

// newMechConn starts the security handshake of p over c, whose deadline is
// the handshake timeout from now; buf is a buffer to reuse.
func (s *Socket) newMechConn(p *Pipe, c net.Conn, props []zmtp.Property, buf []byte) *mechConn {
	return &mechConn{s: s, p: p, c: c, props: props, buf: buf,
		deadline: time.Now().Add(time.Duration(s.cfg.handshakeTimeout.Load()))}
}

// mechanismMismatch is the error for a peer whose greeting names another
// security mechanism than ours: the two cannot talk (libzmq drops such a
// peer too).
func mechanismMismatch(ours, theirs string) error {
	return fmt.Errorf("%w: peer uses the ZMTP %s security mechanism, this socket %s", ErrPeerMismatch, theirs, ours)
}

// securityConfig is a socket's choice of mechanism; zero is NULL.
type securityConfig struct {
	mech   mechanism // nil: NULL
	domain string    // ZAP domain (ZAPDomain)
}

// mechanism returns the socket's mechanism (NULL unless an option chose
// another).
func (s *Socket) mechanism() mechanism {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.security.mech == nil {
		return nullMechanism{}
	}
	return s.security.mech
}

// secured reports whether the socket has a mechanism other than NULL.
func (s *Socket) secured() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.security.mech != nil
}

// setMechanism is the body of the options that choose a mechanism: only
// sockets that speak ZMTP take one, and the last one set wins.
func setMechanism(s *Socket, opt string, m mechanism) error {
	if s.info.ZMTPType == "" {
		return fmt.Errorf("%w: %s on %s, which does not speak ZMTP", ErrOptionNotApplicable, opt, s.info.Name)
	}
	s.mu.Lock()
	s.security.mech = m
	s.mu.Unlock()
	return nil
}

// nullMechanism is ZMTP's NULL mechanism (RFC 37): READY both ways, no
// authentication.
type nullMechanism struct{}

func (nullMechanism) name() string   { return zmtp.MechanismNull }
func (nullMechanism) asServer() bool { return false }

func (nullMechanism) handshake(h *mechConn) (zmtp.Metadata, error) {
	h.buf = zmtp.AppendReady(h.buf[:0], h.props...)
	if err := h.send(h.buf, "ready"); err != nil {
		return nil, err
	}
	name, data, err := readCommand(nil, h.c)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || neterr.ConnReset(err) {
			// libzmq reads our READY before it sends its own when both come
			// in one read, and closes without a word when it refuses our
			// socket type.
			return nil, fmt.Errorf("zmtp ready: the peer closed the connection before its READY, as libzmq does when it refuses a %s peer: %w", h.props[0].Value, err)
		}
		return nil, err
	}
	switch string(name) {
	case zmtp.CmdReady:
	case zmtp.CmdError:
		return nil, zmtpErr("peer refused the handshake: %q", data)
	default:
		return nil, zmtpErr("%s command during the handshake, READY expected", name)
	}
	return zmtp.ParseProperties(data)
}
