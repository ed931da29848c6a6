package ws

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mqwire/mqwire/socket"
	"github.com/mqwire/mqwire/wire"
	wws "github.com/mqwire/mqwire/wire/ws"
	"github.com/mqwire/mqwire/wire/zmtp"
)

// bytesConn is a net.Conn that reads from a buffer and takes every write.
type bytesConn struct {
	net.Conn // nil: only what a listener's conn uses is here
	r        *bytes.Reader
}

func (c *bytesConn) Read(b []byte) (int, error)       { return c.r.Read(b) }
func (c *bytesConn) Write(b []byte) (int, error)      { return len(b), nil }
func (c *bytesConn) SetWriteDeadline(time.Time) error { return nil }
func (c *bytesConn) Close() error                     { return nil }

// fuzzLimit is the receive limit of the fuzzed reader.
const fuzzLimit = 4 << 10

// fuzzFrameLimit is the fuzzed reader's frame limit, when it has one.
const fuzzFrameLimit = 100

// FuzzConnRead feeds random frames, after a good opening handshake, to a
// listener's reader, in SP or (when the input's first byte is odd) ZWS 2.0,
// bare ZWS 2.0 (routing ids, no greeting) when that byte's bit 1 is set too,
// with a frame limit (FrameLimits.Recv) of fuzzFrameLimit when its bit 2 is.
// It must never panic, must fail only with a protocol error or the end of
// the input, must never hold more of a fragmented message than the limit,
// and must hand out a well-formed stream: the peer's SP header or ZMTP
// greeting, then messages or frames, each its length or frame header and
// no more than the limit.
func FuzzConnRead(f *testing.F) {
	frame := func(op wws.Opcode, fin bool, payload string) []byte {
		h := wws.Header{Fin: fin, Op: op, Masked: true, Key: [4]byte{1, 2, 3, 4}, Len: uint64(len(payload))}
		b := wws.AppendHeader(nil, h)
		at := len(b)
		b = append(b, payload...)
		wws.Mask(h.Key, 0, b[at:])
		return b
	}
	join := func(bs ...[]byte) []byte { return bytes.Join(bs, nil) }
	for _, mode := range []byte{0, 1} {
		f.Add(join([]byte{mode}, frame(wws.OpBinary, true, "\x00hello")))
		f.Add(join([]byte{mode}, frame(wws.OpBinary, false, "\x01frag"), frame(wws.OpPing, true, "p"), frame(wws.OpContinuation, true, "ment")))
		f.Add(join([]byte{mode}, frame(wws.OpBinary, true, ""), frame(wws.OpClose, true, "\x03\xe8")))
		f.Add(join([]byte{mode}, frame(wws.OpBinary, true, string(make([]byte, fuzzLimit+1)))))
		f.Add(join([]byte{mode}, frame(wws.OpBinary, true, "\x02\x05READY")))
		f.Add(join([]byte{mode}, frame(wws.OpBinary, true, "\x07x")))
	}
	f.Add(join([]byte{3}, frame(wws.OpBinary, true, "\x00id"), frame(wws.OpBinary, true, "\x00hello")))
	f.Add(join([]byte{3}, frame(wws.OpBinary, false, "\x00i"), frame(wws.OpContinuation, true, "d"), frame(wws.OpBinary, true, "\x01a"), frame(wws.OpBinary, true, "\x00b")))
	f.Add(join([]byte{3}, frame(wws.OpBinary, true, "\x00"), frame(wws.OpBinary, true, "\x02\x04PING\x00\x00")))
	f.Add(join([]byte{3}, frame(wws.OpBinary, true, "\x01id")))
	f.Add(join([]byte{3}, frame(wws.OpBinary, true, "\x00"+strings.Repeat("i", 256))))
	f.Add([]byte{0, 0x82, 0xFF, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4})
	f.Add([]byte{0, 0x82, 0x05, 'h', 'e', 'l', 'l', 'o'})
	f.Add(join([]byte{4}, frame(wws.OpBinary, false, strings.Repeat("f", fuzzFrameLimit)), frame(wws.OpContinuation, true, "x")))
	f.Add(join([]byte{5}, frame(wws.OpBinary, true, strings.Repeat("\x00", fuzzFrameLimit+1))))
	f.Fuzz(func(t *testing.T, in []byte) {
		zmtpMode := len(in) > 0 && in[0]&1 == 1
		bare := zmtpMode && in[0]&2 != 0
		frameLimited := len(in) > 0 && in[0]&4 != 0
		if len(in) > 0 {
			in = in[1:]
		}
		c := newConn(&bytesConn{r: bytes.NewReader(in)}, true, "", "/", nil)
		c.req = socket.FrameRequest{SPSelf: 0x51, SPPeer: 0x50, ZMTPType: "PULL", Mechanism: "NULL"} // pull, its peer push
		c.limit, c.zmtp, c.bare, c.needID = func() uint64 { return fuzzLimit }, zmtpMode, bare, bare
		if frameLimited {
			c.setFrames(FrameLimits{Recv: fuzzFrameLimit})
		}
		want := []byte{0, 'S', 'P', 0, 0, 0x50, 0, 0}
		if zmtpMode {
			want = zmtp.AppendGreeting(nil, zmtp.Greeting{Major: zmtp.Major, Minor: zmtp.Minor30, Mechanism: "NULL"})
		}
		c.hsDone, c.pend = true, bytes.Clone(want)
		c.hsUp.Store(true)
		var out []byte
		buf := make([]byte, 1000)
		var err error
		for {
			var n int
			n, err = c.Read(buf)
			out = append(out, buf[:n]...)
			if len(c.frag) > fuzzLimit {
				t.Fatalf("holds %d bytes of a fragmented message", len(c.frag))
			}
			if err != nil {
				break
			}
		}
		if err != io.EOF && err != io.ErrUnexpectedEOF && !errors.Is(err, wire.ErrProtocol) {
			t.Fatalf("error %v (%T)", err, err)
		}
		if !bytes.HasPrefix(out, want) {
			t.Fatalf("stream starts % x", out[:min(len(want), len(out))])
		}
		if bare && len(out) > len(want) {
			// The peer's READY, made of its routing id.
			h, n, perr := zmtp.ParseFrameHeader(out[len(want):], 0)
			if perr != nil || !h.Command() || uint64(len(out)-len(want)-n) < h.Size {
				t.Fatalf("after the greeting % x, not a READY (%v)", out[len(want):], perr)
			}
			md, perr := zmtp.ParseReady(out[len(want)+n : len(want)+n+int(h.Size)])
			if st, _ := md.Get(zmtp.PropSocketType); perr != nil || string(st) != "PUSH" {
				t.Fatalf("READY %v, %v: want Socket-Type PUSH", md, perr)
			}
			want = out[:len(want)+n+int(h.Size)]
		}
		for rest := out[len(want):]; len(rest) > 0; {
			var size uint64
			var hn int
			if zmtpMode {
				h, n, perr := zmtp.ParseFrameHeader(rest, 0)
				if errors.Is(perr, zmtp.ErrShort) {
					break // the input ended inside it
				}
				if perr != nil && !errors.Is(perr, wire.ErrProtocol) {
					t.Fatalf("frame header % x: %v", rest[:min(9, len(rest))], perr)
				}
				if perr != nil {
					break // a command with MORE: the socket's codec refuses it
				}
				size, hn = h.Size, n
			} else {
				if len(rest) < 8 {
					if err == io.EOF {
						t.Fatalf("a length cut short at a clean end: % x", rest)
					}
					break
				}
				size, hn = binary.BigEndian.Uint64(rest), 8
			}
			if size > fuzzLimit {
				t.Fatalf("a message of %d bytes handed out", size)
			}
			if uint64(len(rest)-hn) < size {
				break // the input ended inside it
			}
			rest = rest[hn+int(size):]
		}
	})
}

// FuzzHandshake feeds random opening handshakes to a listener's and a
// dialer's parsing: they must never panic, must read no more than
// maxHandshake bytes of head, must refuse with a protocol error or
// ErrPeerMismatch, and a listener may accept only a request that asks for
// its path, its protocol and version 13, with a 16-byte key.
func FuzzHandshake(f *testing.F) {
	good := "GET /p HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: pull.sp.nanomsg.org\r\n\r\n"
	f.Add([]byte(good))
	f.Add([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: pull.sp.nanomsg.org\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 400 Incompatible Socket Type\r\nSec-WebSocket-Version: 13\r\n"))
	f.Add([]byte("GET /p HTTP/1.1\r\nX: " + strings.Repeat("y", 9000) + "\r\n\r\n"))
	f.Add([]byte("GET /p HTTP/1.1\r\nbad line\r\n\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		refusal := func(err error) {
			if err != nil && !errors.Is(err, wire.ErrProtocol) && !errors.Is(err, socket.ErrPeerMismatch) &&
				err != io.EOF && err != io.ErrUnexpectedEOF {
				t.Fatalf("refused with %v (%T)", err, err)
			}
		}
		r := &countingReader{r: bytes.NewReader(in)}
		br := bufio.NewReaderSize(r, 4<<10)
		start, h, err := readHead(br, nil)
		refusal(err)
		if br.Buffered() > 0 && r.n-br.Buffered() > maxHandshake+4<<10 {
			t.Fatalf("read %d bytes of head", r.n-br.Buffered())
		}
		if err == nil {
			_, _, _, refused := answer(start, h, "/p", socket.FrameRequest{SPSelf: 0x51, SPPeer: 0x50, ZMTPType: "PULL", Mechanism: "NULL"}, nil)
			refusal(refused)
			// The origin policies read the head too (CheckOrigin): the
			// same-origin one, and a function of the application's,
			// which gets the head as an http.Request.
			pipeA, pipeB := net.Pipe()
			(&originPolicy{}).allows(pipeA, start, h)
			(&originPolicy{ok: func(r *http.Request) bool { return r.URL != nil && r.Header != nil }}).allows(pipeA, start, h)
			pipeA.Close()
			pipeB.Close()
			if refused == nil {
				key, _ := base64.StdEncoding.DecodeString(h.Get("Sec-WebSocket-Key"))
				offered := h.Values("Sec-WebSocket-Protocol")
				if p, _, _ := strings.Cut(strings.Fields(start)[1], "?"); p != "/p" || len(key) != 16 ||
					h.Get("Sec-WebSocket-Version") != "13" || !hasToken(offered, "pull.sp.nanomsg.org") && !hasToken(offered, "ZWS2.0/NULL") && !hasToken(offered, "ZWS2.0") {
					t.Fatalf("accepted %q", in)
				}
			}
		}
		_, h, err = readHead(bufio.NewReader(bytes.NewReader(in)), func(s string) error { return checkStatus(s, "pull.sp.nanomsg.org") })
		refusal(err)
		if err == nil {
			refusal(checkResponse(h, "dGhlIHNhbXBsZSBub25jZQ=="))
			_, _, err := taken(h.Get("Sec-WebSocket-Protocol"), "pull.sp.nanomsg.org", socket.FrameRequest{})
			refusal(err)
		}
	})
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += n
	return n, err
}
