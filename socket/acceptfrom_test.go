package socket_test

import (
	"errors"
	"net"
	"sync/atomic"
	"testing"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/socket"
)

// madeListener is a listener made outside the transport, as an inherited
// descriptor would be: a tcp listener the test bound itself.
type madeListener struct {
	l      net.Listener
	closed atomic.Int32
}

func (m *madeListener) Accept() (socket.Conn, error) {
	c, err := m.l.Accept()
	if err != nil {
		return socket.Conn{}, err
	}
	return socket.Conn{Stream: c, Remote: c.RemoteAddr().String(), Local: c.LocalAddr().String()}, nil
}

func (m *madeListener) Close() error {
	m.closed.Add(1)
	return m.l.Close()
}

func (m *madeListener) URL() string { return "tcp://" + m.l.Addr().String() }

func newMadeListener(t *testing.T) *madeListener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return &madeListener{l: l}
}

// A socket serves the connections of a listener it did not bind, and
// closes that listener with its Listener; a Listen that fails closes it
// too, whichever option failed.
func TestAcceptFrom(t *testing.T) {
	testutil.CheckGoroutines(t)
	q := must(pull.New())
	p := must(push.New())
	closeAll(t, q, p)
	made := newMadeListener(t)
	l := must(q.Listen("tcp://127.0.0.1:1", socket.AcceptFrom(made)))
	if l.URL() != made.URL() {
		t.Errorf("listener URL %q, want the made listener's %q", l.URL(), made.URL())
	}
	must(p.Dial(made.URL()))
	send(t, p, "through a made listener")
	if got := recv(t, q); got != "through a made listener" {
		t.Errorf("received %q", got)
	}
	l.Close()
	if made.closed.Load() == 0 {
		t.Error("Listener.Close left the made listener open")
	}

	failed := newMadeListener(t)
	if _, err := q.Listen("tcp://127.0.0.1:1", socket.AcceptFrom(failed), socket.ListenTLSConfig(nil)); err == nil {
		t.Error("Listen with a TLS configuration on tcp succeeded")
	}
	if failed.closed.Load() == 0 {
		t.Error("a failed Listen left its made listener open")
	}
	if _, err := q.Listen("tcp://127.0.0.1:1", socket.AcceptFrom(nil)); !errors.Is(err, socket.ErrBadOption) {
		t.Errorf("AcceptFrom(nil): %v, want ErrBadOption", err)
	}
	q.Close()
	late := newMadeListener(t)
	if _, err := q.Listen("tcp://127.0.0.1:1", socket.AcceptFrom(late)); !errors.Is(err, socket.ErrClosed) {
		t.Errorf("Listen on a closed socket: %v, want ErrClosed", err)
	}
	if late.closed.Load() == 0 {
		t.Error("Listen on a closed socket left its made listener open")
	}
}
