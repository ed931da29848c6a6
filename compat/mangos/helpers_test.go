// Package mangos_test runs mqwire's SP patterns against the Go module
// go.nanomsg.org/mangos/v3 (v3.4.2) in the same process: every pattern
// pairing, with mqwire listening and mangos dialing and the reverse, over tcp,
// ipc and ws. The peer is a Go module pinned in go.mod, so it is never missing
// and these tests never skip.
package mangos_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"go.nanomsg.org/mangos/v3"
	_ "go.nanomsg.org/mangos/v3/transport/ipc" // registers ipc:// with mangos
	_ "go.nanomsg.org/mangos/v3/transport/tcp" // registers tcp:// with mangos
	_ "go.nanomsg.org/mangos/v3/transport/ws"  // registers ws:// with mangos

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/socket"
)

// timeout bounds every single wait of a test; a healthy run takes
// milliseconds.
const timeout = 5 * time.Second

// transports are those both libraries share: byte streams, and ws, which
// carries SP messages in WebSocket messages.
var transports = []string{"tcp", "ipc", "ws"}

// peer is a mangos socket with a count of its attached pipes, so a test can
// wait until mangos has really added the connection (a mangos pub or bus
// sends only to pipes it has added).
type peer struct {
	mangos.Socket
	attached atomic.Int32
}

// newPeer returns a function that wraps a new mangos socket (failing t if
// making it failed), sets deadlines so that no mangos call blocks past
// timeout, and counts its pipes. Use it as newPeer(t)(rep.NewSocket()).
func newPeer(t testing.TB) func(mangos.Socket, error) *peer {
	return func(s mangos.Socket, err error) *peer {
		t.Helper()
		if err != nil {
			t.Fatalf("mangos socket: %v", err)
		}
		return wrapPeer(s)
	}
}

func wrapPeer(s mangos.Socket) *peer {
	p := &peer{Socket: s}
	s.SetPipeEventHook(func(ev mangos.PipeEvent, _ mangos.Pipe) {
		switch ev {
		case mangos.PipeEventAttached:
			p.attached.Add(1)
		case mangos.PipeEventDetached:
			p.attached.Add(-1)
		}
	})
	for _, o := range []string{mangos.OptionRecvDeadline, mangos.OptionSendDeadline} {
		// Not every mangos protocol can do both; ErrBadOption is fine.
		_ = s.SetOption(o, timeout)
	}
	return p
}

// newMQ returns a function that passes a new mqwire socket through, failing
// t if making it failed. Use it as newMQ(t)(req.New()).
func newMQ(t testing.TB) func(*socket.Socket, error) *socket.Socket {
	return func(s *socket.Socket, err error) *socket.Socket {
		t.Helper()
		if err != nil {
			t.Fatalf("mqwire socket: %v", err)
		}
		return s
	}
}

// mangosListen binds a fresh address of transport and returns the bound URL
// (tcp and ws port 0 resolved).
func mangosListen(t testing.TB, p *peer, transport string) string {
	t.Helper()
	l, err := p.NewListener(testutil.URL(t, transport), nil)
	if err != nil {
		t.Fatalf("mangos listener: %v", err)
	}
	if err := l.Listen(); err != nil {
		t.Fatalf("mangos listen: %v", err)
	}
	return l.Address()
}

// connect links mq and mg over a fresh address of transport, mqwire
// listening when mqListens and mangos listening otherwise, and waits until
// both sides have the connection.
func connect(t testing.TB, transport string, mqListens bool, mq *socket.Socket, mg *peer) {
	t.Helper()
	if mqListens {
		ln, err := mq.Listen(testutil.URL(t, transport))
		if err != nil {
			t.Fatalf("mqwire listen: %v", err)
		}
		if err := mg.Dial(ln.URL()); err != nil {
			t.Fatalf("mangos dial %s: %v", ln.URL(), err)
		}
	} else {
		url := mangosListen(t, mg, transport)
		if _, err := mq.Dial(url); err != nil {
			t.Fatalf("mqwire dial %s: %v", url, err)
		}
	}
	waitFor(t, "both sides connected", func() bool {
		return mq.Stats().Pipes >= 1 && mg.attached.Load() >= 1
	})
}

// waitFor polls cond until it holds, failing t after timeout.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	testutil.WaitFor(t, what, timeout, cond)
}

// closeBoth closes both sockets when the test ends (a test may have closed
// them already); with the goroutine check registered before it, the check
// measures after both are closed.
func closeBoth(t testing.TB, mq *socket.Socket, mg mangos.Socket) {
	t.Cleanup(func() {
		if err := mg.Close(); err != nil && !errors.Is(err, mangos.ErrClosed) {
			t.Errorf("mangos close: %v", err)
		}
		if err := mq.Close(); err != nil && !errors.Is(err, socket.ErrClosed) {
			t.Errorf("mqwire close: %v", err)
		}
	})
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	return c
}

// body returns the i-th test message of a run tagged tag: the sizes vary
// from a few bytes to above the size where mqwire's writer hands bodies to
// writev instead of copying them, and the bytes are not all ASCII.
func body(tag string, i int) []byte {
	b := fmt.Appendf(nil, "%s-%03d:", tag, i)
	n := (i * 997) % 3000
	if i%7 == 6 {
		n = 40000 + i
	}
	for j := range n {
		b = append(b, byte(i+j*31))
	}
	return b
}

// messages is how many messages each direction of a test sends.
const messages = 20

func mqSend(t testing.TB, s *socket.Socket, b []byte) {
	t.Helper()
	if err := s.SendContext(ctx(t), socket.NewMessageBytes(b)); err != nil {
		t.Fatalf("mqwire send %.12q: %v", b, err)
	}
}

func mqRecv(t testing.TB, s *socket.Socket) []byte {
	t.Helper()
	m, err := s.RecvContext(ctx(t))
	if err != nil {
		t.Fatalf("mqwire recv: %v", err)
	}
	defer m.Free()
	return bytes.Clone(m.Body)
}

func mgSend(t testing.TB, s mangos.Socket, b []byte) {
	t.Helper()
	if err := s.Send(b); err != nil {
		t.Fatalf("mangos send %.12q: %v", b, err)
	}
}

func mgRecv(t testing.TB, s mangos.Socket) []byte {
	t.Helper()
	b, err := s.Recv()
	if err != nil {
		t.Fatalf("mangos recv: %v", err)
	}
	return b
}

// same fails t if got is not want, showing only the heads of long bodies.
func same(t testing.TB, who string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Fatalf("%s got %d bytes %.20q, want %d bytes %.20q", who, len(got), got, len(want), want)
	}
}
