package sp_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/mqwire/mqwire/wire"
	"github.com/mqwire/mqwire/wire/sp"
)

// FuzzParseHeader checks that ParseHeader never panics, that what it accepts
// is exactly a well-formed SP header, that every refusal is a
// *wire.ProtocolError, and that an accepted header round-trips through
// AppendHeader.
func FuzzParseHeader(f *testing.F) {
	for _, p := range protocols {
		f.Add(sp.AppendHeader(nil, p))
	}
	f.Add([]byte{})
	f.Add([]byte("GET / HTTP/1.1\r\n"))
	f.Add([]byte{0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3, 1})
	f.Add([]byte{0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01})
	f.Fuzz(func(t *testing.T, h []byte) {
		p, err := sp.ParseHeader(h)
		wellFormed := len(h) >= sp.HeaderSize &&
			bytes.Equal(h[:4], []byte{0, 'S', 'P', 0}) && h[6] == 0 && h[7] == 0
		if err != nil {
			var pe *wire.ProtocolError
			if !errors.As(err, &pe) || !errors.Is(err, wire.ErrProtocol) {
				t.Fatalf("ParseHeader(% x): error %v (%T) is not a *wire.ProtocolError", h, err, err)
			}
			if wellFormed {
				t.Fatalf("ParseHeader refused the well-formed header % x: %v", h, err)
			}
			return
		}
		if !wellFormed {
			t.Fatalf("ParseHeader accepted % x as protocol %#x", h, p)
		}
		if p != binary.BigEndian.Uint16(h[4:6]) {
			t.Fatalf("ParseHeader(% x) = %#x", h, p)
		}
		if again := sp.AppendHeader(nil, p); !bytes.Equal(again, h[:sp.HeaderSize]) {
			t.Fatalf("AppendHeader(%#x) = % x, parsed from % x", p, again, h[:sp.HeaderSize])
		}
	})
}

// FuzzParseFrameHeader checks both framings: a size above the limit is a
// *wire.TooLargeError before anything else is looked at (the IPC type byte
// aside, which comes first on the wire), a bad IPC type byte is a
// *wire.ProtocolError, and a good header round-trips through
// AppendFrameHeader.
func FuzzParseFrameHeader(f *testing.F) {
	for _, fr := range []sp.Framing{sp.FramingTCP, sp.FramingIPC} {
		for _, size := range []uint64{0, 1, 1 << 20, 1<<20 + 1, 1 << 30, 1 << 63, 1<<64 - 1} {
			f.Add(fr.AppendFrameHeader(nil, size), uint64(1<<20), fr == sp.FramingIPC)
			f.Add(fr.AppendFrameHeader(nil, size), uint64(0), fr == sp.FramingIPC)
		}
	}
	f.Add([]byte{2, 0, 0, 0, 0, 0, 0, 0, 5}, uint64(0), true)
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 5}, uint64(0), true)
	f.Add([]byte{1, 2, 3}, uint64(0), false)
	f.Fuzz(func(t *testing.T, h []byte, limit uint64, ipc bool) {
		fr := sp.FramingTCP
		if ipc {
			fr = sp.FramingIPC
		}
		n := fr.FrameHeaderSize()
		size, err := fr.ParseFrameHeader(h, limit)
		if len(h) < n {
			if !errors.Is(err, wire.ErrProtocol) || errors.Is(err, wire.ErrTooLarge) {
				t.Fatalf("short header % x: %v", h, err)
			}
			return
		}
		if ipc && h[0] != 1 {
			var pe *wire.ProtocolError
			if !errors.As(err, &pe) || errors.Is(err, wire.ErrTooLarge) {
				t.Fatalf("IPC type byte %#x: %v (%T)", h[0], err, err)
			}
			return
		}
		want := binary.BigEndian.Uint64(h[n-8 : n])
		if limit != 0 && want > limit {
			var tl *wire.TooLargeError
			if !errors.As(err, &tl) {
				t.Fatalf("size %d above limit %d: %v (%T), want *wire.TooLargeError", want, limit, err, err)
			}
			if tl.Size != want || tl.Limit != limit {
				t.Fatalf("TooLargeError{%d, %d}, want {%d, %d}", tl.Size, tl.Limit, want, limit)
			}
			if !errors.Is(err, wire.ErrTooLarge) || !errors.Is(err, wire.ErrProtocol) {
				t.Fatalf("%v does not match ErrTooLarge and ErrProtocol", err)
			}
			return
		}
		if err != nil {
			t.Fatalf("ParseFrameHeader(% x, %d): %v", h, limit, err)
		}
		if size != want {
			t.Fatalf("ParseFrameHeader(% x) = %d, want %d", h, size, want)
		}
		if again := fr.AppendFrameHeader(nil, size); !bytes.Equal(again, h[:n]) {
			t.Fatalf("AppendFrameHeader(%d) = % x, parsed from % x", size, again, h[:n])
		}
	})
}
