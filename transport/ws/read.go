package ws

import (
	"encoding/binary"
	"io"
	"sync"

	"github.com/mqwire/mqwire/socket"
	"github.com/mqwire/mqwire/wire"
	wws "github.com/mqwire/mqwire/wire/ws"
	"github.com/mqwire/mqwire/wire/zmtp"
)

// The read side of a connection: WebSocket frames in, the dialect's byte
// stream out to the socket, and control frames answered.

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
		if len(c.pendBody) > 0 {
			c.pend, c.pendBody = c.pendBody, nil
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
	if len(c.pend) == 0 && len(c.pendBody) == 0 && c.br.Buffered() == 0 {
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
	if c.frag != nil && !c.inFrag {
		// A reassembled message has been handed out: its buffer goes
		// back to the pool, so that an idle connection keeps none.
		c.putFrag()
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
	if c.recvMax > 0 && h.Len > c.recvMax && h.Op&8 == 0 { // (control frames are short)
		return &FrameTooLargeError{Size: h.Len, Limit: c.recvMax}
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
		c.inFrag = true
		c.getFrag()
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
	c.pend, c.pendBody = c.pendAt, body
	return nil
}

// fragBufs holds the buffers of reassembled messages between messages.
var fragBufs sync.Pool

// getFrag gives frag an empty buffer, from the pool when it has one.
func (c *conn) getFrag() {
	if c.frag != nil {
		c.frag = c.frag[:0]
		return
	}
	c.frag, c.fragp = takeBuf(&fragBufs, maxFrame)
}

// putFrag gives frag's buffer back to the pool.
func (c *conn) putFrag() {
	giveBuf(&fragBufs, c.frag, c.fragp)
	c.frag, c.fragp = nil, nil
}

// maxPooledBuf bounds the buffers fragBufs and outBufs keep.
const maxPooledBuf = 4 << 20

// takeBuf returns an empty buffer from pool, or a new one of size bytes,
// and the holder it goes back to pool in (giveBuf).
func takeBuf(pool *sync.Pool, size int) ([]byte, *[]byte) {
	if h, ok := pool.Get().(*[]byte); ok {
		return (*h)[:0], h
	}
	return make([]byte, 0, size), new([]byte)
}

// giveBuf puts b back in pool through its holder h (from takeBuf; nil for
// a buffer not of the pool), unless it grew past maxPooledBuf.
func giveBuf(pool *sync.Pool, b []byte, h *[]byte) {
	if h != nil && cap(b) <= maxPooledBuf {
		*h = b[:0]
		pool.Put(h)
	}
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
