package zmtp_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/mqwire/mqwire/wire"
	"github.com/mqwire/mqwire/wire/zmtp"
)

// wantProtoErr fails t unless err is a *wire.ProtocolError of the zmtp
// dialect matching wire.ErrProtocol whose text contains says.
func wantProtoErr(t testing.TB, err error, says string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one saying %q", says)
	}
	var pe *wire.ProtocolError
	if !errors.As(err, &pe) || !errors.Is(err, wire.ErrProtocol) {
		t.Fatalf("error %v (%T) is not a *wire.ProtocolError matching ErrProtocol", err, err)
	}
	if pe.Dialect != "zmtp" {
		t.Errorf("dialect %q, want zmtp", pe.Dialect)
	}
	if errors.Is(err, wire.ErrTooLarge) {
		t.Errorf("%v matches ErrTooLarge", err)
	}
	if !strings.Contains(err.Error(), says) {
		t.Errorf("error %q does not say %q", err, says)
	}
}

// body returns a command frame without its frame header, checking that the
// header is well formed and announces the rest of the frame.
func body(t testing.TB, frame []byte) []byte {
	t.Helper()
	h, n, err := zmtp.ParseFrameHeader(frame, 0)
	if err != nil {
		t.Fatalf("frame % x: %v", frame, err)
	}
	if !h.Command() || h.More() {
		t.Fatalf("frame % x: flags 0x%02x, want a command", frame, h.Flags)
	}
	if h.Size != uint64(len(frame)-n) {
		t.Fatalf("frame % x: header says %d bytes, %d follow", frame, h.Size, len(frame)-n)
	}
	return frame[n:]
}

// mustPanic fails t unless f panics.
func mustPanic(t testing.TB, what string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s did not panic", what)
		}
	}()
	f()
}

// cat joins byte slices and strings.
func cat(parts ...any) []byte {
	var b []byte
	for _, p := range parts {
		switch p := p.(type) {
		case string:
			b = append(b, p...)
		case []byte:
			b = append(b, p...)
		case byte:
			b = append(b, p)
		case int:
			b = append(b, byte(p))
		case rune:
			b = append(b, byte(p))
		default:
			panic("cat: bad part")
		}
	}
	return b
}
