package zmq_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/socket"
)

// adminAuth is an Authenticator that knows admin / secret.
func adminAuth(_ context.Context, r socket.ZAPRequest) socket.ZAPReply {
	if len(r.Credentials) == 2 && string(r.Credentials[0]) == "admin" && string(r.Credentials[1]) == "secret" {
		return socket.ZAPReply{StatusCode: socket.ZAPOK, UserID: "admin"}
	}
	return socket.ZAPReply{StatusCode: socket.ZAPDenied, StatusText: "bad credentials"}
}

// authFailure waits for an EventHandshakeFailed and checks that it is an
// authentication failure with status 400.
func authFailure(t *testing.T, ev <-chan socket.Event, byPeer bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case e := <-ev:
			if e.Type != socket.EventHandshakeFailed {
				continue
			}
			var ae *socket.AuthError
			if !errors.As(e.Err, &ae) || !errors.Is(e.Err, socket.ErrAuth) || errors.Is(e.Err, socket.ErrProtocol) {
				t.Fatalf("handshake failed with %v, want an AuthError", e.Err)
			}
			if ae.StatusCode != socket.ZAPDenied || ae.ByPeer != byPeer {
				t.Errorf("%+v, want status 400, by peer %v", ae, byPeer)
			}
			return
		case <-deadline:
			t.Fatal("no EventHandshakeFailed")
		}
	}
}

// mqwire's PLAIN client against libzmq's PLAIN server (pyzmq's
// ThreadAuthenticator as its ZAP handler), whichever side binds.
func TestPlainClientLibzmqServer(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr+"/mqwire-dials", func(t *testing.T) {
			testutil.CheckGoroutines(t)
			p := startPeer(t, "PULL", "bind", peerEndpoint(t, tr), "recv", fmt.Sprint(count), "plain_server=admin:secret")
			s, _ := push.New(socket.DialDialect(socket.DialectZMTP), socket.PlainClient("admin", "secret"))
			defer s.Close()
			if _, err := s.Dial(p.url); err != nil {
				t.Fatal(err)
			}
			mqwireToLibzmq(t, s, p)
		})
	}
	t.Run("tcp/mqwire-listens", func(t *testing.T) {
		testutil.CheckGoroutines(t)
		// (A libzmq PLAIN server that sends and exits would stop its ZAP
		// handler while its messages wait for the handshake: it receives.)
		s, _ := push.New(socket.PlainClient("admin", "secret"))
		defer s.Close()
		l, err := s.Listen(endpoint(t, "tcp"))
		if err != nil {
			t.Fatal(err)
		}
		p := startPeer(t, "PULL", "connect", l.URL(), "recv", fmt.Sprint(count), "plain_server=admin:secret")
		mqwireToLibzmq(t, s, p)
	})
	t.Run("tcp/wrong-password", func(t *testing.T) {
		testutil.CheckGoroutines(t)
		p := startPeer(t, "PULL", "bind", peerEndpoint(t, "tcp"), "recv", "1", "plain_server=admin:secret")
		s, _ := push.New(socket.DialDialect(socket.DialectZMTP), socket.PlainClient("admin", "wrong"))
		defer s.Close()
		ev := s.Events(16)
		if _, err := s.Dial(p.url); err != nil {
			t.Fatal(err)
		}
		// libzmq's malformed PLAIN ERROR reads as status 400 from the peer.
		authFailure(t, ev, true)
		if len(s.PipeStats()) != 0 {
			t.Errorf("pipes %+v after a refused handshake", s.PipeStats())
		}
	})
}

// libzmq's PLAIN client against mqwire's PLAIN server, whichever side binds.
func TestPlainServerLibzmqClient(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr+"/mqwire-listens", func(t *testing.T) {
			testutil.CheckGoroutines(t)
			s, _ := pull.New(socket.PlainServer(adminAuth))
			defer s.Close()
			l, err := s.Listen(endpoint(t, tr))
			if err != nil {
				t.Fatal(err)
			}
			startPeer(t, "PUSH", "connect", l.URL(), "send", fmt.Sprint(count), "plain_user=admin", "plain_password=secret")
			libzmqToMqwire(t, s)
		})
	}
	t.Run("tcp/mqwire-dials", func(t *testing.T) {
		testutil.CheckGoroutines(t)
		p := startPeer(t, "PULL", "bind", peerEndpoint(t, "tcp"), "recv", fmt.Sprint(count), "plain_user=admin", "plain_password=secret")
		s, _ := push.New(socket.DialDialect(socket.DialectZMTP), socket.PlainServer(adminAuth))
		defer s.Close()
		if _, err := s.Dial(p.url); err != nil {
			t.Fatal(err)
		}
		mqwireToLibzmq(t, s, p)
	})
	// With a wrong password libzmq must see an authentication failure
	// (ZMQ_EVENT_HANDSHAKE_FAILED_AUTH = 16384, status 400), not a protocol
	// error, and no message may get through.
	t.Run("tcp/wrong-password", func(t *testing.T) {
		testutil.CheckGoroutines(t)
		s, _ := pull.New(socket.PlainServer(adminAuth))
		defer s.Close()
		ev := s.Events(16)
		l, err := s.Listen(endpoint(t, "tcp"))
		if err != nil {
			t.Fatal(err)
		}
		p := startPeer(t, "PUSH", "connect", l.URL(), "handshake", "0", "plain_user=admin", "plain_password=wrong")
		if got := p.line(t); got != "event 16384 400" {
			t.Errorf("libzmq reported %q, want event 16384 400 (HANDSHAKE_FAILED_AUTH)", got)
		}
		authFailure(t, ev, false)
		if len(s.PipeStats()) != 0 {
			t.Errorf("pipes %+v after a refused handshake", s.PipeStats())
		}
	})
}
