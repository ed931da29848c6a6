package ws_test

import (
	"errors"
	"testing"

	"github.com/mqwire/mqwire/wire"
	"github.com/mqwire/mqwire/wire/ws"
)

// FuzzParseHeader checks that ParseHeader never panics, that every refusal
// is a typed protocol error, that it never reads past b or claims more than
// MaxHeaderSize bytes, that a data frame it accepts is within the limit,
// and that an accepted header with the shortest length encoding
// round-trips through AppendHeader.
func FuzzParseHeader(f *testing.F) {
	f.Add([]byte{0x82, 5}, uint64(0))
	f.Add([]byte{0x82, 0x85, 1, 2, 3, 4}, uint64(0))
	f.Add([]byte{0x02, 126, 0x01, 0x00}, uint64(100))
	f.Add([]byte{0x00, 127, 0, 0, 0, 1, 0, 0, 0, 0}, uint64(1<<20))
	f.Add([]byte{0x89, 0x80, 0, 0, 0, 0}, uint64(0))
	f.Add([]byte{0x88, 126, 0, 126}, uint64(0))
	f.Add([]byte("GET / HTTP/1.1\r\n"), uint64(0))
	f.Fuzz(func(t *testing.T, b []byte, limit uint64) {
		h, n, err := ws.ParseHeader(b, limit)
		if err != nil {
			if !errors.Is(err, wire.ErrProtocol) {
				t.Fatalf("ParseHeader(% x): error %v is not a protocol error", b, err)
			}
			return
		}
		if n == 0 {
			return // too short
		}
		if n > len(b) || n > ws.MaxHeaderSize {
			t.Fatalf("ParseHeader(% x) claims %d bytes", b, n)
		}
		if !h.Op.Control() && limit > 0 && h.Len > limit {
			t.Fatalf("accepted a frame of %d bytes over the limit %d", h.Len, limit)
		}
		again := ws.AppendHeader(nil, h)
		h2, n2, err := ws.ParseHeader(again, limit)
		if err != nil || n2 != len(again) || h2 != h {
			t.Fatalf("% x parsed to %+v, which appends to % x and parses to %+v, %d, %v", b[:n], h, again, h2, n2, err)
		}
	})
}
