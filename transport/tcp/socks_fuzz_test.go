package tcp

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/mqwire/mqwire/wire"
)

// proxyAnswers is a proxy's side of a SOCKS5 exchange: its answers, read
// from r, and what the client wrote, discarded.
type proxyAnswers struct{ r *bytes.Reader }

func (p proxyAnswers) Read(b []byte) (int, error)  { return p.r.Read(b) }
func (p proxyAnswers) Write(b []byte) (int, error) { return len(b), nil }

// FuzzSOCKSHandshake feeds random proxy answers to the client's side of
// SOCKS5, with credentials when the input's first byte is odd. It must
// never panic, must fail only with a protocol error, a SOCKSError or (an
// answer cut short) the end of the input, and, when it succeeds, must have
// read no byte past the reply, which belongs to the dialect.
func FuzzSOCKSHandshake(f *testing.F) {
	reply := func(bs ...[]byte) []byte { return bytes.Join(bs, nil) }
	ok := []byte{5, 0}
	f.Add(reply([]byte{0}, ok, []byte{5, 0, 0, 1, 127, 0, 0, 1, 0x1F, 0x90}, []byte("after")))
	f.Add(reply([]byte{1}, []byte{5, 2}, []byte{1, 0}, []byte{5, 0, 0, 4}, make([]byte, 18)))
	f.Add(reply([]byte{0}, ok, []byte{5, 0, 0, 3, 5}, []byte("host.\x00\x50"), []byte{0xFF, 'S', 'P'}))
	f.Add(reply([]byte{1}, []byte{5, 2}, []byte{1, 1}))
	f.Add(reply([]byte{0}, []byte{5, 0xFF}))
	f.Add(reply([]byte{0}, ok, []byte{5, 5, 0, 1, 0, 0, 0, 0, 0, 0}))
	f.Add(reply([]byte{0}, ok, []byte{5, 0, 0, 9}))
	f.Add(reply([]byte{0}, []byte{4, 0}))
	f.Add(reply([]byte{0}, ok, []byte{5, 0, 0, 3, 255}))
	f.Fuzz(func(t *testing.T, in []byte) {
		p := SOCKS{Proxy: "proxy:1080"}
		if len(in) > 0 {
			if in[0]&1 == 1 {
				p.Username, p.Password = "user", "pass"
			}
			in = in[1:]
		}
		r := bytes.NewReader(in)
		err := socksHandshake(proxyAnswers{r}, p, "peer.example:5555")
		var se *SOCKSError
		switch {
		case err == nil:
			// The reply ends where its address says; what follows stays.
			if used := len(in) - r.Len(); used < 2+4+1+2 || used > 2+2+4+1+255+2 {
				t.Fatalf("succeeded after reading %d bytes", used)
			}
		case errors.As(err, &se), errors.Is(err, wire.ErrProtocol), errors.Is(err, io.EOF):
		default:
			t.Fatalf("error %v (%T)", err, err)
		}
	})
}
