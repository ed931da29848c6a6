package socket

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"

	"github.com/mqwire/mqwire/wire"
	"github.com/mqwire/mqwire/wire/zmtp"
)

// fuzzSessions runs a CURVE handshake in memory and returns the client's
// and the server's sessions.
func fuzzSessions(t testing.TB) (client, server *zmtp.CurveSession) {
	sPub, sSec, _ := zmtp.NewCurveKeyPair()
	cPub, cSec, _ := zmtp.NewCurveKeyPair()
	c, _ := zmtp.NewCurveClient(sPub, cPub, cSec)
	s, _ := zmtp.NewCurveServer(sSec)
	body := func(f []byte) []byte { return f[zmtp.FrameHeaderLen(f[0]):] }
	check := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	check(s.ParseHello(body(c.AppendHello(nil))))
	w, err := s.AppendWelcome(nil)
	check(err)
	check(c.ParseWelcome(body(w)))
	in, err := c.AppendInitiate(nil)
	check(err)
	_, _, err = s.ParseInitiate(body(in))
	check(err)
	r, err := s.AppendReady(nil)
	check(err)
	_, err = c.ParseReady(body(r))
	check(err)
	client, err = c.Session()
	check(err)
	server, err = s.Session()
	check(err)
	return client, server
}

// readerConn is a net.Conn whose reads come from r, a few bytes at a time
// when small is set, and whose writes go nowhere.
type readerConn struct {
	net.Conn
	r     io.Reader
	small bool
}

func (c *readerConn) Read(b []byte) (int, error) {
	if c.small && len(b) > 3 {
		b = b[:3]
	}
	return c.r.Read(b)
}

// FuzzCurveConn feeds a CURVE connection's reader arbitrary bytes after a
// handshake: sealed frames (the seeds, sealed in this process's session,
// which each run starts from afresh) as the fuzzer changes them, and
// anything else. Reading must end with
// io.EOF or an error matching ErrProtocol (or io.ErrUnexpectedEOF), never
// panic, and never yield more plaintext than was read.
func FuzzCurveConn(f *testing.F) {
	client, server := fuzzSessions(f)
	base := *server // each run starts from the session as the handshake left it
	seal := func(frames ...[]byte) []byte {
		var b []byte
		for i, fr := range frames {
			flags := byte(0)
			if i < len(frames)-1 {
				flags = zmtp.FlagMore
			}
			b = client.AppendMessage(b, flags, fr)
		}
		return b
	}
	f.Add(seal([]byte("hello")), uint64(1<<20), false)
	f.Add(seal([]byte("a"), []byte("b"), nil), uint64(1<<20), true)
	f.Add(seal(bytes.Repeat([]byte("x"), 40<<10)), uint64(1<<20), false)
	f.Add(seal(bytes.Repeat([]byte("x"), 40<<10)), uint64(100), true)
	f.Add(zmtp.AppendFrameHeader(nil, 0, 1<<40), uint64(0), false)
	f.Add(append(zmtp.AppendFrameHeader(nil, zmtp.FlagMore, 40), make([]byte, 40)...), uint64(1<<20), false)
	f.Add([]byte{0, 40, 7, 'M', 'E', 'S', 'S', 'A', 'G', 'E'}, uint64(1<<20), false)
	f.Fuzz(func(t *testing.T, in []byte, limit uint64, small bool) {
		sess := base
		c := newCurveConn(&readerConn{r: bytes.NewReader(in), small: small}, &sess, limit)
		buf := make([]byte, 1000)
		total := 0
		for {
			n, err := c.Read(buf)
			total += n
			if total > len(in) {
				t.Fatalf("%d bytes of plaintext from %d read", total, len(in))
			}
			if err == nil {
				continue
			}
			var tl *wire.TooLargeError
			if err != io.EOF && err != io.ErrUnexpectedEOF && !errors.Is(err, wire.ErrProtocol) && !errors.As(err, &tl) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
	})
}

// The reader gives back exactly the ZMTP frames that were sealed, whether
// the connection hands over its bytes whole or three at a time, and frames
// larger than its read buffer too.
func TestCurveConnReadsFrames(t *testing.T) {
	for _, small := range []bool{false, true} {
		client, server := fuzzSessions(t)
		frames := [][]byte{[]byte("a"), nil, bytes.Repeat([]byte("y"), 300), bytes.Repeat([]byte("z"), curveReadSize+100)}
		var sealed, want []byte
		for i, fr := range frames {
			flags, zflags := byte(0), byte(0)
			if i < len(frames)-1 {
				flags, zflags = zmtp.FlagMore, zmtp.FlagMore
			}
			sealed = client.AppendMessage(sealed, flags, fr)
			want = zmtp.AppendFrame(want, zflags, fr)
		}
		sealed = client.AppendMessage(sealed, zmtp.FlagCommand, []byte("\x04PING\x00\x00"))
		want = zmtp.AppendFrame(want, zmtp.FlagCommand, []byte("\x04PING\x00\x00"))
		c := newCurveConn(&readerConn{r: bytes.NewReader(sealed), small: small}, server, 0)
		got, err := io.ReadAll(c)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("small reads %v: %d bytes, %v; want %d bytes", small, len(got), err, len(want))
		}
	}
}
