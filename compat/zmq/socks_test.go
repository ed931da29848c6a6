package zmq_test

import (
	"errors"
	"net"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/socket"
	"github.com/mqwire/mqwire/transport/tcp"
)

// startMicrosocks runs microsocks, a SOCKS5 proxy, on a free loopback port
// with args, and returns its address once it takes connections.
func startMicrosocks(t *testing.T, args ...string) string {
	t.Helper()
	path, err := exec.LookPath("microsocks")
	if err != nil {
		testutil.NeedPeer(t, "microsocks (a SOCKS5 proxy)", err)
	}
	for range 5 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		_, port, _ := net.SplitHostPort(addr)
		ln.Close()
		cmd := exec.Command(path, append([]string{"-i", "127.0.0.1", "-p", port}, args...)...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		t.Cleanup(func() { cmd.Process.Kill(); <-exited })
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			select {
			case <-exited:
				deadline = time.Time{} // the port was taken: another
			default:
			}
			if c, err := net.Dial("tcp", addr); err == nil {
				c.Close()
				return addr
			}
		}
	}
	t.Fatal("microsocks does not start")
	return ""
}

// Through a real SOCKS5 proxy (microsocks), an mqwire PUSH reaches a
// libzmq PULL, without and with a username and password (RFC 1929), and
// a libzmq PUSH with ZMQ_SOCKS_PROXY reaches an mqwire PULL through the
// same proxy. Wrong credentials fail the dial with a SOCKSError.
func TestSOCKSProxy(t *testing.T) {
	testutil.CheckGoroutines(t)
	open := startMicrosocks(t)
	guarded := startMicrosocks(t, "-u", "ann", "-P", "secret")
	for _, c := range []struct {
		name  string
		proxy tcp.SOCKS
	}{
		{"no authentication", tcp.SOCKS{Proxy: open}},
		{"username and password", tcp.SOCKS{Proxy: guarded, Username: "ann", Password: "secret"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := push.New(socket.DialDialect(socket.DialectZMTP))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			p := startPeer(t, "PULL", "bind", peerEndpoint(t, "tcp"), "recv", strconv.Itoa(count))
			if _, err := s.Dial(p.url, tcp.DialSOCKS(c.proxy)); err != nil {
				t.Fatal(err)
			}
			mqwireToLibzmq(t, s, p)
		})
	}
	t.Run("wrong password", func(t *testing.T) {
		s, err := push.New(socket.DialDialect(socket.DialectZMTP))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		p := startPeer(t, "PULL", "bind", peerEndpoint(t, "tcp"), "recv", "1")
		_, err = s.Dial(p.url, tcp.DialSOCKS(tcp.SOCKS{Proxy: guarded, Username: "ann", Password: "guess"}), socket.SynchronousDial())
		var se *tcp.SOCKSError
		if !errors.As(err, &se) {
			t.Fatalf("Dial: %v, want a SOCKSError", err)
		}
	})
	t.Run("libzmq through the proxy", func(t *testing.T) {
		s, err := pull.New()
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		l, err := s.Listen(endpoint(t, "tcp"))
		if err != nil {
			t.Fatal(err)
		}
		startPeer(t, "PUSH", "connect", l.URL(), "send", strconv.Itoa(count), "socks="+guarded, "socks_auth=ann:secret")
		libzmqToMqwire(t, s)
	})
}
