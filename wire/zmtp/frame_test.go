package zmtp_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/mqwire/mqwire/wire"
	"github.com/mqwire/mqwire/wire/zmtp"
)

func TestAppendFrameHeader(t *testing.T) {
	for _, tc := range []struct {
		flags byte
		size  uint64
		want  []byte
	}{
		{0, 0, []byte{0, 0}},
		{zmtp.FlagMore, 0, []byte{1, 0}},
		{0, 5, []byte{0, 5}},
		{zmtp.FlagCommand, 38, []byte{4, 38}},
		{0, 255, []byte{0, 255}},
		{0, 256, []byte{2, 0, 0, 0, 0, 0, 0, 1, 0}},
		{zmtp.FlagMore, 1 << 40, []byte{3, 0, 0, 1, 0, 0, 0, 0, 0}},
		{zmtp.FlagCommand, 300, []byte{6, 0, 0, 0, 0, 0, 0, 1, 44}},
		// FlagLong is decided by the size, not by the caller.
		{zmtp.FlagLong, 7, []byte{0, 7}},
		{zmtp.FlagLong | zmtp.FlagMore, 1000, []byte{3, 0, 0, 0, 0, 0, 0, 3, 0xe8}},
	} {
		got := zmtp.AppendFrameHeader([]byte{0xAA}, tc.flags, tc.size)
		if !bytes.Equal(got[1:], tc.want) || got[0] != 0xAA {
			t.Errorf("AppendFrameHeader(0x%02x, %d) = % x, want % x", tc.flags, tc.size, got[1:], tc.want)
			continue
		}
		if n := zmtp.HeaderLen(tc.size); n != len(tc.want) {
			t.Errorf("HeaderLen(%d) = %d", tc.size, n)
		}
		if n := zmtp.FrameHeaderLen(got[1]); n != len(tc.want) {
			t.Errorf("FrameHeaderLen(0x%02x) = %d", got[1], n)
		}
		h, n, err := zmtp.ParseFrameHeader(append(got[1:], "body"...), 0)
		if err != nil || n != len(tc.want) || h.Size != tc.size || h.Flags&^zmtp.FlagLong != tc.flags&^zmtp.FlagLong {
			t.Errorf("ParseFrameHeader(% x) = %+v, %d, %v", got[1:], h, n, err)
		}
	}
	f := zmtp.AppendFrame(nil, zmtp.FlagMore, []byte("abc"))
	if !bytes.Equal(f, []byte{1, 3, 'a', 'b', 'c'}) {
		t.Errorf("AppendFrame = % x", f)
	}
}

func TestParseFrameHeader(t *testing.T) {
	for _, tc := range []struct {
		name  string
		in    []byte
		limit uint64
		want  zmtp.FrameHeader
		n     int
	}{
		{"empty frame", []byte{0, 0}, 0, zmtp.FrameHeader{Flags: 0, Size: 0}, 2},
		{"more", []byte{1, 9, 'x'}, 9, zmtp.FrameHeader{Flags: 1, Size: 9}, 2},
		{"command", []byte{4, 255}, 0, zmtp.FrameHeader{Flags: 4, Size: 255}, 2},
		// libzmq accepts a LONG header for a small frame; so do we.
		{"long small", []byte{2, 0, 0, 0, 0, 0, 0, 0, 5}, 0, zmtp.FrameHeader{Flags: 2, Size: 5}, 9},
		{"long command", []byte{6, 0, 0, 0, 0, 0, 0, 1, 0}, 256, zmtp.FrameHeader{Flags: 6, Size: 256}, 9},
		{"long more", []byte{3, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, 0,
			zmtp.FrameHeader{Flags: 3, Size: 1<<63 - 1}, 9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, n, err := zmtp.ParseFrameHeader(tc.in, tc.limit)
			if err != nil || h != tc.want || n != tc.n {
				t.Fatalf("ParseFrameHeader(% x, %d) = %+v, %d, %v", tc.in, tc.limit, h, n, err)
			}
			if h.More() != (tc.want.Flags&1 != 0) || h.Command() != (tc.want.Flags&4 != 0) {
				t.Fatalf("More/Command of %+v", h)
			}
			for i := 0; i < tc.n; i++ {
				if _, n, err := zmtp.ParseFrameHeader(tc.in[:i], tc.limit); err != zmtp.ErrShort || n != 0 {
					t.Fatalf("first %d bytes: n=%d, %v, want ErrShort", i, n, err)
				}
			}
		})
	}
	if errors.Is(zmtp.ErrShort, wire.ErrProtocol) {
		t.Error("ErrShort is a protocol error")
	}
}

func TestParseFrameHeaderRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		says string
	}{
		{"reserved bit 3", []byte{0x08, 0}, "reserved frame flag bits"},
		{"reserved bit 7", []byte{0x80}, "reserved frame flag bits"},
		{"all bits", []byte{0xFF, 0, 0, 0, 0, 0, 0, 0, 0}, "reserved frame flag bits"},
		{"command more", []byte{0x05, 3}, "command frame with MORE"},
		{"command more long", []byte{0x07}, "command frame with MORE"},
		{"2^63", []byte{2, 0x80, 0, 0, 0, 0, 0, 0, 0}, "2^63 or more"},
		{"2^64-1", []byte{2, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, "2^63 or more"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, n, err := zmtp.ParseFrameHeader(tc.in, 0)
			if err == nil || n != 0 {
				t.Fatalf("ParseFrameHeader(% x) = %+v, %d, %v", tc.in, h, n, err)
			}
			wantProtoErr(t, err, tc.says)
		})
	}
}

func TestParseFrameHeaderLimit(t *testing.T) {
	for _, tc := range []struct {
		in    []byte
		limit uint64
		size  uint64
	}{
		{[]byte{0, 11}, 10, 11},
		{[]byte{1, 255}, 1, 255},
		{[]byte{2, 0, 0, 0, 0, 0, 0x10, 0, 1}, 1 << 20, 1<<20 + 1},
		{[]byte{6, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, 1 << 20, 1<<63 - 1},
	} {
		_, n, err := zmtp.ParseFrameHeader(tc.in, tc.limit)
		var tl *wire.TooLargeError
		if !errors.As(err, &tl) || tl.Size != tc.size || tl.Limit != tc.limit || n != 0 {
			t.Errorf("ParseFrameHeader(% x, %d): %d, %v (%T)", tc.in, tc.limit, n, err, err)
		}
		if !errors.Is(err, wire.ErrTooLarge) || !errors.Is(err, wire.ErrProtocol) {
			t.Errorf("%v does not match ErrTooLarge and ErrProtocol", err)
		}
	}
	// At the limit is fine.
	if h, _, err := zmtp.ParseFrameHeader([]byte{0, 10}, 10); err != nil || h.Size != 10 {
		t.Errorf("size at the limit: %+v, %v", h, err)
	}
}

func TestParseFrameHeaderAllocs(t *testing.T) {
	h := []byte{2, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}
	for _, limit := range []uint64{0, 1 << 20} {
		if a := testing.AllocsPerRun(100, func() { zmtp.ParseFrameHeader(h, limit) }); a > 1 {
			t.Errorf("limit %d: %.0f allocations", limit, a)
		}
	}
	if a := testing.AllocsPerRun(100, func() { zmtp.ParseFrameHeader(h, 0) }); a != 0 {
		t.Errorf("accepting a header allocates %.0f times", a)
	}
}
