package socket

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"

	"github.com/mqwire/mqwire/wire"
	"github.com/mqwire/mqwire/wire/zmtp"
)

// Dialect is a wire protocol a dialer speaks. A listener serves both: it
// tells them apart by the peer's first byte.
type Dialect int32

// Dialects.
const (
	DialectSP   Dialect = iota // SP, as nng, nanomsg and mangos speak it (the default)
	DialectZMTP                // ZMTP 3.1, as libzmq speaks it
)

// String names the dialect ("sp", "zmtp").
func (d Dialect) String() string {
	switch d {
	case DialectSP:
		return "sp"
	case DialectZMTP:
		return "zmtp"
	}
	return fmt.Sprintf("dialect(%d)", int32(d))
}

// DialDialect sets the dialect the socket's dialers speak: SP by default,
// ZMTP for the ZeroMQ-only types (dealer, router, xpub, xsub), which speak
// nothing else. ZMTP applies to patterns that have a ZeroMQ counterpart
// (ProtocolInfo.ZMTPType): req, rep, pub, sub, push, pull, pair and the
// ZeroMQ-only types; bus, pair1 and surveyor/respondent have none.
func DialDialect(d Dialect) Option {
	return NewOption("DialDialect", func(s *Socket) error {
		switch d {
		case DialectSP:
			if s.info.Self == 0 {
				return fmt.Errorf("%w: %s speaks only ZMTP", ErrOptionNotApplicable, s.info.Name)
			}
		case DialectZMTP:
			if s.info.ZMTPType == "" {
				return fmt.Errorf("%w: %s has no ZMTP counterpart yet", ErrOptionNotApplicable, s.info.Name)
			}
		default:
			return badOption("DialDialect", d)
		}
		s.cfg.dialDialect.Store(int32(d))
		return nil
	})
}

// Identity sets the routing id a ZMTP socket announces in its handshake
// (libzmq's ZMQ_ROUTING_ID): 1 to 255 bytes, the first not zero. A ROUTER
// peer routes to this socket by it. It applies to connections made after
// the call.
func Identity(id []byte) Option {
	return NewOption("Identity", func(s *Socket) error {
		switch s.info.ZMTPType {
		case zmtp.TypeREQ, zmtp.TypeDEALER, zmtp.TypeROUTER:
		default:
			return fmt.Errorf("%w: Identity on %s", ErrOptionNotApplicable, s.info.Name)
		}
		switch {
		case len(id) == 0:
			return badOption("Identity", "empty (1 to 255 bytes)")
		case len(id) > 255:
			return badOption("Identity", fmt.Sprintf("%d bytes (1 to 255)", len(id)))
		case id[0] == 0:
			return badOption("Identity", fmt.Sprintf("%.40q: a first byte of 0 is for ids a ROUTER makes", id))
		}
		s.mu.Lock()
		s.identity = bytes.Clone(id)
		s.mu.Unlock()
		return nil
	})
}

// maxHandshakeFrame bounds a command frame during the handshake (libzmq's
// own READY is a few dozen bytes).
const maxHandshakeFrame = 64 << 10

// zmtpErr is a ZMTP protocol violation.
func zmtpErr(format string, args ...any) error {
	return &wire.ProtocolError{Dialect: "zmtp", Reason: fmt.Sprintf(format, args...)}
}

// zmtpHandshake runs the ZMTP 3.1 handshake: our greeting in two parts,
// the peer's read in the pieces libzmq sends it in, then the commands of the
// socket's security mechanism (NULL: READY both ways, RFC 37; PLAIN: RFC 24),
// which yield the peer's metadata, whose socket type is checked. A peer that
// announces ZMTP 2.0 is spoken to in it (zmtp20Handshake). first holds
// what a listener already read of the peer's greeting. It returns the
// connection the pipe is to use: c, or under CURVE c wrapped in a
// curveConn.
func (s *Socket) zmtpHandshake(p *Pipe, c net.Conn, first []byte) (net.Conn, error) {
	ours := s.info.ZMTPType
	if ours == "" {
		return nil, fmt.Errorf("%w: a ZMTP peer cannot talk to %s", ErrPeerMismatch, s.info.Name)
	}
	mech := s.mechanism()
	out := zmtp.AppendGreeting(make([]byte, 0, 128), zmtp.Greeting{Major: zmtp.Major, Minor: zmtp.Minor31, Mechanism: mech.name(), AsServer: mech.asServer()})
	// The signature and the revision go first, the rest once the peer's
	// revision says it speaks ZMTP 3.x, as libzmq does: a ZMTP 2.0 peer
	// would read the rest as its greeting's last byte and as frames.
	if _, err := c.Write(out[:zmtp.RevisionOffset+1]); err != nil {
		return nil, handshakeErr("zmtp greeting", err)
	}
	var g [zmtp.GreetingSize]byte
	n := copy(g[:], first)
	if _, err := readFull(c, g[n:zmtp.SignatureSize]); err != nil {
		return nil, handshakeErr("zmtp greeting", err)
	}
	if err := zmtp.CheckSignature(g[:zmtp.SignatureSize]); err != nil {
		return nil, err
	}
	if _, err := readFull(c, g[zmtp.SignatureSize:zmtp.RevisionOffset+1]); err != nil {
		return nil, handshakeErr("zmtp greeting", err)
	}
	if g[zmtp.RevisionOffset] == zmtp.Revision20 {
		if err := s.zmtp20Handshake(p, c, &g, mech); err != nil {
			return nil, err
		}
		return c, nil
	}
	if err := zmtp.CheckRevision(g[zmtp.RevisionOffset]); err != nil {
		return nil, err
	}
	if _, err := c.Write(out[zmtp.RevisionOffset+1:]); err != nil {
		return nil, handshakeErr("zmtp greeting", err)
	}
	if _, err := readFull(c, g[zmtp.RevisionOffset+1:]); err != nil {
		return nil, handshakeErr("zmtp greeting", err)
	}
	greeting, err := zmtp.ParseGreeting(g[:])
	if err != nil {
		return nil, err
	}
	if greeting.Mechanism != mech.name() {
		return nil, mechanismMismatch(mech.name(), greeting.Mechanism)
	}

	props := []zmtp.Property{{Name: zmtp.PropSocketType, Value: []byte(ours)}}
	if id, ok := s.announcedIdentity(); ok {
		props = append(props, zmtp.Property{Name: zmtp.PropIdentity, Value: id})
	}
	h := s.newMechConn(p, c, props, out)
	md, err := mech.handshake(h)
	if err != nil {
		return nil, err
	}
	theirs, _ := md.Get(zmtp.PropSocketType)
	if !zmtp.Compatible(ours, string(theirs)) {
		return nil, fmt.Errorf("%w: ZMTP peer is %q, %s (%s) cannot talk to it", ErrPeerMismatch, theirs, s.info.Name, ours)
	}
	p.peerName = string(theirs)
	if id, ok := md.Get(zmtp.PropIdentity); ok && len(id) > 0 {
		p.peerIdentity = bytes.Clone(id)
	}
	s.newZMTPCodec(p, greeting.IsZMTP30(), false, mech.name())
	if h.session != nil {
		under := c
		if rw := newSealedRaw(c); rw != nil {
			under = rw // writes through (sealed_through.go)
		}
		return newCurveConn(under, h.session, uint64(s.cfg.maxRecvSize.Load())), nil
	}
	return c, nil
}

// announcedIdentity returns the identity the socket announces to ZMTP peers,
// and whether its type announces one at all (REQ, DEALER and ROUTER do, as
// libzmq's do).
func (s *Socket) announcedIdentity() ([]byte, bool) {
	switch s.info.ZMTPType {
	case zmtp.TypeREQ, zmtp.TypeDEALER, zmtp.TypeROUTER:
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.identity, true
	}
	return nil, false
}

// newZMTPCodec gives the pipe its ZMTP codec, with the envelope translation
// its socket type needs. v30: the peer takes subscriptions as data messages
// (ZMTP 3.0 and 2.0); v20: the peer speaks ZMTP 2.0, which has no commands;
// mechanism is the security mechanism the handshake ran.
func (s *Socket) newZMTPCodec(p *Pipe, v30, v20 bool, mechanism string) {
	codec := &zmtpCodec{v30: v30, v20: v20, pipe: p, revision: "3.1", mechanism: mechanism}
	switch {
	case v20:
		codec.revision = "2.0"
	case v30:
		codec.revision = "3.0"
	}
	switch s.info.ZMTPType {
	case zmtp.TypeREP:
		codec.env = envelopeRep
	case zmtp.TypeREQ:
		codec.env = envelopeReq
		if rc, ok := s.proto.(RequestCorrelator); ok && rc.CorrelateRequests() {
			codec.correlate = true
		} else {
			codec.ids = make(chan uint32, maxOutstanding)
		}
	}
	p.codec = codec
	p.ctrl = make(chan []byte, 4)
}

// readCommand reads one command frame of the handshake straight from c (no
// read-ahead, so nothing of what follows is taken).
func readCommand(_ *readBuffer, c net.Conn) (name, data []byte, err error) {
	var h [zmtp.LongHeaderSize]byte
	if _, err := readFull(c, h[:zmtp.ShortHeaderSize]); err != nil {
		return nil, nil, handshakeErr("zmtp ready", err)
	}
	hn := zmtp.FrameHeaderLen(h[0])
	if _, err := readFull(c, h[zmtp.ShortHeaderSize:hn]); err != nil {
		return nil, nil, handshakeErr("zmtp ready", err)
	}
	hdr, _, err := zmtp.ParseFrameHeader(h[:hn], maxHandshakeFrame)
	if err != nil {
		return nil, nil, err
	}
	if !hdr.Command() {
		return nil, nil, zmtpErr("data frame during the handshake")
	}
	body := make([]byte, hdr.Size)
	if _, err := readFull(c, body); err != nil {
		return nil, nil, handshakeErr("zmtp ready", err)
	}
	return zmtp.ParseCommand(body)
}

// zmtpCodec frames messages as ZMTP frames: each frame of a message but the
// last carries MORE. Commands that arrive between messages are handled here:
// PING is answered with PONG through the pipe's writer, ERROR closes the
// pipe, the rest are ignored for now.
type zmtpCodec struct {
	v30   bool // the peer takes subscriptions as data messages (ZMTP 3.0, 2.0)
	v20   bool // the peer speaks ZMTP 2.0: no commands, so no heartbeats
	pipe  *Pipe
	loans LoanConn // the connection, if it carries loaned bodies
	hdr   [2 * zmtp.LongHeaderSize]byte
	// largeCuts[:largeLead] are where the frames in front of the large
	// last frame of the message startLarge began end in its body (owned
	// by the holder of the read turn).
	largeCuts [maxLargeLead]int
	largeLead int

	// Heartbeats (see heartbeat.go): seen counts frames read, peerTTL is
	// the TTL of the peer's last PING, watching says the watchdog runs.
	seen     atomic.Uint64
	peerTTL  atomic.Int64
	watching atomic.Bool
	watchdog atomic.Pointer[watchdog]

	// The envelope translation of REQ and REP (see envelope.go).
	envelopes

	// revision and mechanism are what the pipe speaks, for PipeStats
	// (last: nothing on the message path reads them).
	revision, mechanism string
}

func (*zmtpCodec) name() string { return "zmtp" }

func (*zmtpCodec) overhead(m *Message) int {
	n := zmtp.LongHeaderSize*(2+len(m.Frames)) + 16 + 2*len(m.Header) // 16: a command name
	switch m.Control {
	case ControlNone:
	case ControlSubscribeMany:
		// Each topic's 4-byte length becomes at most a frame header
		// and a command name.
		for range m.Topics() {
			n += zmtp.LongHeaderSize + 16
		}
		n += len(m.Body)
	default:
		n += len(m.Body)
	}
	for _, f := range m.Frames {
		if len(f) <= copyLimit {
			n += len(f)
		}
	}
	return n
}

func (c *zmtpCodec) setLoans(lc LoanConn) { c.loans = lc }

func (c *zmtpCodec) appendMessage(w *streamWriter, m *Message) {
	if m.Control != ControlNone {
		sub := m.Subscribes()
		for topic := range m.Topics() {
			switch {
			case c.v30: // ZMTP 3.0: a one-frame data message, 1 or 0 then the topic
				w.buf = zmtp.AppendFrameHeader(w.buf, 0, uint64(1+len(topic)))
				w.buf = zmtp.AppendSubscription(w.buf, sub, topic)
			case sub:
				w.buf = zmtp.AppendSubscribe(w.buf, topic)
			default:
				w.buf = zmtp.AppendCancel(w.buf, topic)
			}
		}
		return
	}
	c.appendEnvelope(w, m)
	flags := byte(0)
	if len(m.Frames) > 0 {
		flags = zmtp.FlagMore
	}
	w.buf = zmtp.AppendFrameHeader(w.buf, flags, uint64(len(m.Body)))
	w.appendFrame(m.Body)
	for i, f := range m.Frames {
		flags = 0
		if i < len(m.Frames)-1 {
			flags = zmtp.FlagMore
		}
		w.buf = zmtp.AppendFrameHeader(w.buf, flags, uint64(len(f)))
		w.appendFrame(f)
	}
}

// readMessage reads the frames of one message. The sum of its frames is held
// to limit, each frame checked before anything is allocated for it.
func (c *zmtpCodec) readMessage(br *readBuffer, limit uint64) (*Message, error) {
	if m, ok, err := c.readMultipart(br, limit); ok {
		return m, err
	}
	return c.readFrames(br, limit)
}

// readFrames is readMessage frame by frame: each frame after the first
// goes after the one before in the first one's buffer while it fits.
func (c *zmtpCodec) readFrames(br *readBuffer, limit uint64) (*Message, error) {
	var m *Message
	var total uint64
	frames, maxFrames := 0, frameLimit(limit)
	end := -1 // where the free end of m's pooled buffer starts, after its frames
	for {
		if _, err := io.ReadFull(br, c.hdr[:zmtp.ShortHeaderSize]); err != nil {
			if m != nil && errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			m.Free()
			return nil, err
		}
		hn := zmtp.FrameHeaderLen(c.hdr[0])
		if _, err := io.ReadFull(br, c.hdr[zmtp.ShortHeaderSize:hn]); err != nil {
			m.Free()
			return nil, unexpected(err)
		}
		c.seen.Add(1)
		left := uint64(0)
		if limit != 0 {
			left = limit - total
			if left == 0 {
				left = 1 // zero means no limit to the parser: keep the check
			}
		}
		h, _, err := zmtp.ParseFrameHeader(c.hdr[:hn], left)
		if err == nil && h.Size > maxMessageSize-total {
			err = errTooLargeForMemory(total + h.Size)
		}
		if err != nil {
			var tl *wire.TooLargeError
			if errors.As(err, &tl) && limit != 0 {
				err = &wire.TooLargeError{Size: total + h.Size, Limit: limit}
				if h.Size == 0 {
					err = &wire.TooLargeError{Size: total + tl.Size, Limit: limit}
				}
			}
			m.Free()
			return nil, err
		}
		if h.Command() {
			ctl, err := c.readCommand(br, h.Size)
			if err != nil {
				m.Free()
				return nil, err
			}
			if m == nil {
				return ctl, nil // nil when the command needs no delivery
			}
			continue
		}
		if frames++; frames > maxFrames {
			m.Free()
			return nil, zmtpErr("message of more than %d frames", maxFrames)
		}
		if m == nil {
			if m, err = readBodyOrLoan(br, int(h.Size), c.loans); err != nil {
				return nil, unexpected(err)
			}
			end = freeAfter(m, m.Body)
		} else if len(m.Body) == 0 && len(m.Frames) == 0 && !fits(m, end, int(h.Size)) {
			// An empty first frame (a REQ's delimiter) before a large one:
			// the large one becomes the pooled buffer, the empty frame an
			// empty slice of it.
			nm, err := readBodyOrLoan(br, int(h.Size), c.loans)
			if err != nil {
				m.Free()
				return nil, unexpected(err)
			}
			m.Free()
			m = nm
			f := m.Body
			end = freeAfter(m, f)
			m.Body = f[:0]
			m.Frames = append(m.inline[:0], f)
		} else {
			var f []byte
			f, end, err = readFrame(br, m, int(h.Size), end)
			if err != nil {
				m.Free()
				return nil, unexpected(err)
			}
			if m.Frames == nil {
				m.Frames = m.inline[:0]
			}
			m.Frames = append(m.Frames, f)
		}
		total += h.Size
		if !h.More() {
			if len(m.Frames) == 0 && c.publisher() {
				c.subscription(m)
			}
			if err := c.open(m); err != nil {
				m.Free()
				return nil, err
			}
			return m, nil
		}
	}
}

// frameLimit is how many frames a message may have under the byte limit
// limit (0: none). Each frame costs memory beyond its bytes (its slice,
// 24 bytes on 64-bit systems) and as little as two bytes on the wire: with
// no bound, a peer sending empty frames without end made us hold twelve
// times what it sent, whatever the limit. The frames' slices so stay
// within three quarters of the limit (1,024 frames at least; 2^20 with no
// limit).
func frameLimit(limit uint64) int {
	const floor, unlimited = 1024, 1 << 20
	if limit == 0 {
		return unlimited
	}
	return int(max(floor, min(limit/32, unlimited)))
}

// readMultipart reads a message of several frames whose frames but the
// last are buffered, with the last's header, as startLarge takes it: all
// of them in one buffer of the message's size, so that no frame needs a
// buffer of its own (which would go to the GC with the message) however
// much larger than the first the others are: a DEALER's or ROUTER's
// [id, "", body]. ok is false, with nothing read, for any other message.
func (c *zmtpCodec) readMultipart(br *readBuffer, limit uint64) (m *Message, ok bool, err error) {
	if br.Buffered() == 0 {
		br.Peek(1) // the read readMessage makes first anyway; its error is readMessage's
	}
	if b := peekBuffered(br); len(b) == 0 || b[0]&zmtp.FlagMore == 0 {
		return nil, false, nil
	}
	body, ok := c.startLarge(br, limit)
	if !ok {
		return nil, false, nil
	}
	m, err = completeLarge(c, br, &body)
	return m, true, err
}

// readFrame reads a further frame of m: into the free end of m's pooled
// buffer, from end, when it fits (a REQ's delimiter and body share one
// buffer), else into a buffer of its own; an empty frame takes nothing. It
// returns where the free end starts after the frame.
func readFrame(br *readBuffer, m *Message, size, end int) ([]byte, int, error) {
	if fits(m, end, size) {
		f := m.buf[end : end+size : end+size]
		_, err := io.ReadFull(br, f)
		return f, end + size, err
	}
	if size == 0 {
		return []byte{}, end, nil // a peer's flood of empty frames costs no buffers
	}
	// A buffer of its own: readBody's, grown as the bytes arrive when the
	// frame is large. It stays with the frame and goes to the GC with it.
	fm, err := readBody(br, size)
	if err != nil {
		return nil, end, err
	}
	return fm.Body, end, nil
}

// freeAfter returns where the free end of m's pooled buffer starts after
// last (a frame in it), or -1.
func freeAfter(m *Message, last []byte) int {
	if m.class < 0 {
		return -1
	}
	if off := bodyOffset(m.buf, last); off >= 0 {
		return off + len(last)
	}
	return -1
}

// fits reports whether size bytes fit in m's pooled buffer from end (-1:
// nothing does).
func fits(m *Message, end, size int) bool {
	return end >= 0 && len(m.buf)-end >= size
}

// publisher reports whether the pipe's socket publishes: then one-frame
// messages from the peer that start with 1 or 0 are ZMTP 3.0 subscriptions
// (libzmq's publishers take that form from any peer).
func (c *zmtpCodec) publisher() bool {
	t := c.pipe.sock.info.ZMTPType
	return t == zmtp.TypePUB || t == zmtp.TypeXPUB
}

// subscription turns a ZMTP 3.0 subscription message into a control message.
func (c *zmtpCodec) subscription(m *Message) {
	sub, topic, ok := zmtp.ParseSubscription(m.Body)
	if !ok {
		return
	}
	m.Body = topic
	m.Control = ControlCancel
	if sub {
		m.Control = ControlSubscribe
	}
}

// maxCommandFrame bounds a command after the handshake: SUBSCRIBE carries a
// topic, which can be long, but not unbounded.
const maxCommandFrame = 1 << 20

// readCommand reads and handles one command frame of size bytes after the
// handshake. It returns a control message for SUBSCRIBE and CANCEL.
func (c *zmtpCodec) readCommand(br *readBuffer, size uint64) (*Message, error) {
	if size > maxCommandFrame {
		return nil, zmtpErr("command frame of %d bytes", size)
	}
	m, err := readBody(br, int(size))
	if err != nil {
		return nil, unexpected(err)
	}
	ctl, topic, err := c.handleCommand(m.Body)
	if err != nil || ctl == ControlNone {
		m.Free()
		return nil, err
	}
	m.Control, m.Body = ctl, topic
	return m, nil
}

// handleCommand handles a command frame's body: it answers a PING, fails on
// ERROR, and returns SUBSCRIBE and CANCEL (with the topic, a part of body)
// to a publisher; other sockets ignore those, and every other command.
func (c *zmtpCodec) handleCommand(body []byte) (Control, []byte, error) {
	if c.v20 {
		return ControlNone, nil, zmtpErr("ZMTP 2.0 peer sent a command frame (flag bit 2 is reserved in ZMTP 2.0)")
	}
	name, data, err := zmtp.ParseCommand(body)
	if err != nil {
		return ControlNone, nil, err
	}
	switch string(name) {
	case zmtp.CmdSubscribe, zmtp.CmdCancel:
		if !c.publisher() {
			break // only a publisher takes subscriptions; others ignore them
		}
		if string(name) == zmtp.CmdSubscribe {
			return ControlSubscribe, data, nil
		}
		return ControlCancel, data, nil
	case zmtp.CmdPing:
		ttl, ctx, err := zmtp.ParsePing(body)
		if err != nil {
			return ControlNone, nil, err
		}
		if ttl > 0 {
			c.peerTTL.Store(int64(zmtp.PingTTLDuration(ttl)))
			c.pipe.startHeartbeat(c)
		}
		pong := emptyPong
		if len(ctx) > 0 {
			pong = zmtp.AppendPong(nil, ctx)
		}
		c.pipe.sendCommand(pong)
	case zmtp.CmdError:
		return ControlNone, nil, zmtpErr("peer sent ERROR %q", data)
	}
	return ControlNone, nil, nil
}

// emptyPong answers a PING without context, as libzmq's and ours are: one
// for every pipe, as nothing writes to it.
var emptyPong = zmtp.AppendPong(nil, nil)

func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
