package zmq_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/pub"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/pattern/req"
	"github.com/mqwire/mqwire/pattern/sub"
	"github.com/mqwire/mqwire/socket"
	"github.com/mqwire/mqwire/wire/zmtp"
)

// curveKeys are a server's and a client's long-term key pairs.
type curveKeys struct{ testutil.CurveKeys }

func newCurveKeys(t *testing.T) curveKeys { return curveKeys{testutil.NewCurveKeys(t)} }

// peerServer and peerClient are peer.py's CURVE arguments.
func (k curveKeys) peerServer() string { return "curve_server=" + k.ServerSecret.String() }
func (k curveKeys) peerClient() string {
	return fmt.Sprintf("curve_client=%s,%s,%s", k.ServerPublic, k.ClientPublic, k.ClientSecret)
}

// mqwire's CURVE client against libzmq's CURVE server and the other way
// round, with multipart messages, over tcp and ipc.
func TestCurveWithLibzmq(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr+"/mqwire-client", func(t *testing.T) {
			testutil.CheckGoroutines(t)
			k := newCurveKeys(t)
			p := startPeer(t, "PULL", "bind", peerEndpoint(t, tr), "recv", fmt.Sprint(count), k.peerServer())
			s, _ := push.New(socket.CurveClient(k.ServerPublic, k.ClientPublic, k.ClientSecret))
			defer s.Close()
			if _, err := s.Dial(p.url); err != nil {
				t.Fatal(err)
			}
			mqwireToLibzmq(t, s, p)
		})
		t.Run(tr+"/mqwire-server", func(t *testing.T) {
			testutil.CheckGoroutines(t)
			k := newCurveKeys(t)
			s, _ := pull.New(socket.CurveServer(k.ServerSecret, nil))
			defer s.Close()
			l, err := s.Listen(endpoint(t, tr))
			if err != nil {
				t.Fatal(err)
			}
			startPeer(t, "PUSH", "connect", l.URL(), "send", fmt.Sprint(count), k.peerClient())
			libzmqToMqwire(t, s)
		})
	}
}

// Requests of every frame-size class (short and long frames, several
// boxes' worth of a write) go to a libzmq REP over CURVE and come back.
func TestCurveRequestsToLibzmq(t *testing.T) {
	testutil.CheckGoroutines(t)
	k := newCurveKeys(t)
	sizes := []int{0, 1, 200, 255, 256, 4000, 70 << 10, 300 << 10, 1<<20 + 13}
	p := startPeer(t, "REP", "bind", peerEndpoint(t, "tcp"), "echo", fmt.Sprint(len(sizes)), k.peerServer())
	s, _ := req.New(socket.CurveClient(k.ServerPublic, k.ClientPublic, k.ClientSecret), socket.MaxRecvSize(0))
	defer s.Close()
	if _, err := s.Dial(p.url); err != nil {
		t.Fatal(err)
	}
	for i, size := range sizes {
		body := bytes.Repeat([]byte{byte('a' + i)}, size)
		if err := s.SendContext(ctx(t), socket.NewMessageBytes(body)); err != nil {
			t.Fatal(err)
		}
		m, err := s.RecvContext(ctx(t))
		if err != nil {
			t.Fatalf("reply to %d bytes: %v", size, err)
		}
		if !bytes.Equal(m.Body, body) {
			t.Fatalf("reply to %d bytes has %d", size, len(m.Body))
		}
		m.Free()
	}
}

// A libzmq client whose server key is wrong, and one mqwire's
// authenticator refuses: libzmq's monitor reports the failure, and nothing
// gets through.
func TestCurveRefusesLibzmq(t *testing.T) {
	t.Run("refused-by-zap", func(t *testing.T) {
		testutil.CheckGoroutines(t)
		k := newCurveKeys(t)
		refuse := func(context.Context, socket.ZAPRequest) socket.ZAPReply {
			return socket.ZAPReply{StatusCode: socket.ZAPDenied, StatusText: "not on the list"}
		}
		s, _ := pull.New(socket.CurveServer(k.ServerSecret, refuse))
		defer s.Close()
		ev := s.Events(16)
		l, err := s.Listen(endpoint(t, "tcp"))
		if err != nil {
			t.Fatal(err)
		}
		p := startPeer(t, "PUSH", "connect", l.URL(), "handshake", "0", k.peerClient())
		// ZMQ_EVENT_HANDSHAKE_FAILED_AUTH (16384) with the status code.
		if got := p.line(t); got != "event 16384 400" {
			t.Errorf("libzmq reported %q, want event 16384 400", got)
		}
		authFailure(t, ev, false)
	})
	t.Run("wrong-server-key", func(t *testing.T) {
		testutil.CheckGoroutines(t)
		k := newCurveKeys(t)
		other := newCurveKeys(t)
		s, _ := pull.New(socket.CurveServer(k.ServerSecret, nil))
		defer s.Close()
		ev := s.Events(16)
		l, err := s.Listen(endpoint(t, "tcp"))
		if err != nil {
			t.Fatal(err)
		}
		wrong := other
		wrong.ClientPublic, wrong.ClientSecret = k.ClientPublic, k.ClientSecret
		startPeer(t, "PUSH", "connect", l.URL(), "send", "1", wrong.peerClient())
		if err := handshakeFailed(t, ev); !errors.Is(err, zmtp.ErrCurveBox) {
			t.Errorf("server: %v, want ErrCurveBox", err)
		}
		if len(s.PipeStats()) != 0 {
			t.Errorf("pipes %+v", s.PipeStats())
		}
	})
	t.Run("libzmq-refuses-mqwire", func(t *testing.T) {
		// libzmq's ZAP handler (pyzmq's ThreadAuthenticator) knows another
		// client key than ours.
		testutil.CheckGoroutines(t)
		k := newCurveKeys(t)
		other := newCurveKeys(t)
		p := startPeer(t, "PULL", "bind", peerEndpoint(t, "tcp"), "recv", "1", k.peerServer(), "curve_allow="+other.ClientPublic.String())
		s, _ := push.New(socket.CurveClient(k.ServerPublic, k.ClientPublic, k.ClientSecret))
		defer s.Close()
		ev := s.Events(16)
		if _, err := s.Dial(p.url); err != nil {
			t.Fatal(err)
		}
		authFailure(t, ev, true)
	})
}

// handshakeFailed waits for an EventHandshakeFailed and returns its error.
func handshakeFailed(t *testing.T, ev <-chan socket.Event) error {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case e := <-ev:
			if e.Type == socket.EventHandshakeFailed {
				return e.Err
			}
		case <-deadline:
			t.Fatal("no EventHandshakeFailed")
			return nil
		}
	}
}

// Subscriptions travel inside CURVE's boxes both ways: an mqwire SUB (the
// CURVE client) gets only what it subscribed to from a libzmq PUB (the
// server), and a libzmq SUB (the client) from an mqwire PUB (the server).
func TestCurvePubSubWithLibzmq(t *testing.T) {
	t.Run("libzmq-publishes", func(t *testing.T) {
		testutil.CheckGoroutines(t)
		k := newCurveKeys(t)
		s, _ := sub.New(sub.Subscribe([]byte("a-")), socket.CurveClient(k.ServerPublic, k.ClientPublic, k.ClientSecret))
		defer s.Close()
		attach(t, s, "tcp", false, "PUB", "publish", "2000", k.peerServer())
		recvSubscribed(t, s)
	})
	t.Run("mqwire-publishes", func(t *testing.T) {
		testutil.CheckGoroutines(t)
		k := newCurveKeys(t)
		s, _ := pub.New(socket.CurveServer(k.ServerSecret, nil))
		defer s.Close()
		p := attach(t, s, "tcp", true, "SUB", "recv", "1000", "a-", k.peerClient())
		publishFiltered(t, s, p)
	})
}
