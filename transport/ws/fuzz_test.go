package ws

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"

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
