package ws

import (
	"bufio"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/textproto"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mqwire/mqwire/socket"
	"github.com/mqwire/mqwire/wire"
	"github.com/mqwire/mqwire/wire/sp"
	wws "github.com/mqwire/mqwire/wire/ws"
	"github.com/mqwire/mqwire/wire/zmtp"
)

// maxFrame is the largest frame we send: longer messages go in fragments,
// so that peers with a per-frame limit take them.
const maxFrame = 64 << 10

// maxRoutingID is the longest routing id ZMTP carries.
const maxRoutingID = 255

// conn shows the socket a dialect's byte stream over a WebSocket
// connection that carries one binary WebSocket message each: SP's tcp
// stream (a connection header, then each message's 8-byte length and
// bytes) for SP messages, or ZMTP's (a greeting, then frames) for ZWS 2.0,
// whose messages are a ZMTP frame each behind a flags byte. The opening
// handshake (Frame) takes the place of SP's header or ZMTP's greeting.
type conn struct {
	net.Conn // the tcp (or TLS) connection under the WebSocket
	server   bool
	host     string // the dialer's Host header
	path     string // the dialer's request path; the path a listener serves
	br       *bufio.Reader

	req   socket.FrameRequest // the socket's, from Frame
	limit func() uint64       // the socket's receive limit, 0 for none
	zmtp  bool                // the connection carries ZWS 2.0 (ZMTP), not SP
	bare  bool                // ZWS 2.0 without greeting or mechanism: routing ids instead

	routed *routedRequest // a listener's request, its head read already (share.go)

	hsMu   sync.Mutex // held through the opening handshake
	hsDone bool
	hsErr  error
	hsUp   atomic.Bool // the handshake succeeded

	// Read side (the socket has one reader at a time).
	pend   []byte // bytes to hand out before the next frame
	pendAt []byte // pend's storage
	left   uint64 // payload bytes of the current whole-frame message to pass through
	masked bool
	key    [4]byte
	pos    uint64    // offset into the current frame's payload, for unmasking
	frag   []byte    // a fragmented message being reassembled
	inFrag bool      // frag holds the start of a message
	needID bool      // bare ZWS: the peer's routing id is still to come
	ctl    [125]byte // a control frame's payload

	// Write side.
	wmu       sync.Mutex
	hdr       [zmtp.GreetingSize]byte // the socket's SP header or ZMTP greeting, swallowed
	hdrN      int
	lenBuf    [zmtp.LongHeaderSize]byte // an SP message's length, or a ZMTP frame's header, as it comes
	lenN      int
	wleft     uint64 // bytes of the current message still to come
	wfirst    bool   // the next frame is the current message's first
	wflags    []byte // the ZWS flags byte in front of the current frame's body (ZMTP)
	zwsFlag   [1]byte
	out       []byte // frames to write
	closeSent bool
	ownReady  []byte     // bare ZWS: the socket's READY, collected to send its routing id instead
	wantReady bool       // bare ZWS: the socket's READY is still to come
	inReady   bool       // the frame being written is the READY being collected
	pongMu    sync.Mutex // guards pong: a ping's payload the reader left to the writer
	pong      []byte
	pongDue   atomic.Bool   // pong is to be sent
	pingDue   atomic.Bool   // a ping (the socket's heartbeat) is to be sent
	heard     atomic.Uint64 // pings and pongs received
	keys      *rand.ChaCha8 // mask keys (a client's), unpredictable as RFC 6455 asks
}

// newConn is a connection whose reads go through br (a new one if nil).
func newConn(c net.Conn, server bool, host, path string, br *bufio.Reader) *conn {
	if br == nil {
		// A small read buffer: a message's bytes bypass it, read straight
		// into the socket's buffer.
		br = bufio.NewReaderSize(c, 4<<10)
	}
	return &conn{Conn: c, server: server, host: host, path: path, br: br,
		pendAt: make([]byte, 0, zmtp.GreetingSize)}
}

// newRoutedConn is a listener's connection whose request head the shared
// server has read (r.br holds what followed it).
func newRoutedConn(c net.Conn, r routedRequest, path string) *conn {
	wc := newConn(c, true, "", path, r.br)
	wc.routed = &r
	return wc
}

// Frame implements socket.MessageFramer: it runs the opening handshake.
func (c *conn) Frame(req socket.FrameRequest) (bool, error) {
	c.req, c.limit = req, req.RecvLimit
	c.hsMu.Lock()
	defer c.hsMu.Unlock()
	c.hsDone = true
	c.hsErr = c.runHandshake()
	c.hsUp.Store(c.hsErr == nil)
	return c.zmtp, c.hsErr
}

// handshake reports how the opening handshake went; a Read or Write
// before Frame fails.
func (c *conn) handshake() error {
	if c.hsUp.Load() {
		return nil // every Read and Write after the handshake
	}
	c.hsMu.Lock()
	defer c.hsMu.Unlock()
	if !c.hsDone {
		return errors.New("ws: connection used before its opening handshake")
	}
	return c.hsErr
}

func (c *conn) runHandshake() error {
	if c.server {
		var start string
		var h textproto.MIMEHeader
		var err error
		if c.routed != nil {
			start, h, err = c.routed.start, c.routed.h, c.routed.err
		} else {
			start, h, err = readHead(c.br, nil)
		}
		if err != nil {
			return err
		}
		resp, zmtp, bare, refused := answer(start, h, c.path, c.req)
		if _, err := c.Conn.Write(resp); err != nil {
			return err
		}
		if refused != nil {
			return refused
		}
		c.zmtp, c.bare = zmtp, bare
	} else {
		key, protocol := newKey(), offer(c.req)
		if _, err := c.Conn.Write(request(c.host, c.path, key, protocol)); err != nil {
			return err
		}
		_, h, err := readHead(c.br, func(start string) error { return checkStatus(start, protocol) })
		if err != nil {
			return err
		}
		if err := checkResponse(h, key); err != nil {
			return err
		}
		if c.zmtp, c.bare, err = taken(h.Get("Sec-WebSocket-Protocol"), protocol, c.req); err != nil {
			return err
		}
	}
	// The handshake said the peer's protocol: show the socket the header
	// or greeting the peer would have sent.
	if c.zmtp {
		// As a ZMTP 3.0 peer's: libzmq's ZWS carries subscriptions as
		// messages (01 and the topic), as ZMTP 3.0 does, not as 3.1's
		// SUBSCRIBE commands, and drops ZMTP PINGs (heartbeats over ws
		// are WebSocket pings: Ping, Heard).
		c.pendAt = zmtp.AppendGreeting(c.pendAt[:0], zmtp.Greeting{Major: zmtp.Major, Minor: zmtp.Minor30, Mechanism: c.req.Mechanism})
		// Bare ZWS has no greeting or READY: the peer's first message is
		// its routing id, from which its READY is made (peerID), and the
		// socket's READY becomes our routing id message (Write).
		c.needID, c.wantReady = c.bare, c.bare
	} else {
		c.pendAt = sp.AppendHeader(c.pendAt[:0], c.req.SPPeer)
	}
	c.pend = c.pendAt
	return nil
}

// Read implements net.Conn: it hands out SP's tcp stream, as much of it as
// p takes and the connection has buffered, so that one Read carries many
// small messages; it waits for the connection only while it has nothing.
func (c *conn) Read(p []byte) (int, error) {
	if err := c.handshake(); err != nil {
		return 0, err
	}
	n := 0
	for n < len(p) {
		if len(c.pend) > 0 {
			k := copy(p[n:], c.pend)
			c.pend = c.pend[k:]
			n += k
			continue
		}
		if c.left > 0 {
			if n > 0 && c.br.Buffered() == 0 {
				break
			}
			k, err := c.br.Read(p[n : n+int(min(uint64(len(p)-n), c.left))])
			if c.masked {
				wws.Mask(c.key, c.pos, p[n:n+k])
			}
			c.pos += uint64(k)
			c.left -= uint64(k)
			n += k
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			if err != nil {
				return n, err
			}
			continue
		}
		if n > 0 && (c.needID || !c.wholeFrameBuffered()) {
			break
		}
		if err := c.readFrame(); err != nil {
			c.closeFor(err)
			return n, err
		}
	}
	return n, nil
}

// ReadLazy implements socket.LazyReader, so that the pipe's reader holds no
// read buffer while the connection is idle: it lets the buffer go before
// it waits for the peer's next frame.
func (c *conn) ReadLazy(lb socket.LazyBuffer) (int, error) {
	if err := c.handshake(); err != nil {
		return 0, err
	}
	if len(c.pend) == 0 && c.br.Buffered() == 0 {
		lb.Idle()
		c.br.Peek(1) // waits; an error comes again from Read
	}
	return c.Read(lb.Space())
}

// wholeFrameBuffered reports whether the next frame is a whole data message
// whose header is buffered: readFrame then takes it without waiting.
func (c *conn) wholeFrameBuffered() bool {
	b, _ := c.br.Peek(min(c.br.Buffered(), wws.MaxHeaderSize))
	if len(b) < 2 || b[0]&0x80 == 0 || (wws.Opcode(b[0]&0x0F) != wws.OpBinary && wws.Opcode(b[0]&0x0F) != wws.OpText) {
		return false
	}
	_, hn, err := wws.ParseHeader(b, 0)
	// Over ZWS the message's flags byte must be there too.
	return err == nil && hn > 0 && (!c.zmtp || c.br.Buffered() > hn)
}

// readFrame reads the next frame's header and acts on it: a whole message
// starts passing through, a fragment is added to frag, a control frame is
// answered.
func (c *conn) readFrame() error {
	if cap(c.pendAt) > maxFrame && !c.inFrag {
		// A large reassembled message has been handed out: an idle
		// connection keeps no large buffer.
		c.pendAt, c.frag = make([]byte, 0, zmtp.GreetingSize), nil
	}
	b, err := c.br.Peek(2)
	if err != nil {
		if len(b) > 0 && err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	size := 2
	switch b[1] & 0x7F {
	case 126:
		size += 2
	case 127:
		size += 8
	}
	if b[1]&0x80 != 0 {
		size += 4
	}
	if b, err = c.br.Peek(size); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	limit := c.limit()
	h, n, err := wws.ParseHeader(b, limit)
	if err != nil {
		return err
	}
	c.br.Discard(n)
	if h.Masked != c.server {
		if c.server {
			return frameErr("unmasked frame from a client")
		}
		return frameErr("masked frame from a server")
	}
	c.masked, c.key, c.pos = h.Masked, h.Key, 0
	switch h.Op {
	case wws.OpPing, wws.OpPong, wws.OpClose:
		return c.control(h)
	case wws.OpText, wws.OpBinary:
		if c.inFrag {
			return frameErr("a new message inside a fragmented one")
		}
		if h.Fin && c.zmtp && !c.needID {
			return c.startZMTPFrame(h.Len)
		}
		if h.Fin && !c.zmtp {
			c.pend = binary.BigEndian.AppendUint64(c.pendAt[:0], h.Len)
			c.left = h.Len
			return nil
		}
		c.inFrag, c.frag = true, c.frag[:0]
	case wws.OpContinuation:
		if !c.inFrag {
			return frameErr("a continuation frame outside a fragmented message")
		}
	}
	if total := uint64(len(c.frag)) + h.Len; limit > 0 && total > limit {
		return &wire.TooLargeError{Size: total, Limit: limit}
	} else if c.needID && total > 1+maxRoutingID {
		return frameErr("a routing id message of %d bytes", total)
	}
	if err := c.readFragment(h.Len); err != nil {
		return err
	}
	if !h.Fin {
		return nil
	}
	c.inFrag = false
	body := c.frag
	if c.zmtp {
		if len(body) == 0 {
			return frameErr("a ZWS message without its flags byte")
		}
		if c.needID {
			return c.peerID(body)
		}
		var err error
		if c.pendAt, err = zmtpHeader(c.pendAt[:0], body[0], uint64(len(body)-1)); err != nil {
			return err
		}
		body = body[1:]
	} else {
		c.pendAt = binary.BigEndian.AppendUint64(c.pendAt[:0], uint64(len(body)))
	}
	c.pendAt = append(c.pendAt, body...)
	c.pend = c.pendAt
	return nil
}

// startZMTPFrame starts passing through a whole ZWS message of n bytes: it
// reads its flags byte and shows the socket the ZMTP frame header it
// stands for.
func (c *conn) startZMTPFrame(n uint64) error {
	if n == 0 {
		return frameErr("a ZWS message without its flags byte")
	}
	flags, err := c.br.ReadByte()
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return err
	}
	if c.masked {
		flags ^= c.key[0]
	}
	if c.pend, err = zmtpHeader(c.pendAt[:0], flags, n-1); err != nil {
		return err
	}
	c.pos, c.left = 1, n-1
	return nil
}

// peerID takes a bare ZWS peer's first message, its routing id, and shows
// the socket the READY command a ZMTP peer would have sent: the id as its
// Identity, and for its Socket-Type (which bare ZWS does not tell) one
// that the socket's type takes.
func (c *conn) peerID(body []byte) error {
	if body[0] != 0 {
		return frameErr("a routing id message with ZWS flags %#02x", body[0])
	}
	c.needID = false
	props := []zmtp.Property{{Name: zmtp.PropSocketType, Value: []byte(bareType(c.req.ZMTPType))}}
	if len(body) > 1 {
		props = append(props, zmtp.Property{Name: zmtp.PropIdentity, Value: body[1:]})
	}
	c.pendAt = zmtp.AppendReady(c.pendAt[:0], props...)
	c.pend = c.pendAt
	return nil
}

// bareType is the socket type a bare ZWS peer of a socket of type ours is
// shown as: DEALER where ours takes one (REP, DEALER, ROUTER), else the
// type ours pairs with.
func bareType(ours string) string {
	for _, t := range []string{zmtp.TypeDEALER, zmtp.TypePAIR, zmtp.TypeSUB, zmtp.TypePUB, zmtp.TypePULL, zmtp.TypePUSH, zmtp.TypeREP} {
		if zmtp.Compatible(ours, t) {
			return t
		}
	}
	return ours
}

// zmtpHeader appends the ZMTP frame header of a ZWS message's body of size
// bytes behind flags.
func zmtpHeader(b []byte, flags byte, size uint64) ([]byte, error) {
	if flags&^(wws.ZWSMore|wws.ZWSCommand) != 0 {
		return b, frameErr("ZWS flags byte %#02x", flags)
	}
	var f byte
	if flags&wws.ZWSMore != 0 {
		f |= zmtp.FlagMore
	}
	if flags&wws.ZWSCommand != 0 {
		f |= zmtp.FlagCommand
	}
	return zmtp.AppendFrameHeader(b, f, size), nil
}

// readFragment appends a fragment's n bytes to frag, growing it as they
// arrive rather than by what the header announced.
func (c *conn) readFragment(n uint64) error {
	for n > 0 {
		chunk := int(min(n, 64<<10))
		at := len(c.frag)
		c.frag = append(c.frag, make([]byte, chunk)...)
		if _, err := io.ReadFull(c.br, c.frag[at:]); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		if c.masked {
			wws.Mask(c.key, c.pos, c.frag[at:])
		}
		c.pos += uint64(chunk)
		n -= uint64(chunk)
	}
	return nil
}

// control reads a control frame's payload and answers it: a ping with a
// pong, a close with a close and the end of the stream.
func (c *conn) control(h wws.Header) error {
	b := c.ctl[:h.Len]
	if _, err := io.ReadFull(c.br, b); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	if c.masked {
		wws.Mask(c.key, 0, b)
	}
	c.heard.Add(1)
	switch h.Op {
	case wws.OpPing:
		// The writer sends the pong between its frames; when it is not
		// writing, the reader sends it now. So the reader never waits for
		// a writer that waits for a peer that may itself wait for the pong.
		c.pongMu.Lock()
		c.pong = append(c.pong[:0], b...)
		c.pongDue.Store(true)
		c.pongMu.Unlock()
		if !c.wmu.TryLock() {
			return nil
		}
		defer c.wmu.Unlock()
		if !c.pongDue.Load() || c.closeSent {
			return nil
		}
		c.out = c.out[:0]
		c.appendPong()
		return c.flush()
	case wws.OpClose:
		if len(b) > 2 {
			b = b[:2] // echo the status code only
		}
		c.writeControl(wws.OpClose, b)
		return io.EOF
	}
	return nil // a pong
}

// writeControl writes one control frame between the writer's frames.
func (c *conn) writeControl(op wws.Opcode, payload []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closeSent {
		return nil
	}
	c.closeSent = op == wws.OpClose
	c.out = c.appendFrame(c.out[:0], op, true, nil, payload)
	_, err := c.Conn.Write(c.out)
	return err
}

// appendFrame appends a frame carrying lead and then payload to b, masked
// if we are the client.
func (c *conn) appendFrame(b []byte, op wws.Opcode, fin bool, lead, payload []byte) []byte {
	h := wws.Header{Fin: fin, Op: op, Masked: !c.server, Len: uint64(len(lead) + len(payload))}
	if h.Masked {
		if c.keys == nil {
			var seed [32]byte
			crand.Read(seed[:])
			c.keys = rand.NewChaCha8(seed)
		}
		binary.LittleEndian.PutUint32(h.Key[:], uint32(c.keys.Uint64()))
	}
	b = wws.AppendHeader(b, h)
	at := len(b)
	b = append(append(b, lead...), payload...)
	if h.Masked {
		wws.Mask(h.Key, 0, b[at:])
	}
	return b
}

// Write implements net.Conn: it takes SP's tcp stream and sends each
// message as a WebSocket message, in frames of at most maxFrame bytes.
func (c *conn) Write(p []byte) (int, error) {
	if err := c.handshake(); err != nil {
		return 0, err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closeSent {
		return 0, net.ErrClosed
	}
	c.out = c.out[:0]
	n := 0
	for len(p) > 0 {
		c.appendControl() // between frames, however long this write is
		switch {
		case c.hdrN < c.hdrSize():
			k := copy(c.hdr[c.hdrN:c.hdrSize()], p)
			c.hdrN += k
			p, n = p[k:], n+k
			if c.hdrN == c.hdrSize() {
				if err := c.checkOwnHeader(); err != nil {
					return n, err
				}
			}
		case c.wleft == 0:
			// A message's length (SP) or a frame's header (ZMTP).
			need := 8
			if c.zmtp {
				need = 1 // the flags, which say how long the header is
				if c.lenN > 0 {
					need = zmtp.FrameHeaderLen(c.lenBuf[0])
				}
			}
			k := copy(c.lenBuf[c.lenN:need], p)
			c.lenN += k
			p, n = p[k:], n+k
			if c.lenN < need || c.zmtp && need == 1 {
				continue
			}
			c.lenN, c.wfirst, c.wflags = 0, true, nil
			if c.zmtp {
				h, _, err := zmtp.ParseFrameHeader(c.lenBuf[:need], 0)
				if err != nil {
					return n, err
				}
				if c.wantReady {
					// Bare ZWS: the socket's READY is not sent but read
					// for its Identity (ownReady).
					if !h.Command() || h.More() || h.Size == 0 || h.Size > maxFrame {
						return n, errors.New("ws: the socket did not send READY after its greeting")
					}
					c.wantReady, c.inReady, c.wleft = false, true, h.Size
					c.ownReady = c.ownReady[:0]
					continue
				}
				c.zwsFlag[0] = 0
				if h.More() {
					c.zwsFlag[0] |= wws.ZWSMore
				}
				if h.Command() {
					c.zwsFlag[0] |= wws.ZWSCommand
				}
				c.wleft, c.wflags = h.Size, c.zwsFlag[:]
			} else {
				c.wleft = binary.BigEndian.Uint64(c.lenBuf[:8])
			}
			if c.wleft == 0 {
				c.out = c.appendFrame(c.out, wws.OpBinary, true, c.wflags, nil)
			}
		case c.inReady:
			k := int(min(uint64(len(p)), c.wleft))
			c.ownReady = append(c.ownReady, p[:k]...)
			c.wleft -= uint64(k)
			p, n = p[k:], n+k
			if c.wleft == 0 {
				c.inReady = false
				md, err := zmtp.ParseReady(c.ownReady)
				if err != nil {
					return n, fmt.Errorf("ws: the socket's READY: %w", err)
				}
				id, _ := md.Get(zmtp.PropIdentity)
				c.out = c.appendFrame(c.out, wws.OpBinary, true, []byte{0}, id)
				c.ownReady = nil
			}
		default:
			k := int(min(uint64(len(p)), c.wleft, uint64(maxFrame-len(c.wflags))))
			op := wws.OpContinuation
			if c.wfirst {
				op, c.wfirst = wws.OpBinary, false
			}
			c.wleft -= uint64(k)
			c.out = c.appendFrame(c.out, op, c.wleft == 0, c.wflags, p[:k])
			c.wflags = nil // in front of the first frame's body only
			p, n = p[k:], n+k
		}
		if len(c.out) >= 4*maxFrame {
			if err := c.flush(); err != nil {
				return n, err
			}
		}
	}
	if err := c.flush(); err != nil {
		return n, err
	}
	if cap(c.out) > 2*maxFrame {
		c.out = nil // an idle connection keeps no large buffer
	}
	return n, nil
}

// hdrSize is the size of what the socket writes first: SP's connection
// header or ZMTP's greeting.
func (c *conn) hdrSize() int {
	if c.zmtp {
		return zmtp.GreetingSize
	}
	return sp.HeaderSize
}

// checkOwnHeader checks that the socket began with the header or greeting
// the opening handshake agreed, which the stream does not send.
func (c *conn) checkOwnHeader() error {
	if c.zmtp {
		if g, err := zmtp.ParseGreeting(c.hdr[:zmtp.GreetingSize]); err != nil || g.Mechanism != c.req.Mechanism {
			return errors.New("ws: the socket did not start with the ZMTP greeting agreed")
		}
		return nil
	}
	if proto, err := sp.ParseHeader(c.hdr[:sp.HeaderSize]); err != nil || proto != c.req.SPSelf {
		return errors.New("ws: the socket did not start with its SP connection header")
	}
	return nil
}

// Ping implements socket.Heartbeater: it sends a ping now if nothing is
// being written, else the writer sends it between its frames. The write
// is not the caller's (the heartbeat timer's): a peer that reads nothing
// could hold it until the pipe closes, and the timer must go on to see
// that the peer no longer answers.
func (c *conn) Ping() {
	c.pingDue.Store(true)
	if !c.wmu.TryLock() {
		return
	}
	go func() {
		defer c.wmu.Unlock()
		if c.closeSent || !c.pingDue.Load() {
			return
		}
		c.out = c.out[:0]
		c.appendControl()
		c.flush()
	}()
}

// Heard implements socket.Heartbeater.
func (c *conn) Heard() uint64 { return c.heard.Load() }

// appendControl appends the pong the reader left to the writer and the
// socket's ping, whichever are due. Called with wmu held.
func (c *conn) appendControl() {
	if c.pongDue.Load() {
		c.appendPong()
	}
	if c.pingDue.Load() && c.pingDue.Swap(false) {
		c.out = c.appendFrame(c.out, wws.OpPing, true, nil, nil)
	}
}

var _ socket.Heartbeater = (*conn)(nil)

// appendPong appends the pong the reader left to the writer. Called with
// wmu held.
func (c *conn) appendPong() {
	c.pongMu.Lock()
	c.out = c.appendFrame(c.out, wws.OpPong, true, nil, c.pong)
	c.pongDue.Store(false)
	c.pongMu.Unlock()
}

// flush writes out; a pong the reader left while it waited goes right
// after.
func (c *conn) flush() error {
	for len(c.out) > 0 {
		_, err := c.Conn.Write(c.out)
		c.out = c.out[:0]
		if err != nil {
			return err
		}
		if c.pongDue.Load() || c.pingDue.Load() {
			c.appendControl()
		}
	}
	return nil
}

// closeFor tells the peer, with a close frame, why we are about to drop
// its connection: a message too large (1009) or a protocol error (1002).
func (c *conn) closeFor(err error) {
	var code uint16
	switch {
	case errors.Is(err, wire.ErrTooLarge):
		code = 1009
	case errors.Is(err, wire.ErrProtocol):
		code = 1002
	default:
		return // the end of the stream, or the connection's own failure
	}
	// A peer that reads nothing must not hold the reader here: the
	// connection is dropped next whatever this write does.
	c.Conn.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
	c.writeControl(wws.OpClose, binary.BigEndian.AppendUint16(nil, code))
}

// Close sends a close frame if it can at once, and closes the connection.
func (c *conn) Close() error {
	if c.wmu.TryLock() {
		if c.hsUp.Load() && !c.closeSent {
			c.closeSent = true
			c.Conn.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
			c.Conn.Write(c.appendFrame(nil, wws.OpClose, true, nil, []byte{0x03, 0xE8})) // 1000: normal closure
		}
		c.wmu.Unlock()
	}
	return c.Conn.Close()
}

func frameErr(format string, args ...any) error {
	return &wire.ProtocolError{Dialect: "ws", Reason: fmt.Sprintf(format, args...)}
}
