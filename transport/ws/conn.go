package ws

import (
	"bufio"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/textproto"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mqwire/mqwire/socket"
	"github.com/mqwire/mqwire/wire"
	"github.com/mqwire/mqwire/wire/sp"
	wws "github.com/mqwire/mqwire/wire/ws"
	"github.com/mqwire/mqwire/wire/zmtp"
)

// maxFrame is the largest frame we send by default (FrameLimits.Send):
// longer messages go in fragments, so that peers with a per-frame limit
// take them.
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
	header   []byte // the dialer's extra header lines (DialHeader), each ending in CRLF
	path     string // the dialer's request path; the path a listener serves
	br       *bufio.Reader

	req   socket.FrameRequest // the socket's, from Frame
	limit func() uint64       // the socket's receive limit, 0 for none
	zmtp  bool                // the connection carries ZWS 2.0 (ZMTP), not SP
	bare  bool                // ZWS 2.0 without greeting or mechanism: routing ids instead

	routed *routedRequest // a listener's request, its head read already (share.go)
	// sendMax and recvMax are the frame limits (frames.go): the largest
	// frame payload sent, and taken (0: any).
	sendMax int
	recvMax uint64
	lcfg    listenConfig // a listener's options (listenopts.go)

	hsMu   sync.Mutex // held through the opening handshake
	hsDone bool
	hsErr  error
	hsUp   atomic.Bool // the handshake succeeded
	// seen is what the handshake said (ConnInfo): the request's path and
	// header fields on a listener's side, the answer's fields on a
	// dialer's. Written by the handshake, read only after it.
	seen Handshake

	// Read side (the socket has one reader at a time).
	pend   []byte // bytes to hand out before the next frame
	pendAt []byte // pend's storage
	// pendBody is a reassembled message's body, handed out after pend
	// (its header) straight from frag.
	pendBody []byte
	left     uint64 // payload bytes of the current whole-frame message to pass through
	masked   bool
	key      [4]byte
	pos      uint64    // offset into the current frame's payload, for unmasking
	frag     []byte    // a fragmented message being reassembled
	fragp    *[]byte   // where frag came from in fragBufs
	inFrag   bool      // frag holds the start of a message
	needID   bool      // bare ZWS: the peer's routing id is still to come
	ctl      [125]byte // a control frame's payload

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
	out       []byte  // frames to write
	outp      *[]byte // where out came from in outBufs, while it is large
	small     []byte  // the connection's own out while out is a large one
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
		pendAt: make([]byte, 0, zmtp.GreetingSize), sendMax: maxFrame}
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

// Handshake is what a WebSocket pipe's opening handshake said, for
// socket.Pipe.ConnInfo: on a listener's pipe the request's path (with its
// query) and header fields, such as an Authorization to check in a
// PipeHook; on a dialer's, the path it asked for and the answer's fields.
type Handshake struct {
	Path   string
	Header http.Header
}

// ConnInfo implements socket.ConnInformer: it fills a *Handshake once the
// opening handshake has succeeded, and a *tls.ConnectionState on a
// connection that a Handler's https server took.
func (c *conn) ConnInfo(target any) bool {
	if !c.hsUp.Load() {
		return false
	}
	switch t := target.(type) {
	case *Handshake:
		*t = Handshake{Path: c.seen.Path, Header: c.seen.Header.Clone()}
		return true
	case *tls.ConnectionState:
		if c.routed == nil || c.routed.tls == nil {
			return false
		}
		*t = *c.routed.tls
		return true
	}
	return false
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
		if f := strings.Fields(start); len(f) == 3 {
			c.seen = Handshake{Path: f[1], Header: http.Header(h)}
		}
		resp, zmtp, bare, refused := answer(start, h, c.path, c.req, c.lcfg.respHeader)
		if refused == nil && c.lcfg.origin != nil && !c.lcfg.origin.allows(c.Conn, start, h) {
			resp, refused = originRefused(h.Get("Origin"))
		}
		if _, err := c.Conn.Write(resp); err != nil {
			return err
		}
		if refused != nil {
			return refused
		}
		c.zmtp, c.bare = zmtp, bare
	} else {
		key, protocol := newKey(), offer(c.req)
		if _, err := c.Conn.Write(request(c.host, c.path, key, protocol, c.header)); err != nil {
			return err
		}
		_, h, err := readHead(c.br, func(start string) error { return checkStatus(start, protocol) })
		if err != nil {
			return err
		}
		if err := checkResponse(h, key); err != nil {
			return err
		}
		c.seen = Handshake{Path: c.path, Header: http.Header(h)}
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
