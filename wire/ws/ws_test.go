package ws_test

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/mqwire/mqwire/wire"
	"github.com/mqwire/mqwire/wire/sp"
	"github.com/mqwire/mqwire/wire/ws"
)

func TestParseHeader(t *testing.T) {
	key := [4]byte{1, 2, 3, 4}
	cases := []struct {
		name  string
		in    []byte
		limit uint64
		want  ws.Header
		n     int   // 0: too short
		err   error // matched with errors.Is
	}{
		{"binary, 7-bit length", []byte{0x82, 5}, 0, ws.Header{Fin: true, Op: ws.OpBinary, Len: 5}, 2, nil},
		{"masked", []byte{0x82, 0x85, 1, 2, 3, 4}, 0, ws.Header{Fin: true, Op: ws.OpBinary, Masked: true, Key: key, Len: 5}, 6, nil},
		{"16-bit length", []byte{0x02, 126, 0x01, 0x00}, 0, ws.Header{Op: ws.OpBinary, Len: 256}, 4, nil},
		{"64-bit length", []byte{0x00, 127, 0, 0, 0, 1, 0, 0, 0, 0}, 0, ws.Header{Op: ws.OpContinuation, Len: 1 << 32}, 10, nil},
		{"ping", []byte{0x89, 0}, 0, ws.Header{Fin: true, Op: ws.OpPing}, 2, nil},
		{"at the limit", []byte{0x82, 126, 0x01, 0x00}, 256, ws.Header{Fin: true, Op: ws.OpBinary, Len: 256}, 4, nil},
		{"empty", nil, 0, ws.Header{}, 0, nil},
		{"one byte", []byte{0x82}, 0, ws.Header{}, 0, nil},
		{"16-bit length cut", []byte{0x82, 126, 1}, 0, ws.Header{}, 0, nil},
		{"mask key cut", []byte{0x82, 0x85, 1, 2}, 0, ws.Header{}, 0, nil},
		{"reserved bits", []byte{0xC2, 0}, 0, ws.Header{}, 0, wire.ErrProtocol},
		{"unknown opcode", []byte{0x83, 0}, 0, ws.Header{}, 0, wire.ErrProtocol},
		{"fragmented ping", []byte{0x09, 0}, 0, ws.Header{}, 0, wire.ErrProtocol},
		{"long close", []byte{0x88, 126, 0, 126}, 0, ws.Header{}, 0, wire.ErrProtocol},
		{"top bit of length", []byte{0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0}, 0, ws.Header{}, 0, wire.ErrProtocol},
		{"above the limit", []byte{0x82, 127, 0, 0, 0, 1, 0, 0, 0, 0}, 1 << 20, ws.Header{}, 0, wire.ErrTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, n, err := ws.ParseHeader(c.in, c.limit)
			if c.err != nil {
				if !errors.Is(err, c.err) {
					t.Fatalf("error %v, want %v", err, c.err)
				}
				return
			}
			if err != nil || n != c.n || (n > 0 && h != c.want) {
				t.Fatalf("got %+v, %d, %v; want %+v, %d", h, n, err, c.want, c.n)
			}
		})
	}
}

// Every header AppendHeader writes parses back to itself, with the
// shortest length encoding.
func TestAppendHeaderRoundTrip(t *testing.T) {
	for _, l := range []uint64{0, 1, 125, 126, 0xFFFF, 0x10000, 1 << 40} {
		for _, masked := range []bool{false, true} {
			h := ws.Header{Fin: l%2 == 0, Op: ws.OpBinary, Masked: masked, Len: l}
			if masked {
				h.Key = [4]byte{9, 8, 7, 6}
			}
			b := ws.AppendHeader(nil, h)
			want := 2
			switch {
			case l >= 0x10000:
				want += 8
			case l >= 126:
				want += 2
			}
			if masked {
				want += 4
			}
			got, n, err := ws.ParseHeader(b, 0)
			if err != nil || n != len(b) || len(b) != want || got != h {
				t.Errorf("len %d masked %v: % x parsed to %+v, %d, %v", l, masked, b, got, n, err)
			}
		}
	}
}

// Mask at any offset and length is the byte-by-byte XOR of RFC 6455.
func TestMask(t *testing.T) {
	key := [4]byte{0xA1, 0xB2, 0xC3, 0xD4}
	for pos := range uint64(5) {
		for _, n := range append(seq(40), 255, 256, 257, 511, 512, 513, 1023, 1024, 1025, 4099, 65536) {
			b := make([]byte, n)
			for i := range b {
				b[i] = byte(i * 7)
			}
			want := bytes.Clone(b)
			for i := range want {
				want[i] ^= key[(pos+uint64(i))%4]
			}
			ws.Mask(key, pos, b)
			if !bytes.Equal(b, want) {
				t.Fatalf("pos %d len %d: % x, want % x", pos, n, b, want)
			}
		}
	}
}

// The example of RFC 6455, section 1.3.
func TestAcceptKey(t *testing.T) {
	if got := ws.AcceptKey("dGhlIHNhbXBsZSBub25jZQ=="); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("AcceptKey = %q", got)
	}
}

// The names nng and mangos use.
func TestSubprotocol(t *testing.T) {
	want := map[uint16]string{
		sp.ProtoPair0: "pair.sp.nanomsg.org", sp.ProtoPair1: "pair1.sp.nanomsg.org",
		sp.ProtoPub0: "pub.sp.nanomsg.org", sp.ProtoSub0: "sub.sp.nanomsg.org",
		sp.ProtoReq0: "req.sp.nanomsg.org", sp.ProtoRep0: "rep.sp.nanomsg.org",
		sp.ProtoPush0: "push.sp.nanomsg.org", sp.ProtoPull0: "pull.sp.nanomsg.org",
		sp.ProtoSurveyor0: "surveyor.sp.nanomsg.org", sp.ProtoRespondent: "respondent.sp.nanomsg.org",
		sp.ProtoBus0: "bus.sp.nanomsg.org",
	}
	for p, name := range want {
		if got := ws.Subprotocol(p); got != name {
			t.Errorf("Subprotocol(%#x) = %q, want %q", p, got, name)
		}
	}
}

// seq returns 0 to n-1.
func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

func BenchmarkMask(b *testing.B) {
	for _, n := range []int{64, 1024, 64 << 10} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			buf := make([]byte, n)
			b.SetBytes(int64(n))
			for b.Loop() {
				ws.Mask([4]byte{1, 2, 3, 4}, 1, buf)
			}
		})
	}
}
