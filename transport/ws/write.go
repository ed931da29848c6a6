package ws

import (
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"

	"github.com/mqwire/mqwire/socket"
	"github.com/mqwire/mqwire/wire/sp"
	wws "github.com/mqwire/mqwire/wire/ws"
	"github.com/mqwire/mqwire/wire/zmtp"
)

// The write side of a connection: the dialect's byte stream in from the
// socket, WebSocket frames out, with pings and pongs between them.

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

// appendMessage appends a whole message, lead and then body, in frames of
// at most sendMax bytes.
func (c *conn) appendMessage(b, lead, body []byte) []byte {
	op := wws.OpBinary
	for {
		k := min(len(body), max(c.sendMax-len(lead), 0))
		last := k == len(body)
		b = c.appendFrame(b, op, last, lead, body[:k])
		if last {
			return b
		}
		op, lead, body = wws.OpContinuation, nil, body[k:]
	}
}

// Write implements net.Conn: it takes SP's tcp stream and sends each
// message as a WebSocket message, in frames of at most sendMax bytes.
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
	if len(p) > maxFrame {
		c.bigOut()
	}
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
				c.out = c.appendMessage(c.out, []byte{0}, id)
				c.ownReady = nil
			}
		default:
			k := int(min(uint64(len(p)), c.wleft, uint64(max(c.sendMax-len(c.wflags), 0))))
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
	c.releaseOut()
	return n, nil
}

// outBufs holds the buffers of large writes between them, so that an idle
// connection keeps no large buffer and a busy one makes none per write.
var outBufs sync.Pool

// bigOut gives out a buffer with room for the frames a large write
// collects before it flushes (4*maxFrame), from outBufs when it has one.
// Called with wmu held.
func (c *conn) bigOut() {
	if cap(c.out) > 2*maxFrame {
		return
	}
	c.small = c.out[:0]
	c.out, c.outp = takeBuf(&outBufs, 5*maxFrame)
}

// releaseOut gives a large buffer back to outBufs and goes back to the
// connection's small one. Called with wmu held.
func (c *conn) releaseOut() {
	if cap(c.out) <= 2*maxFrame {
		return
	}
	giveBuf(&outBufs, c.out, c.outp)
	c.out, c.outp, c.small = c.small, nil, nil
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
