package socket

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"

	"github.com/mqwire/mqwire/internal/scratch"
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
// Credentials hold the 32-byte key; AllowCurveKeys makes one that lets in
// a set of keys). A nil auth accepts every client, as libzmq does without
// a ZAP handler: the traffic is still encrypted.
func CurveServer(secret zmtp.CurveKey, auth Authenticator) Option {
	return NewOption("CurveServer", func(s *Socket) error {
		if secret == (zmtp.CurveKey{}) {
			return badOption("CurveServer", "no secret key")
		}
		return setMechanism(s, "CurveServer", &curveServer{secret: secret, auth: auth})
	})
}

// AllowCurveKeys returns an Authenticator for CurveServer that lets in the
// clients whose long-term public key is one of keys (their user id is the
// key in Z85) and refuses every other with status 400, as libzmq's ZAP
// handlers do with a directory of allowed certificates. The set is copied.
func AllowCurveKeys(keys ...zmtp.CurveKey) Authenticator {
	allowed := make(map[zmtp.CurveKey]bool, len(keys))
	for _, k := range keys {
		allowed[k] = true
	}
	return func(_ context.Context, r ZAPRequest) ZAPReply {
		if r.Mechanism == zmtp.MechanismCurve && len(r.Credentials) == 1 && len(r.Credentials[0]) == zmtp.CurveKeySize {
			if k := zmtp.CurveKey(r.Credentials[0]); allowed[k] {
				return ZAPReply{StatusCode: ZAPOK, StatusText: "OK", UserID: k.String()}
			}
		}
		return ZAPReply{StatusCode: ZAPDenied, StatusText: "key not allowed"}
	}
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
		if reply, err = h.ask(m.auth, zmtp.MechanismCurve, key[:]); err != nil {
			return nil, err
		}
	}
	if reply.StatusCode != ZAPOK {
		h.buf = zmtp.AppendError(h.buf[:0], strconv.Itoa(refusalCode(reply)))
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
	pending    []byte // the start of a frame, in pendingBuf
	pendingBuf scratch.Buf
	sealed     scratch.Buf

	// The read half: bytes read from the connection (in[inOff:]), a
	// sealed frame too large for in (big, of which bigGot bytes are
	// read, in large's buffer), and the opened frame Read hands out. A
	// read cut short by a deadline (an application taking the read turn:
	// through.go) leaves them as they are, to go on from.
	in     []byte
	inOff  int
	big    []byte
	bigGot int
	large  scratch.Buf
	opened scratch.Buf
	out    []byte // what of the opened frame Read has to hand out
	err    error  // the read error, returned once what came before is read
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
		c.pendingBuf.Keep(c.pending)
		data = c.pending
	}
	sealed := c.sealed.Get(len(data) + len(data)/4 + zmtp.MessageOverhead + zmtp.LongHeaderSize)
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
		sealed = c.sess.AppendMessage(sealed, hdr.Flags, data[n:n+int(hdr.Size)])
		data = data[n+int(hdr.Size):]
	}
	// What is left is the start of a frame: in b (which the caller may
	// reuse), or already at the end of pendingBuf (copy moves it to the
	// front).
	if len(data) > 0 {
		c.pending = append(c.pendingBuf.Get(len(data)), data...)
	} else {
		c.pending = nil
	}
	c.sealed.Keep(sealed)
	if len(sealed) > 0 {
		if _, err := c.Conn.Write(sealed); err != nil {
			return 0, err
		}
	}
	return len(b), nil
}

// curveReadSize is how much a curveConn reads at a time: many small sealed
// frames, so that each does not cost a system call of its own.
const curveReadSize = 32 << 10

// Read returns bytes of the plaintext stream: the frames the peer's
// MESSAGEs carry. It opens as many as are already read and fit in b, and
// waits for the connection only when it has nothing to return.
func (c *curveConn) Read(b []byte) (int, error) {
	n := 0
	for {
		if len(c.out) > 0 {
			k := copy(b[n:], c.out)
			c.out = c.out[k:]
			n += k
			if n == len(b) {
				return n, nil
			}
		}
		if c.err != nil {
			if n > 0 {
				return n, nil
			}
			return 0, c.err
		}
		ok, err := c.next(n == 0)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			// Not for good: the next Read goes on where this stopped.
			if n > 0 {
				return n, nil
			}
			return 0, err
		}
		if err != nil {
			c.err = err // for this Read if it has nothing, else the next
			continue
		}
		if !ok {
			return n, nil
		}
	}
}

// next opens the next sealed frame into c.out as a ZMTP frame. Unless
// wait, it reports false when the frame is not all read yet rather than
// read the connection.
func (c *curveConn) next(wait bool) (bool, error) {
	var frame []byte
	if c.big == nil {
		if c.inOff == len(c.in) {
			c.in, c.inOff = c.in[:0], 0
		}
		if ok, err := c.have(zmtp.ShortHeaderSize, wait, false); !ok {
			return false, err
		}
		hn := zmtp.FrameHeaderLen(c.in[c.inOff])
		if ok, err := c.have(hn, wait, true); !ok {
			return false, err
		}
		hdr, _, err := zmtp.ParseFrameHeader(c.in[c.inOff:c.inOff+hn], c.limit)
		if err != nil {
			return false, err
		}
		if hdr.More() {
			return false, zmtpErr("CURVE MESSAGE frame with MORE set")
		}
		if whole := uint64(hn) + hdr.Size; whole <= curveReadSize {
			if ok, err := c.have(int(whole), wait, true); !ok {
				return false, err
			}
			frame = c.in[c.inOff+hn : c.inOff+int(whole)]
			c.inOff += int(whole)
		} else {
			// Larger than the read buffer: what is read of it, then the
			// rest straight into a buffer of its own (its size is
			// within limit).
			c.inOff += hn
			c.big = c.large.Get(int(hdr.Size))[:hdr.Size]
			c.bigGot = copy(c.big, c.in[c.inOff:])
			c.inOff += c.bigGot
		}
	}
	if c.big != nil {
		if c.bigGot < len(c.big) && !wait {
			return false, nil
		}
		for c.bigGot < len(c.big) {
			k, err := c.Conn.Read(c.big[c.bigGot:])
			c.bigGot += k
			if err != nil && c.bigGot < len(c.big) {
				return false, unexpected(err)
			}
		}
		frame, c.big = c.big, nil
	}
	out, err := c.sess.AppendOpenedFrame(c.opened.Get(zmtp.LongHeaderSize+len(frame)), frame)
	if err != nil {
		return false, err
	}
	c.out = out
	return true, nil
}

// have reports whether n bytes from c.inOff are in c.in, reading the
// connection until they are if wait (else it reports false at once);
// inside says the stream may not end there (it is inside a frame).
func (c *curveConn) have(n int, wait, inside bool) (bool, error) {
	if len(c.in)-c.inOff >= n {
		return true, nil
	}
	if !wait {
		return false, nil
	}
	if c.in == nil {
		c.in = make([]byte, 0, curveReadSize)
	}
	if c.inOff > 0 { // move the start of the frame to the front
		c.in = c.in[:copy(c.in, c.in[c.inOff:])]
		c.inOff = 0
	}
	for len(c.in) < n {
		k, err := c.Conn.Read(c.in[len(c.in):cap(c.in)])
		c.in = c.in[:len(c.in)+k]
		if len(c.in) >= n {
			return true, nil
		}
		if err != nil {
			if inside || len(c.in) > 0 {
				return false, unexpected(err)
			}
			return false, err
		}
	}
	return true, nil
}
