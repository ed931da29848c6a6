package socket_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/pair"
	"github.com/mqwire/mqwire/socket"
)

// SendFrames and RecvFrames carry multipart messages whole; RecvBytes
// refuses one rather than return its first frame alone, and counts it.
// Over SP, whose messages have one part, the frames arrive joined.
func TestFrames(t *testing.T) {
	for _, c := range []struct {
		name    string
		dialect socket.Dialect
	}{{"zmtp", socket.DialectZMTP}, {"sp", socket.DialectSP}} {
		t.Run(c.name, func(t *testing.T) {
			testutil.CheckGoroutines(t)
			a := must(pair.New())
			b := must(pair.New(socket.DialDialect(c.dialect)))
			closeAll(t, a, b)
			l := must(a.Listen("tcp://127.0.0.1:0"))
			must(b.Dial(l.URL()))
			if err := b.SendFrames([]byte("one"), []byte("two"), nil, []byte("four")); err != nil {
				t.Fatal(err)
			}
			if c.dialect == socket.DialectSP {
				if got := recv(t, a); got != "onetwofour" {
					t.Fatalf("SP peer got %q", got)
				}
				return
			}
			_, err := a.RecvBytes()
			if !errors.Is(err, socket.ErrMultipart) {
				t.Fatalf("RecvBytes of 4 frames: %v, want ErrMultipart", err)
			}
			if n := a.Stats().Dropped(socket.DropMultipart); n != 1 {
				t.Fatalf("DropMultipart = %d, want 1", n)
			}
			want := [][]byte{[]byte("one"), []byte("two"), {}, []byte("four")}
			for range 2 {
				must0(t, b.SendFrames(want...))
				got, err := a.RecvFrames()
				if err != nil {
					t.Fatal(err)
				}
				if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
					t.Fatalf("RecvFrames: %q, want %q", got, want)
				}
			}
			must0(t, b.SendBytes([]byte("single")))
			got, err := a.RecvFrames()
			if err != nil || len(got) != 1 || string(got[0]) != "single" {
				t.Fatalf("RecvFrames of one frame: %q, %v", got, err)
			}
			if err := b.SendFrames(); !errors.Is(err, socket.ErrBadState) {
				t.Fatalf("SendFrames of nothing: %v", err)
			}
		})
	}
}

func must0(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
