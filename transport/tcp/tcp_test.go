package tcp_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/pair"
	"github.com/mqwire/mqwire/socket"
)

// TestURLChecks: an address that can never work fails Dial or Listen at
// once with ErrBadURL, rather than being retried in the background.
func TestURLChecks(t *testing.T) {
	s, err := pair.New()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	bad := []struct {
		op, url string
	}{
		{"dial", "tcp://*:5555"}, // a wildcard is for listening
		{"dial", "tcp://127.0.0.1"},
		{"dial", "tcp4://*:1"},
		{"listen", "tcp://127.0.0.1"},
		{"listen", "tcp://[::1"},
		{"dial", "nosuch://127.0.0.1:5555"},
		{"dial", "127.0.0.1:5555"},
		{"listen", "://x"},
		{"dial", "tcp://127.0.0.1:99999"}, // ports are numbers up to 65535
		{"dial", "tcp://127.0.0.1:-1"},
		{"dial", "tcp://127.0.0.1:http"}, // no service names, as libzmq and nng
		{"listen", "tcp://127.0.0.1:99999"},
		{"listen", "tcp://127.0.0.1:port"},
	}
	for _, c := range bad {
		if c.op == "dial" {
			_, err = s.Dial(c.url)
		} else {
			_, err = s.Listen(c.url)
		}
		if !errors.Is(err, socket.ErrBadURL) {
			t.Errorf("%s %q: %v, want ErrBadURL", c.op, c.url, err)
		}
	}
	for _, url := range []string{"tcp://*:0", "tcp://:0", "tcp://127.0.0.1:0"} {
		l, err := s.Listen(url)
		if err != nil {
			t.Errorf("listen %q: %v", url, err)
			continue
		}
		l.Close()
	}
}

// libzmq's address forms: a wildcard port and an interface name to
// listen on, and a source address to dial from.
func TestLibzmqAddresses(t *testing.T) {
	testutil.CheckGoroutines(t)
	lo := loopbackName(t)
	a, _ := pair.New()
	defer a.Close()
	for _, url := range []string{"tcp://127.0.0.1:*", "tcp://" + lo + ":*", "tcp://*:*"} {
		l, err := a.Listen(url)
		if err != nil {
			t.Fatalf("listen %q: %v", url, err)
		}
		_, port, _ := net.SplitHostPort(strings.TrimPrefix(l.URL(), "tcp://"))
		if port == "0" || port == "*" || port == "" {
			t.Fatalf("listen %q: URL %q names no port", url, l.URL())
		}
		if url == "tcp://"+lo+":*" && !strings.HasPrefix(l.URL(), "tcp://127.") {
			t.Fatalf("listen %q: URL %q, want the interface's 127.x address", url, l.URL())
		}
		l.Close()
	}

	l, err := a.Listen("tcp://127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(l.URL(), "tcp://"))
	free := freePort(t)
	for _, tc := range []struct{ source, remote string }{
		{"127.0.0.2:0", "127.0.0.2:"},
		{"127.0.0.3:*", "127.0.0.3:"},
		{"127.0.0.1:" + free, "127.0.0.1:" + free},
		{lo + ":0", "127."},
	} {
		b, _ := pair.New()
		if _, err := b.Dial("tcp://" + tc.source + ";127.0.0.1:" + port); err != nil {
			t.Fatalf("dial from %q: %v", tc.source, err)
		}
		m := socket.NewMessageBytes([]byte("hi"))
		if err := b.SendContext(ctx(t), m); err != nil {
			t.Fatal(err)
		}
		r, err := a.RecvContext(ctx(t))
		if err != nil {
			t.Fatalf("from %q: %v", tc.source, err)
		}
		r.Free()
		ps := a.PipeStats()
		if len(ps) != 1 || !strings.HasPrefix(ps[0].Remote, tc.remote) || ps[0].Local != "127.0.0.1:"+port {
			t.Fatalf("dialed from %q: pipes %+v, want one from %s to 127.0.0.1:%s", tc.source, ps, tc.remote, port)
		}
		if bs := b.PipeStats(); len(bs) != 1 || !strings.HasPrefix(bs[0].Local, tc.remote) {
			t.Fatalf("dialed from %q: the dialer's pipes %+v, want one from %s", tc.source, bs, tc.remote)
		}
		b.Close()
		deadline := time.Now().Add(5 * time.Second)
		for a.Stats().Pipes > 0 {
			if time.Now().After(deadline) {
				t.Fatal("the pair kept the closed connection")
			}
			time.Sleep(time.Millisecond)
		}
	}

	for _, c := range []struct{ op, url string }{
		{"dial", "tcp://127.0.0.1:*"},
		{"dial", "tcp://no-such-source:0;127.0.0.1:5555"},
		{"dial", "tcp://127.0.0.1;127.0.0.1:5555"},
		{"listen", "tcp://127.0.0.1:0;127.0.0.1:5555"},
	} {
		var err error
		if c.op == "dial" {
			_, err = a.Dial(c.url)
		} else {
			_, err = a.Listen(c.url)
		}
		if !errors.Is(err, socket.ErrBadURL) {
			t.Errorf("%s %q: %v, want ErrBadURL", c.op, c.url, err)
		}
	}
}

// loopbackName returns the name of the loopback interface ("lo" on Linux).
func loopbackName(t *testing.T) string {
	ifs, err := net.Interfaces()
	if err != nil {
		t.Skip(err)
	}
	for _, ifi := range ifs {
		if ifi.Flags&net.FlagLoopback != 0 {
			return ifi.Name
		}
	}
	t.Skip("no loopback interface")
	return ""
}

// freePort returns a tcp port nobody listens on now.
func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return c
}

// IPv6: a listener on the loopback's IPv6 address (tcp:// and tcp6://)
// reports a bracketed URL, and a dialer reaches it there. Skipped where the
// machine has no IPv6 loopback.
func TestIPv6Loopback(t *testing.T) {
	testutil.CheckGoroutines(t)
	testutil.NeedIPv6Loopback(t)
	for _, url := range []string{"tcp://[::1]:0", "tcp6://[::1]:*"} {
		a, _ := pair.New()
		b, _ := pair.New()
		l, err := a.Listen(url)
		if err != nil {
			t.Fatalf("listen %q: %v", url, err)
		}
		if !strings.Contains(l.URL(), "[::1]:") {
			t.Fatalf("listen %q: URL %q", url, l.URL())
		}
		if _, err := b.Dial(l.URL()); err != nil {
			t.Fatalf("dial %q: %v", l.URL(), err)
		}
		if err := b.SendContext(ctx(t), socket.NewMessageBytes([]byte("over IPv6"))); err != nil {
			t.Fatal(err)
		}
		m, err := a.RecvContext(ctx(t))
		if err != nil || string(m.Body) != "over IPv6" {
			t.Fatalf("received %v, %v", m, err)
		}
		m.Free()
		a.Close()
		b.Close()
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
