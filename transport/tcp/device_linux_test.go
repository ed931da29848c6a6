package tcp_test

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/pair"
	"github.com/mqwire/mqwire/socket"
	"github.com/mqwire/mqwire/transport/tcp"
)

// otherInterface returns an interface that is up and not the loopback, or
// skips t.
func otherInterface(t *testing.T) string {
	ifs, err := net.Interfaces()
	if err != nil {
		t.Skip(err)
	}
	for _, ifi := range ifs {
		if ifi.Flags&net.FlagLoopback == 0 && ifi.Flags&net.FlagUp != 0 {
			return ifi.Name
		}
	}
	t.Skip("no interface up but the loopback")
	return ""
}

// ListenDevice and DialDevice bind the sockets to an interface: bound to
// the loopback, a listener and a dialer reach each other at 127.0.0.1;
// bound to another interface, a dialer cannot reach 127.0.0.1, and a
// listener on every address takes nothing that comes through the
// loopback. Names that are no interface are refused when given.
func TestBindToDevice(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SO_BINDTODEVICE may take CAP_NET_RAW; the test command runs as root")
	}
	testutil.CheckGoroutines(t)
	lo := loopbackName(t)

	s := must(pair.New())
	defer s.Close()
	l := must(s.Listen("tcp://127.0.0.1:0", tcp.ListenDevice(lo)))
	d := must(pair.New())
	defer d.Close()
	must(d.Dial(l.URL(), tcp.DialDevice(lo)))
	if err := d.SendContext(ctx(t), socket.NewMessageBytes([]byte("hi"))); err != nil {
		t.Fatal(err)
	}
	if m, err := s.RecvContext(ctx(t)); err != nil || string(m.Body) != "hi" {
		t.Fatalf("over %s: %v %v", lo, m, err)
	}

	other := otherInterface(t)
	// A dialer bound elsewhere cannot reach the loopback's address (its
	// SYN leaves through the other interface and is never answered).
	d2 := must(pair.New(socket.ConnectTimeout(300 * time.Millisecond)))
	defer d2.Close()
	if _, err := d2.Dial(l.URL(), tcp.DialDevice(other), socket.SynchronousDial()); err == nil {
		t.Errorf("a dialer bound to %s reached 127.0.0.1", other)
	}
	// A listener on every address, bound elsewhere, takes nothing from
	// the loopback.
	s2 := must(pair.New())
	defer s2.Close()
	l2 := must(s2.Listen("tcp://*:0", tcp.ListenDevice(other)))
	_, port, _ := net.SplitHostPort(l2.URL()[len("tcp://"):])
	d3 := must(pair.New(socket.ConnectTimeout(300 * time.Millisecond)))
	defer d3.Close()
	if _, err := d3.Dial("tcp://127.0.0.1:"+port, socket.SynchronousDial()); err == nil {
		t.Errorf("a listener bound to %s took a connection through the loopback", other)
	}

	for _, name := range []string{"", "no-such-if0", "a-name-far-too-long"} {
		if _, err := s.Listen("tcp://127.0.0.1:0", tcp.ListenDevice(name)); !errors.Is(err, socket.ErrBadOption) {
			t.Errorf("ListenDevice(%q): %v, want ErrBadOption", name, err)
		}
		if _, err := d.Dial("tcp://127.0.0.1:1", tcp.DialDevice(name)); !errors.Is(err, socket.ErrBadOption) {
			t.Errorf("DialDevice(%q): %v, want ErrBadOption", name, err)
		}
	}
	if _, err := s.Listen(testutil.URL(t, "ipc"), tcp.ListenDevice(lo)); !errors.Is(err, socket.ErrOptionNotApplicable) {
		t.Errorf("ListenDevice on ipc: %v", err)
	}
}
