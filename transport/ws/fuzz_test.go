package ws

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mqwire/mqwire/socket"
	"github.com/mqwire/mqwire/wire"
	wws "github.com/mqwire/mqwire/wire/ws"
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

// FuzzConnRead feeds random frames, after a good opening handshake, to a
// listener's reader. It must never panic, must fail only with a protocol
// error or the end of the input, must never hold more of a fragmented
// message than the limit, and must hand out a well-formed SP stream: the
// peer's connection header, then messages, each its length and no more than
// the limit.
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
	f.Add(frame(wws.OpBinary, true, "hello"))
	f.Add(join(frame(wws.OpBinary, false, "frag"), frame(wws.OpPing, true, "p"), frame(wws.OpContinuation, true, "ment")))
	f.Add(join(frame(wws.OpBinary, true, ""), frame(wws.OpClose, true, "\x03\xe8")))
	f.Add(frame(wws.OpBinary, true, string(make([]byte, fuzzLimit+1))))
	f.Add([]byte{0x82, 0xFF, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4})
	f.Add([]byte{0x82, 0x05, 'h', 'e', 'l', 'l', 'o'})
	f.Fuzz(func(t *testing.T, in []byte) {
		c := newConn(&bytesConn{r: bytes.NewReader(in)}, true, "", "/")
		c.FrameSP(0x51, 0x50, func() uint64 { return fuzzLimit }) // pull, its peer push
		c.hsDone, c.pend = true, []byte{0, 'S', 'P', 0, 0, 0x50, 0, 0}
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
		if !bytes.HasPrefix(out, []byte{0, 'S', 'P', 0, 0, 0x50, 0, 0}) {
			t.Fatalf("stream starts % x", out[:min(8, len(out))])
		}
		for rest := out[8:]; len(rest) > 0; {
			if len(rest) < 8 {
				if err == io.EOF {
					t.Fatalf("a length cut short at a clean end: % x", rest)
				}
				break
			}
			l := binary.BigEndian.Uint64(rest)
			if l > fuzzLimit {
				t.Fatalf("a message of %d bytes handed out", l)
			}
			if uint64(len(rest)-8) < l {
				break // the input ended inside it
			}
			rest = rest[8+l:]
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
			_, refused := answer(start, h, "/p", 0x51)
			refusal(refused)
			if refused == nil {
				key, _ := base64.StdEncoding.DecodeString(h.Get("Sec-WebSocket-Key"))
				if p, _, _ := strings.Cut(strings.Fields(start)[1], "?"); p != "/p" || len(key) != 16 ||
					h.Get("Sec-WebSocket-Version") != "13" || !hasToken(h.Values("Sec-WebSocket-Protocol"), "pull.sp.nanomsg.org") {
					t.Fatalf("accepted %q", in)
				}
			}
		}
		_, h, err = readHead(bufio.NewReader(bytes.NewReader(in)), func(s string) error { return checkStatus(s, 0x51) })
		refusal(err)
		if err == nil {
			refusal(checkResponse(h, "dGhlIHNhbXBsZSBub25jZQ==", 0x51))
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
