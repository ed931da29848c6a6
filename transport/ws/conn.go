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
)

// maxFrame is the largest frame we send: longer messages go in fragments,
// so that peers with a per-frame limit take them.
const maxFrame = 64 << 10

// conn shows the socket SP's tcp stream (a connection header, then each
// message's 8-byte length and bytes) over a WebSocket connection that
// carries each message as one binary WebSocket message. The opening
// handshake takes the place of SP's connection header: it runs at the first
// Read or Write, once FrameSP has said the protocols.
type conn struct {
	net.Conn // the tcp (or TLS) connection under the WebSocket
	server   bool
	host     string // the dialer's Host header
	path     string // the dialer's request path; the path a listener serves
	br       *bufio.Reader

	self, peer uint16
	limit      func() uint64 // the socket's receive limit, 0 for none

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
	ctl    [125]byte // a control frame's payload

	// Write side.
	wmu       sync.Mutex
	spHdr     [sp.HeaderSize]byte // the socket's connection header, swallowed
	spHdrN    int
	lenBuf    [8]byte // a message's length prefix as it comes
	lenN      int
	wleft     uint64 // bytes of the current message still to come
	wfirst    bool   // the next frame is the current message's first
	out       []byte // frames to write
	closeSent bool
	pongMu    sync.Mutex // guards pong: a ping's payload the reader left to the writer
	pong      []byte
	pongDue   atomic.Bool   // pong is to be sent
	keys      *rand.ChaCha8 // mask keys (a client's), unpredictable as RFC 6455 asks
}

func newConn(c net.Conn, server bool, host, path string) *conn {
	// A small read buffer: a message's bytes bypass it, read straight into
	// the socket's buffer.
	return &conn{Conn: c, server: server, host: host, path: path, br: bufio.NewReaderSize(c, 4<<10),
		pendAt: make([]byte, 0, 16)}
}

// newRoutedConn is a listener's connection whose request head the shared
// server has read (r.br holds what followed it).
func newRoutedConn(c net.Conn, r routedRequest, path string) *conn {
	wc := newConn(c, true, "", path)
	wc.br, wc.routed = r.br, &r
	return wc
}

// FrameSP implements socket.SPFramer.
func (c *conn) FrameSP(self, peer uint16, recvLimit func() uint64) {
	c.self, c.peer, c.limit = self, peer, recvLimit
}

// handshake runs the opening handshake once; every Read and Write waits
// for it.
func (c *conn) handshake() error {
	if c.hsUp.Load() {
		return nil // every Read and Write after the first
	}
	c.hsMu.Lock()
	defer c.hsMu.Unlock()
	if c.hsDone {
		return c.hsErr
	}
	c.hsDone = true
	c.hsErr = c.runHandshake()
	c.hsUp.Store(c.hsErr == nil)
	return c.hsErr
}

func (c *conn) runHandshake() error {
	if c.limit == nil {
		return errors.New("ws: connection used before FrameSP")
	}
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
		resp, refused := answer(start, h, c.path, c.self)
		if _, err := c.Conn.Write(resp); err != nil {
			return err
		}
		if refused != nil {
			return refused
		}
	} else {
		key := newKey()
		if _, err := c.Conn.Write(request(c.host, c.path, key, c.peer)); err != nil {
			return err
		}
		_, h, err := readHead(c.br, func(start string) error { return checkStatus(start, c.peer) })
		if err != nil {
			return err
		}
		if err := checkResponse(h, key, c.peer); err != nil {
			return err
		}
	}
	// The handshake said the peer's protocol: show the socket its header.
	c.pend = sp.AppendHeader(c.pendAt[:0], c.peer)
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
		if n > 0 && !c.wholeFrameBuffered() {
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
	return err == nil && hn > 0
}

// readFrame reads the next frame's header and acts on it: a whole message
// starts passing through, a fragment is added to frag, a control frame is
// answered.
func (c *conn) readFrame() error {
	if cap(c.pendAt) > maxFrame && !c.inFrag {
		// A large reassembled message has been handed out: an idle
		// connection keeps no large buffer.
		c.pendAt, c.frag = make([]byte, 0, 16), nil
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
		if h.Fin {
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
	}
	if err := c.readFragment(h.Len); err != nil {
		return err
	}
	if h.Fin {
		c.inFrag = false
		c.pendAt = binary.BigEndian.AppendUint64(c.pendAt[:0], uint64(len(c.frag)))
		c.pendAt = append(c.pendAt, c.frag...)
		c.pend = c.pendAt
	}
	return nil
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
	c.out = c.appendFrame(c.out[:0], op, true, payload)
	_, err := c.Conn.Write(c.out)
	return err
}

// appendFrame appends a frame carrying payload to b, masked if we are the
// client.
func (c *conn) appendFrame(b []byte, op wws.Opcode, fin bool, payload []byte) []byte {
	h := wws.Header{Fin: fin, Op: op, Masked: !c.server, Len: uint64(len(payload))}
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
	b = append(b, payload...)
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
		if c.pongDue.Load() {
			c.appendPong() // between frames, however long this write is
		}
		switch {
		case c.spHdrN < sp.HeaderSize:
			k := copy(c.spHdr[c.spHdrN:], p)
			c.spHdrN += k
			p, n = p[k:], n+k
			if c.spHdrN == sp.HeaderSize {
				if proto, err := sp.ParseHeader(c.spHdr[:]); err != nil || proto != c.self {
					return n, errors.New("ws: the socket did not start with its SP connection header")
				}
			}
		case c.wleft == 0:
			k := copy(c.lenBuf[c.lenN:], p)
			c.lenN += k
			p, n = p[k:], n+k
			if c.lenN == len(c.lenBuf) {
				c.lenN, c.wleft, c.wfirst = 0, binary.BigEndian.Uint64(c.lenBuf[:]), true
				if c.wleft == 0 {
					c.out = c.appendFrame(c.out, wws.OpBinary, true, nil)
				}
			}
		default:
			k := int(min(uint64(len(p)), c.wleft, maxFrame))
			op := wws.OpContinuation
			if c.wfirst {
				op, c.wfirst = wws.OpBinary, false
			}
			c.wleft -= uint64(k)
			c.out = c.appendFrame(c.out, op, c.wleft == 0, p[:k])
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

// appendPong appends the pong the reader left to the writer. Called with
// wmu held.
func (c *conn) appendPong() {
	c.pongMu.Lock()
	c.out = c.appendFrame(c.out, wws.OpPong, true, c.pong)
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
		if c.pongDue.Load() {
			c.appendPong()
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
			c.Conn.Write(c.appendFrame(nil, wws.OpClose, true, []byte{0x03, 0xE8})) // 1000: normal closure
		}
		c.wmu.Unlock()
	}
	return c.Conn.Close()
}

func frameErr(format string, args ...any) error {
	return &wire.ProtocolError{Dialect: "ws", Reason: fmt.Sprintf(format, args...)}
}
