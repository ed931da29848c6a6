package socket

import (
	"bytes"
	"fmt"
	"net"
	"strconv"

	"github.com/mqwire/mqwire/wire/zmtp"
)

// CurveClient makes a ZMTP socket connect with the CURVE mechanism (RFC 26,
// libzmq's ZMQ_CURVE_SERVERKEY, ZMQ_CURVE_PUBLICKEY and ZMQ_CURVE_SECRETKEY):
// it talks only to a server that holds the secret key of server, proves
// that it holds the secret key of public, and every frame after the
// handshake is encrypted. Keys come from zmtp.NewCurveKeyPair, or from
// libzmq's tools in Z85 through zmtp.ParseCurveKey. It replaces any
// mechanism set before and applies to connections made after the call (a
// socket with a mechanism refuses SP peers).
func CurveClient(server, public, secret zmtp.CurveKey) Option {
	return NewOption("CurveClient", func(s *Socket) error {
		if p, err := zmtp.CurvePublicKey(secret); err != nil || p != public {
			return badOption("CurveClient", "the public key is not the secret key's")
		}
		if server == (zmtp.CurveKey{}) {
			return badOption("CurveClient", "no server key")
		}
		return setMechanism(s, "CurveClient", &curveClient{server: server, public: public, secret: secret})
	})
}

// CurveServer makes a ZMTP socket the CURVE server of its connections
// (whether it dialed or listened, as in libzmq's ZMQ_CURVE_SERVER): clients
// must know its public key, the one of secret, and each proves its own
// long-term public key, which auth accepts or refuses (the ZAPRequest's
// Credentials hold the 32-byte key). A nil auth accepts every client, as
// libzmq does without a ZAP handler: the traffic is still encrypted.
func CurveServer(secret zmtp.CurveKey, auth Authenticator) Option {
	return NewOption("CurveServer", func(s *Socket) error {
		if secret == (zmtp.CurveKey{}) {
			return badOption("CurveServer", "no secret key")
		}
		return setMechanism(s, "CurveServer", &curveServer{secret: secret, auth: auth})
	})
}

// curveClient is the client side of CURVE: HELLO, WELCOME, INITIATE, READY.
type curveClient struct{ server, public, secret zmtp.CurveKey }

func (*curveClient) name() string   { return zmtp.MechanismCurve }
func (*curveClient) asServer() bool { return false }

func (m *curveClient) handshake(h *mechConn) (zmtp.Metadata, error) {
	c, err := zmtp.NewCurveClient(m.server, m.public, m.secret)
	if err != nil {
		return nil, err
	}
	if err := h.send(c.AppendHello(h.buf[:0]), "hello"); err != nil {
		return nil, err
	}
	body, err := h.recv(zmtp.CmdWelcome, zmtp.MechanismCurve)
	if err != nil {
		return nil, err
	}
	if err := c.ParseWelcome(body); err != nil {
		return nil, err
	}
	if h.buf, err = c.AppendInitiate(h.buf[:0], h.props...); err != nil {
		return nil, err
	}
	if err := h.send(h.buf, "initiate"); err != nil {
		return nil, err
	}
	if body, err = h.recv(zmtp.CmdReady, zmtp.MechanismCurve); err != nil {
		return nil, err
	}
	md, err := c.ParseReady(body)
	if err != nil {
		return nil, err
	}
	if h.session, err = c.Session(); err != nil {
		return nil, err
	}
	return md, nil
}

// curveServer is the server side of CURVE: it takes HELLO, answers
// WELCOME, takes INITIATE with the client's key, asks the Authenticator,
// and answers READY or ERROR.
type curveServer struct {
	secret zmtp.CurveKey
	auth   Authenticator
}

func (*curveServer) name() string   { return zmtp.MechanismCurve }
func (*curveServer) asServer() bool { return true }

func (m *curveServer) handshake(h *mechConn) (zmtp.Metadata, error) {
	sv, err := zmtp.NewCurveServer(m.secret)
	if err != nil {
		return nil, err
	}
	body, err := h.recv(zmtp.CmdHello, zmtp.MechanismCurve)
	if err != nil {
		return nil, err
	}
	if err := sv.ParseHello(body); err != nil {
		return nil, err
	}
	if h.buf, err = sv.AppendWelcome(h.buf[:0]); err != nil {
		return nil, err
	}
	if err := h.send(h.buf, "welcome"); err != nil {
		return nil, err
	}
	if body, err = h.recv(zmtp.CmdInitiate, zmtp.MechanismCurve); err != nil {
		return nil, err
	}
	key, md, err := sv.ParseInitiate(body)
	if err != nil {
		return nil, err
	}
	reply := ZAPReply{StatusCode: ZAPOK}
	if m.auth != nil {
		h.s.mu.Lock()
		req := ZAPRequest{
			Domain:      h.s.security.domain,
			Address:     h.p.remote,
			Identity:    bytes.Clone(h.s.identity),
			Mechanism:   zmtp.MechanismCurve,
			Credentials: [][]byte{bytes.Clone(key[:])},
		}
		h.s.mu.Unlock()
		if reply, err = h.s.authenticate(m.auth, req, h.deadline); err != nil {
			return nil, err
		}
	}
	if reply.StatusCode != ZAPOK {
		code := reply.StatusCode
		if code < 100 || code > 999 {
			code = ZAPInternal
		}
		h.buf = zmtp.AppendError(h.buf[:0], strconv.Itoa(code))
		h.send(h.buf, "error") // the peer may be gone already; we refuse it either way
		return nil, &AuthError{Mechanism: zmtp.MechanismCurve, StatusCode: reply.StatusCode, Reason: reply.StatusText}
	}
	if h.buf, err = sv.AppendReady(h.buf[:0], h.props...); err != nil {
		return nil, err
	}
	if err := h.send(h.buf, "ready"); err != nil {
		return nil, err
	}
	if h.session, err = sv.Session(); err != nil {
		return nil, err
	}
	if m.auth != nil {
		h.p.zap = &reply
	}
	return md, nil
}

// curveConn is a connection after a CURVE handshake. Every ZMTP frame the
// pipe writes goes out sealed in a MESSAGE, and every MESSAGE read is opened
// back into the frame it carries, so the pipe's codec, heartbeats and
// envelopes work on plain ZMTP as on any connection. Writes (one writer at
// a time: the pipe's write turn) and reads (the pipe's reader) use separate
// halves of the session.
type curveConn struct {
	net.Conn
	sess  *zmtp.CurveSession
	limit uint64 // the largest sealed frame read: MaxRecvSize and the overheads

	// The write half: plaintext of a frame not yet whole, and the sealed
	// frames of one Write.
	pending []byte
	sealed  []byte

	// The read half: a sealed frame's bytes, and the opened frame, which
	// Read hands out.
	frame  []byte
	opened []byte
	off    int
}

// newCurveConn wraps c, whose handshake gave sess; limit is the largest
// plaintext frame the socket accepts (0: any that fits in memory).
func newCurveConn(c net.Conn, sess *zmtp.CurveSession, limit uint64) *curveConn {
	if limit == 0 || limit > maxMessageSize {
		limit = maxMessageSize
	}
	return &curveConn{Conn: c, sess: sess, limit: limit + zmtp.MessageOverhead + zmtp.LongHeaderSize}
}

// Write seals each whole frame of b (with what earlier writes left of a
// frame) and writes them; the start of a frame not yet whole waits for the
// next Write.
func (c *curveConn) Write(b []byte) (int, error) {
	data := b
	if len(c.pending) > 0 {
		c.pending = append(c.pending, b...)
		data = c.pending
	}
	c.sealed = c.sealed[:0]
	for {
		if len(data) < zmtp.ShortHeaderSize || len(data) < zmtp.FrameHeaderLen(data[0]) {
			break
		}
		hdr, n, err := zmtp.ParseFrameHeader(data, 0)
		if err != nil {
			return 0, fmt.Errorf("curve: our own stream: %w", err) // a bug of ours, not the peer's
		}
		if uint64(len(data)-n) < hdr.Size {
			break
		}
		var flags byte
		if hdr.More() {
			flags |= zmtp.CurveMore
		}
		if hdr.Command() {
			flags |= zmtp.CurveCommand
		}
		c.sealed = c.sess.AppendMessage(c.sealed, flags, data[n:n+int(hdr.Size)])
		data = data[n+int(hdr.Size):]
	}
	c.pending = append(c.pending[:0], data...)
	if len(c.sealed) > 0 {
		if _, err := c.Conn.Write(c.sealed); err != nil {
			return 0, err
		}
	}
	c.sealed = keepSmall(c.sealed)
	c.pending = keepSmall(c.pending)
	return len(b), nil
}

// Read returns bytes of the plaintext stream: the frames the peer's
// MESSAGEs carry, each opened when the one before is all read.
func (c *curveConn) Read(b []byte) (int, error) {
	if c.off == len(c.opened) {
		if err := c.next(); err != nil {
			return 0, err
		}
	}
	n := copy(b, c.opened[c.off:])
	c.off += n
	return n, nil
}

// next reads one sealed frame and opens it into c.opened as a ZMTP frame.
func (c *curveConn) next() error {
	var hb [zmtp.LongHeaderSize]byte
	if _, err := readFull(c.Conn, hb[:zmtp.ShortHeaderSize]); err != nil {
		return err
	}
	hn := zmtp.FrameHeaderLen(hb[0])
	if _, err := readFull(c.Conn, hb[zmtp.ShortHeaderSize:hn]); err != nil {
		return unexpected(err)
	}
	hdr, _, err := zmtp.ParseFrameHeader(hb[:hn], c.limit)
	if err != nil {
		return err
	}
	if hdr.More() {
		return zmtpErr("CURVE MESSAGE frame with MORE set")
	}
	c.frame = keepSmall(c.frame)
	if uint64(cap(c.frame)) < hdr.Size {
		c.frame = make([]byte, hdr.Size)
	}
	c.frame = c.frame[:hdr.Size]
	if _, err := readFull(c.Conn, c.frame); err != nil {
		return unexpected(err)
	}
	flags, data, err := c.sess.OpenMessage(c.frame)
	if err != nil {
		return err
	}
	var f byte
	if flags&zmtp.CurveMore != 0 {
		f |= zmtp.FlagMore
	}
	if flags&zmtp.CurveCommand != 0 {
		f |= zmtp.FlagCommand
	}
	c.opened = zmtp.AppendFrameHeader(keepSmall(c.opened)[:0], f, uint64(len(data)))
	c.opened = append(c.opened, data...)
	c.off = 0
	return nil
}

// keepSmall lets a buffer grown for a large frame go, so that a connection
// does not hold a large message's worth for good.
func keepSmall(b []byte) []byte {
	if cap(b) > 64<<10 {
		return nil
	}
	return b
}
