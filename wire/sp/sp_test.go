package sp_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/mqwire/mqwire/wire"
	"github.com/mqwire/mqwire/wire/sp"
)

var protocols = []uint16{
	sp.ProtoPair0, sp.ProtoPair1, sp.ProtoPub0, sp.ProtoSub0, sp.ProtoReq0, sp.ProtoRep0,
	sp.ProtoPush0, sp.ProtoPull0, sp.ProtoSurveyor0, sp.ProtoRespondent, sp.ProtoBus0,
}

func TestHeaderBytes(t *testing.T) {
	// The bytes nng puts on the wire for a rep0 socket.
	want := []byte{0, 'S', 'P', 0, 0x00, 0x31, 0, 0}
	if got := sp.AppendHeader(nil, sp.ProtoRep0); !bytes.Equal(got, want) {
		t.Fatalf("AppendHeader(rep0) = % x, want % x", got, want)
	}
	for _, p := range protocols {
		h := sp.AppendHeader([]byte("prefix"), p)
		if len(h) != len("prefix")+sp.HeaderSize {
			t.Fatalf("AppendHeader appended %d bytes", len(h)-len("prefix"))
		}
		got, err := sp.ParseHeader(h[len("prefix"):])
		if err != nil || got != p {
			t.Errorf("ParseHeader(AppendHeader(%s)) = %#x, %v", sp.ProtoName(p), got, err)
		}
		if strings.HasPrefix(sp.ProtoName(p), "0x") {
			t.Errorf("protocol %#x has no name", p)
		}
	}
	if got := sp.ProtoName(0x1234); got != "0x1234" {
		t.Errorf("ProtoName(0x1234) = %q", got)
	}
}

func TestParseHeaderRejects(t *testing.T) {
	zmtp := append([]byte{0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3, 1}, "NULL"...)
	for _, tc := range []struct {
		name string
		in   []byte
		says string // the error names this
	}{
		{"empty", nil, "short"},
		{"short", []byte{0, 'S', 'P'}, "short"},
		{"garbage", []byte("hello world!"), "bad connection header"},
		{"zmtp", zmtp, "ZMTP"},
		{"http get", []byte("GET / HTTP/1.1\r\n"), "HTTP"},
		{"http post", []byte("POST /x HTTP/1.1\r\n"), "HTTP"},
		{"http reply", []byte("HTTP/1.1 200 OK\r\n"), "HTTP"},
		{"tls", []byte{0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc}, "TLS"},
		{"byte 0", []byte{1, 'S', 'P', 0, 0, 0x31, 0, 0}, "bad connection header"},
		{"byte 3", []byte{0, 'S', 'P', 1, 0, 0x31, 0, 0}, "bad connection header"},
		{"byte 6", []byte{0, 'S', 'P', 0, 0, 0x31, 1, 0}, "bad connection header"},
		{"byte 7", []byte{0, 'S', 'P', 0, 0, 0x31, 0, 1}, "bad connection header"},
		{"lower case", []byte{0, 's', 'p', 0, 0, 0x31, 0, 0}, "bad connection header"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := sp.ParseHeader(tc.in)
			if err == nil {
				t.Fatalf("ParseHeader(% x) = %#x, want an error", tc.in, p)
			}
			var pe *wire.ProtocolError
			if !errors.As(err, &pe) || !errors.Is(err, wire.ErrProtocol) {
				t.Fatalf("error %v (%T) is not a *wire.ProtocolError matching ErrProtocol", err, err)
			}
			if pe.Dialect != "sp" {
				t.Errorf("dialect %q", pe.Dialect)
			}
			if !strings.Contains(err.Error(), tc.says) {
				t.Errorf("error %q does not say %q", err, tc.says)
			}
		})
	}
}

func TestFrameHeader(t *testing.T) {
	if n := sp.FramingTCP.FrameHeaderSize(); n != 8 {
		t.Errorf("TCP frame header %d bytes", n)
	}
	if n := sp.FramingIPC.FrameHeaderSize(); n != 9 {
		t.Errorf("IPC frame header %d bytes", n)
	}
	if got, want := sp.FramingTCP.AppendFrameHeader(nil, 0x0102), []byte{0, 0, 0, 0, 0, 0, 1, 2}; !bytes.Equal(got, want) {
		t.Errorf("TCP frame header % x, want % x", got, want)
	}
	if got, want := sp.FramingIPC.AppendFrameHeader(nil, 0x0102), []byte{1, 0, 0, 0, 0, 0, 0, 1, 2}; !bytes.Equal(got, want) {
		t.Errorf("IPC frame header % x, want % x", got, want)
	}
	for _, f := range []sp.Framing{sp.FramingTCP, sp.FramingIPC} {
		for _, size := range []uint64{0, 1, 255, 1 << 20, math.MaxUint32, math.MaxUint64} {
			h := f.AppendFrameHeader(nil, size)
			got, err := f.ParseFrameHeader(h, 0)
			if err != nil || got != size {
				t.Errorf("framing %d: round trip of %d: %d, %v", f, size, got, err)
			}
			got, err = f.ParseFrameHeader(h, size)
			if err != nil || got != size {
				t.Errorf("framing %d: size %d at limit %d: %d, %v", f, size, size, got, err)
			}
			if size > 1 { // limit 0 means no limit
				_, err = f.ParseFrameHeader(h, size-1)
				var tl *wire.TooLargeError
				if !errors.As(err, &tl) || tl.Size != size || tl.Limit != size-1 {
					t.Errorf("framing %d: size %d above limit %d: %v", f, size, size-1, err)
				}
				if !errors.Is(err, wire.ErrTooLarge) || !errors.Is(err, wire.ErrProtocol) {
					t.Errorf("TooLargeError %v does not match ErrTooLarge and ErrProtocol", err)
				}
			}
		}
		if _, err := f.ParseFrameHeader(make([]byte, f.FrameHeaderSize()-1), 0); !errors.Is(err, wire.ErrProtocol) {
			t.Errorf("framing %d: short header: %v", f, err)
		}
	}
	for _, typ := range []byte{0, 2, 0x7f, 0xff} {
		h := append([]byte{typ}, binary.BigEndian.AppendUint64(nil, 3)...)
		_, err := sp.FramingIPC.ParseFrameHeader(h, 0)
		if !errors.Is(err, wire.ErrProtocol) || errors.Is(err, wire.ErrTooLarge) || !strings.Contains(err.Error(), "IPC") {
			t.Errorf("IPC type byte %#x: %v", typ, err)
		}
	}
}

func TestParseFrameHeaderDoesNotAllocate(t *testing.T) {
	h := sp.FramingIPC.AppendFrameHeader(nil, 1<<62)
	n := testing.AllocsPerRun(100, func() {
		if _, err := sp.FramingIPC.ParseFrameHeader(h[:9], 1<<20); err == nil {
			panic("no error")
		}
	})
	// The *wire.TooLargeError itself is the only allocation.
	if n > 1 {
		t.Errorf("ParseFrameHeader allocates %v times per call", n)
	}
	ok := sp.FramingTCP.AppendFrameHeader(nil, 10)
	if n := testing.AllocsPerRun(100, func() { sp.FramingTCP.ParseFrameHeader(ok, 1<<20) }); n != 0 {
		t.Errorf("ParseFrameHeader of a good header allocates %v times", n)
	}
}
