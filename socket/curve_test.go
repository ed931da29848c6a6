package socket_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/dealer"
	"github.com/mqwire/mqwire/pattern/pub"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/pattern/rep"
	"github.com/mqwire/mqwire/pattern/req"
	"github.com/mqwire/mqwire/pattern/router"
	"github.com/mqwire/mqwire/pattern/sub"
	"github.com/mqwire/mqwire/socket"
	"github.com/mqwire/mqwire/wire/zmtp"
)

// curveKeys are a server's and a client's long-term key pairs.
type curveKeys struct{ testutil.CurveKeys }

func newCurveKeys(t *testing.T) curveKeys { return curveKeys{testutil.NewCurveKeys(t)} }

func (k curveKeys) client() socket.Option {
	return socket.CurveClient(k.ServerPublic, k.ClientPublic, k.ClientSecret)
}

// Every frame, multipart and large ones, commands (heartbeats,
// subscriptions) and envelopes (REQ/REP, ROUTER) cross a CURVE connection.
func TestCurvePatterns(t *testing.T) {
	for _, tr := range []string{"tcp", "ipc"} {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			testutil.CheckGoroutines(t)
			k := newCurveKeys(t)
			var mu sync.Mutex
			var asked []zmtp.CurveKey
			auth := func(_ context.Context, r socket.ZAPRequest) socket.ZAPReply {
				mu.Lock()
				defer mu.Unlock()
				if r.Mechanism == zmtp.MechanismCurve && len(r.Credentials) == 1 {
					asked = append(asked, zmtp.CurveKey(r.Credentials[0]))
				}
				return socket.ZAPReply{StatusCode: socket.ZAPOK, UserID: "client"}
			}

			// REQ/REP, the server heartbeating.
			s := must(rep.New(socket.CurveServer(k.ServerSecret, auth), socket.HeartbeatInterval(20*time.Millisecond), socket.HeartbeatTimeout(5*time.Second)))
			c := must(req.New(socket.DialDialect(socket.DialectZMTP), k.client()))
			closeAll(t, c, s)
			l, err := s.Listen(testutil.URL(t, tr))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Dial(l.URL()); err != nil {
				t.Fatal(err)
			}
			for i, size := range []int{0, 1, 255, 256, 70 << 10, 600 << 10} {
				body := bytes.Repeat([]byte{byte(i + 1)}, size)
				if err := c.SendContext(testCtx(t), socket.NewMessageBytes(body)); err != nil {
					t.Fatal(err)
				}
				m, err := s.RecvContext(testCtx(t))
				if err != nil {
					t.Fatalf("request of %d bytes: %v", size, err)
				}
				if !bytes.Equal(m.Body, body) {
					t.Fatalf("request of %d bytes arrived as %d", size, len(m.Body))
				}
				if err := s.SendContext(testCtx(t), m); err != nil {
					t.Fatal(err)
				}
				m, err = c.RecvContext(testCtx(t))
				if err != nil || !bytes.Equal(m.Body, body) {
					t.Fatalf("reply of %d bytes: %v", size, err)
				}
				m.Free()
				if i == 2 {
					time.Sleep(100 * time.Millisecond) // heartbeats go both ways meanwhile
				}
			}
			mu.Lock()
			if len(asked) == 0 || asked[0] != k.ClientPublic {
				t.Errorf("authenticator asked about %v, want the client's key", asked)
			}
			mu.Unlock()
			for _, p := range s.PipeStats() {
				if pp := s.Pipe(p.ID); pp == nil || pp.UserID() != "client" {
					t.Errorf("pipe %d: user id not the authenticator's", p.ID)
				}
			}

			// DEALER/ROUTER with multipart messages.
			r := must(router.New(socket.CurveServer(k.ServerSecret, nil)))
			d := must(dealer.New(k.client(), socket.Identity([]byte("d1"))))
			closeAll(t, d, r)
			l, err = r.Listen(testutil.URL(t, tr))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := d.Dial(l.URL()); err != nil {
				t.Fatal(err)
			}
			m := socket.NewMessageBytes([]byte("first"))
			m.Frames = [][]byte{[]byte("second"), bytes.Repeat([]byte("x"), 300)}
			if err := d.SendContext(testCtx(t), m); err != nil {
				t.Fatal(err)
			}
			got, err := r.RecvContext(testCtx(t))
			if err != nil {
				t.Fatal(err)
			}
			// A router's message: the sender's identity, then its frames.
			if string(got.Body) != "d1" || len(got.Frames) != 3 || string(got.Frames[0]) != "first" || string(got.Frames[1]) != "second" || len(got.Frames[2]) != 300 {
				t.Fatalf("router got body %q frames %q", got.Body, got.Frames)
			}

			// PUB/SUB: subscriptions are commands inside the boxes.
			p := must(pub.New(socket.CurveServer(k.ServerSecret, nil)))
			sb := must(sub.New(k.client(), sub.Subscribe([]byte("a"))))
			closeAll(t, sb, p)
			l, err = p.Listen(testutil.URL(t, tr))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := sb.Dial(l.URL()); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(timeout)
			for {
				send(t, p, "b-not-for-you")
				send(t, p, "a-hello")
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
				m, err := sb.RecvContext(ctx)
				cancel()
				if err == nil {
					if string(m.Body) != "a-hello" {
						t.Fatalf("subscriber got %q", m.Body)
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("subscriber got nothing")
				}
			}
		})
	}
}

// A client with the wrong server key, and a client the authenticator
// refuses, fail their handshakes; nothing they send arrives.
func TestCurveRefused(t *testing.T) {
	k := newCurveKeys(t)
	other := newCurveKeys(t)
	for _, tc := range []struct {
		name      string
		client    socket.Option
		auth      socket.Authenticator
		server    error // what the server's handshake fails with
		clientErr error
	}{
		{"wrong server key", socket.CurveClient(other.ServerPublic, k.ClientPublic, k.ClientSecret), nil, zmtp.ErrCurveBox, nil},
		{"refused by ZAP", k.client(), func(context.Context, socket.ZAPRequest) socket.ZAPReply {
			return socket.ZAPReply{StatusCode: socket.ZAPDenied, StatusText: "not you"}
		}, socket.ErrAuth, socket.ErrAuth},
		{"NULL client", socket.DialDialect(socket.DialectZMTP), nil, socket.ErrPeerMismatch, socket.ErrPeerMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			testutil.CheckGoroutines(t)
			s := must(pull.New(socket.CurveServer(k.ServerSecret, tc.auth), socket.HandshakeTimeout(2*time.Second)))
			c := must(push.New(socket.DialDialect(socket.DialectZMTP), tc.client, socket.ReconnectInterval(20*time.Millisecond)))
			closeAll(t, c, s)
			sev, cev := s.Events(64), c.Events(64)
			l, err := s.Listen(testutil.URL(t, "tcp"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Dial(l.URL()); err != nil {
				t.Fatal(err)
			}
			if err := handshakeFailure(t, sev); !errors.Is(err, tc.server) {
				t.Errorf("server: %v, want %v", err, tc.server)
			}
			if tc.clientErr != nil {
				if err := handshakeFailure(t, cev); !errors.Is(err, tc.clientErr) {
					t.Errorf("client: %v, want %v", err, tc.clientErr)
				}
			}
			if len(s.PipeStats()) != 0 {
				t.Errorf("server has pipes %+v", s.PipeStats())
			}
		})
	}
}

// Options are checked when set.
func TestCurveOptions(t *testing.T) {
	k := newCurveKeys(t)
	for _, tc := range []struct {
		name string
		opt  socket.Option
	}{
		{"public key of another secret", socket.CurveClient(k.ServerPublic, k.ServerPublic, k.ClientSecret)},
		{"no server key", socket.CurveClient(zmtp.CurveKey{}, k.ClientPublic, k.ClientSecret)},
		{"no server secret", socket.CurveServer(zmtp.CurveKey{}, nil)},
	} {
		if _, err := push.New(tc.opt); !errors.Is(err, socket.ErrBadOption) {
			t.Errorf("%s: %v, want ErrBadOption", tc.name, err)
		}
	}
	if _, err := push.New(socket.CurveServer(k.ServerSecret, nil), socket.DialDialect(socket.DialectSP)); err != nil {
		t.Errorf("CurveServer on push: %v", err)
	}
}

// A peer that sends garbage after a good handshake, or replays a MESSAGE,
// costs its own connection: the pipe closes with a protocol error and the
// server goes on serving others.
func TestCurveHostilePeer(t *testing.T) {
	testutil.CheckGoroutines(t)
	k := newCurveKeys(t)
	s := must(pull.New(socket.CurveServer(k.ServerSecret, nil)))
	closeAll(t, s)
	ev := s.Events(64)
	l, err := s.Listen(testutil.URL(t, "tcp"))
	if err != nil {
		t.Fatal(err)
	}
	addr := l.URL()[len("tcp://"):]
	for _, tc := range []struct {
		name  string
		after func(sess *zmtp.CurveSession) []byte
	}{
		{"garbage", func(*zmtp.CurveSession) []byte {
			b := zmtp.AppendFrameHeader(nil, 0, 40)
			b = append(b, "\x07MESSAGE"...)
			return append(b, bytes.Repeat([]byte{0xA5}, 32)...)
		}},
		{"replay", func(sess *zmtp.CurveSession) []byte {
			m := sess.AppendMessage(nil, 0, []byte("once"))
			return append(m, m...)
		}},
		{"changed", func(sess *zmtp.CurveSession) []byte {
			m := sess.AppendMessage(nil, 0, []byte("once"))
			m[len(m)-3] ^= 0x40
			return m
		}},
		{"huge", func(*zmtp.CurveSession) []byte { return zmtp.AppendFrameHeader(nil, 0, 1<<40) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			sess := rawCurveClient(t, conn, k, zmtp.TypePUSH)
			if _, err := conn.Write(tc.after(sess)); err != nil {
				t.Fatal(err)
			}
			deadline := time.After(timeout)
			for {
				select {
				case e := <-ev:
					if e.Type != socket.EventDisconnected {
						continue
					}
					if !errors.Is(e.Err, socket.ErrProtocol) {
						t.Fatalf("pipe closed with %v, want ErrProtocol", e.Err)
					}
				case <-deadline:
					t.Fatal("the pipe did not close")
				}
				break
			}
		})
	}
	// And a good client still gets through.
	c := must(push.New(k.client()))
	closeAll(t, c)
	if _, err := c.Dial(l.URL()); err != nil {
		t.Fatal(err)
	}
	send(t, c, "still here")
	// The replaying peer's first MESSAGE was good, and was delivered.
	for _, want := range []string{"once", "still here"} {
		if m, err := s.RecvContext(testCtx(t)); err != nil || string(m.Body) != want {
			t.Fatalf("got %v, %v; want %q", m, err, want)
		}
	}
}

// rawCurveClient runs a CURVE client handshake by hand on conn and returns
// the session, for a test that then sends what it likes.
func rawCurveClient(t *testing.T, conn net.Conn, k curveKeys, typ string) *zmtp.CurveSession {
	t.Helper()
	conn.SetDeadline(time.Now().Add(timeout))
	defer conn.SetDeadline(time.Time{})
	if _, err := conn.Write(zmtp.AppendGreeting(nil, zmtp.Greeting{Major: 3, Minor: 1, Mechanism: zmtp.MechanismCurve})); err != nil {
		t.Fatal(err)
	}
	var g [zmtp.GreetingSize]byte
	if _, err := readAll(conn, g[:]); err != nil {
		t.Fatal(err)
	}
	c, err := zmtp.NewCurveClient(k.ServerPublic, k.ClientPublic, k.ClientSecret)
	if err != nil {
		t.Fatal(err)
	}
	conn.Write(c.AppendHello(nil))
	if err := c.ParseWelcome(readCmd(t, conn)); err != nil {
		t.Fatal(err)
	}
	in, err := c.AppendInitiate(nil, zmtp.Property{Name: zmtp.PropSocketType, Value: []byte(typ)})
	if err != nil {
		t.Fatal(err)
	}
	conn.Write(in)
	if _, err := c.ParseReady(readCmd(t, conn)); err != nil {
		t.Fatal(err)
	}
	sess, err := c.Session()
	if err != nil {
		t.Fatal(err)
	}
	return sess
}

func readAll(c net.Conn, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		k, err := c.Read(b[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// readCmd reads one command frame and returns its body.
func readCmd(t *testing.T, c net.Conn) []byte {
	t.Helper()
	var h [zmtp.LongHeaderSize]byte
	if _, err := readAll(c, h[:2]); err != nil {
		t.Fatal(err)
	}
	n := zmtp.FrameHeaderLen(h[0])
	if _, err := readAll(c, h[2:n]); err != nil {
		t.Fatal(err)
	}
	hdr, _, err := zmtp.ParseFrameHeader(h[:n], 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, hdr.Size)
	if _, err := readAll(c, b); err != nil {
		t.Fatal(err)
	}
	return b
}

// Over inproc, where no bytes leave the process, a CURVE socket talks as
// any other (libzmq applies no mechanism to inproc either).
func TestCurveInproc(t *testing.T) {
	testutil.CheckGoroutines(t)
	k := newCurveKeys(t)
	s := must(pull.New(socket.CurveServer(k.ServerSecret, nil)))
	c := must(push.New(k.client()))
	closeAll(t, c, s)
	l, err := s.Listen(testutil.URL(t, "inproc"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Dial(l.URL()); err != nil {
		t.Fatal(err)
	}
	send(t, c, "local")
	if m, err := s.RecvContext(testCtx(t)); err != nil || string(m.Body) != "local" {
		t.Fatalf("got %v, %v", m, err)
	}
}

// AllowCurveKeys lets in the keys it was given, with the key as user id,
// and refuses the rest.
func TestAllowCurveKeys(t *testing.T) {
	testutil.CheckGoroutines(t)
	k := newCurveKeys(t)
	stranger := newCurveKeys(t)
	s := must(pull.New(socket.CurveServer(k.ServerSecret, socket.AllowCurveKeys(k.ClientPublic)), socket.HandshakeTimeout(2*time.Second)))
	good := must(push.New(k.client()))
	bad := must(push.New(socket.CurveClient(k.ServerPublic, stranger.ClientPublic, stranger.ClientSecret), socket.ReconnectInterval(50*time.Millisecond)))
	closeAll(t, good, bad, s)
	bev := bad.Events(64)
	l, err := s.Listen(testutil.URL(t, "tcp"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*socket.Socket{good, bad} {
		if _, err := c.Dial(l.URL()); err != nil {
			t.Fatal(err)
		}
	}
	if err := handshakeFailure(t, bev); !errors.Is(err, socket.ErrAuth) {
		t.Errorf("stranger: %v, want ErrAuth", err)
	}
	send(t, good, "allowed")
	m, err := s.RecvContext(testCtx(t))
	if err != nil || string(m.Body) != "allowed" {
		t.Fatalf("got %v, %v", m, err)
	}
	if id := s.Pipe(m.Pipe).UserID(); id != k.ClientPublic.String() {
		t.Errorf("user id %q, want the key in Z85", id)
	}
}
