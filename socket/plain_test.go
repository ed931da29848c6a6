package socket_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/bus"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/socket"
	"github.com/mqwire/mqwire/wire/zmtp"
)

// passwords is an Authenticator that knows one user, and records what it
// was asked.
type passwords struct {
	user, password string
	mu             sync.Mutex
	seen           []socket.ZAPRequest
}

func (a *passwords) auth(_ context.Context, r socket.ZAPRequest) socket.ZAPReply {
	a.mu.Lock()
	a.seen = append(a.seen, r)
	a.mu.Unlock()
	if len(r.Credentials) == 2 && string(r.Credentials[0]) == a.user && string(r.Credentials[1]) == a.password {
		return socket.ZAPReply{StatusCode: socket.ZAPOK, UserID: a.user}
	}
	return socket.ZAPReply{StatusCode: socket.ZAPDenied, StatusText: "no such user"}
}

func (a *passwords) requests() []socket.ZAPRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]socket.ZAPRequest(nil), a.seen...)
}

// handshakeFailure waits for an EventHandshakeFailed and returns its error.
func handshakeFailure(t *testing.T, ev <-chan socket.Event) error {
	t.Helper()
	deadline := time.After(timeout)
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

// plainPair makes a push (the PLAIN client unless clientOpt says otherwise)
// dialing ZMTP to a pull listening on tr (the PLAIN server by serverOpt).
func plainPair(t *testing.T, tr string, clientOpt, serverOpt socket.Option) (c, s *socket.Socket, cev, sev <-chan socket.Event) {
	t.Helper()
	s = must(pull.New(serverOpt, socket.HandshakeTimeout(2*time.Second)))
	c = must(push.New(socket.DialDialect(socket.DialectZMTP), clientOpt, socket.ReconnectInterval(20*time.Millisecond)))
	closeAll(t, c, s)
	sev, cev = s.Events(64), c.Events(64)
	l, err := s.Listen(testutil.URL(t, tr))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Dial(l.URL()); err != nil {
		t.Fatal(err)
	}
	return c, s, cev, sev
}

func TestPlainGoodCredentials(t *testing.T) {
	for _, tr := range []string{"tcp", "ipc"} {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			testutil.CheckGoroutines(t)
			a := &passwords{user: "alice", password: "secret"}
			c, s, _, _ := plainPair(t, tr, socket.PlainClient("alice", "secret"), socket.PlainServer(a.auth))
			if err := s.SetOption(socket.ZAPDomain("global")); err != nil {
				t.Fatal(err)
			}
			for i := range 3 {
				send(t, c, "hello")
				m, err := s.RecvContext(testCtx(t))
				if err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
				if string(m.Body) != "hello" {
					t.Fatalf("got %q", m.Body)
				}
				m.Free()
			}
			reqs := a.requests()
			if len(reqs) != 1 {
				t.Fatalf("authenticator asked %d times, want 1", len(reqs))
			}
			r := reqs[0]
			if r.Mechanism != zmtp.MechanismPlain || len(r.Credentials) != 2 ||
				string(r.Credentials[0]) != "alice" || string(r.Credentials[1]) != "secret" {
				t.Errorf("request %+v", r)
			}
			if tr == "tcp" && !strings.HasPrefix(r.Address, "127.0.0.1:") {
				t.Errorf("request address %q, want the peer's 127.0.0.1:port", r.Address)
			}
			for _, ps := range s.PipeStats() {
				if ps.Dialect != "zmtp" || ps.Peer != zmtp.TypePUSH || ps.Mechanism != zmtp.MechanismPlain || ps.Revision != "3.1" {
					t.Errorf("pipe %+v", ps)
				}
			}
		})
	}
}

// The ZAP domain reaches the Authenticator, and the roles come from the
// options, not from who dials: here the PLAIN server dials.
func TestPlainServerDials(t *testing.T) {
	testutil.CheckGoroutines(t)
	a := &passwords{user: "bob", password: "pw"}
	srv := must(pull.New(socket.PlainServer(a.auth), socket.ZAPDomain("dom"), socket.DialDialect(socket.DialectZMTP)))
	cl := must(push.New(socket.PlainClient("bob", "pw")))
	closeAll(t, cl, srv)
	l, err := cl.Listen(testutil.URL(t, "tcp"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Dial(l.URL()); err != nil {
		t.Fatal(err)
	}
	send(t, cl, "x")
	if m, err := srv.RecvContext(testCtx(t)); err != nil || string(m.Body) != "x" {
		t.Fatalf("recv %v", err)
	}
	if reqs := a.requests(); len(reqs) != 1 || reqs[0].Domain != "dom" {
		t.Errorf("requests %+v, want one with domain dom", reqs)
	}
}

func TestPlainRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		code   int
		client socket.Option
	}{
		{"bad password", socket.ZAPDenied, socket.PlainClient("alice", "wrong")},
		{"unknown user", socket.ZAPDenied, socket.PlainClient("", "")},
		{"temporary", socket.ZAPTemporary, socket.PlainClient("alice", "secret")},
		{"internal", socket.ZAPInternal, socket.PlainClient("alice", "secret")},
	} {
		for _, tr := range []string{"tcp", "ipc"} {
			t.Run(tc.name+"/"+tr, func(t *testing.T) {
				t.Parallel()
				testutil.CheckGoroutines(t)
				a := &passwords{user: "alice", password: "secret"}
				auth := a.auth
				if tc.code != socket.ZAPDenied {
					auth = func(context.Context, socket.ZAPRequest) socket.ZAPReply {
						return socket.ZAPReply{StatusCode: tc.code, StatusText: "try later"}
					}
				}
				c, s, cev, sev := plainPair(t, tr, tc.client, socket.PlainServer(auth))
				for side, ev := range map[string]<-chan socket.Event{"server": sev, "client": cev} {
					err := handshakeFailure(t, ev)
					var ae *socket.AuthError
					if !errors.Is(err, socket.ErrAuth) || errors.Is(err, socket.ErrProtocol) || !errors.As(err, &ae) {
						t.Fatalf("%s: %v, want ErrAuth and not ErrProtocol", side, err)
					}
					if ae.StatusCode != tc.code || ae.ByPeer != (side == "client") || ae.Mechanism != zmtp.MechanismPlain {
						t.Errorf("%s: %+v, want status %d", side, ae, tc.code)
					}
				}
				// The client keeps trying, with the reconnect backoff, and
				// keeps being refused.
				if err := handshakeFailure(t, cev); !errors.Is(err, socket.ErrAuth) {
					t.Errorf("client retry: %v", err)
				}
				if s.Stats().HandshakeFailures == 0 || c.Stats().HandshakeFailures == 0 {
					t.Errorf("handshake failures: server %d, client %d", s.Stats().HandshakeFailures, c.Stats().HandshakeFailures)
				}
				if len(s.PipeStats()) != 0 {
					t.Errorf("server has pipes %+v", s.PipeStats())
				}
			})
		}
	}
}

// A NULL client (and an SP one) cannot reach a PLAIN server, and its
// Authenticator is never asked.
func TestPlainServerRefusesUnauthenticated(t *testing.T) {
	for _, dialect := range []socket.Dialect{socket.DialectZMTP, socket.DialectSP} {
		t.Run(dialect.String(), func(t *testing.T) {
			t.Parallel()
			testutil.CheckGoroutines(t)
			a := &passwords{user: "alice", password: "secret"}
			_, s, _, sev := plainPair(t, "tcp", socket.DialDialect(dialect), socket.PlainServer(a.auth))
			err := handshakeFailure(t, sev)
			if !errors.Is(err, socket.ErrPeerMismatch) {
				t.Errorf("server: %v, want ErrPeerMismatch", err)
			}
			if dialect == socket.DialectZMTP && !strings.Contains(err.Error(), "NULL") {
				t.Errorf("error %q does not name the peer's mechanism", err)
			}
			if n := len(a.requests()); n != 0 {
				t.Errorf("authenticator asked %d times", n)
			}
			if len(s.PipeStats()) != 0 {
				t.Errorf("server has pipes %+v", s.PipeStats())
			}
		})
	}
}

// A PLAIN client cannot reach a NULL server either.
func TestPlainClientRefusedByNullServer(t *testing.T) {
	testutil.CheckGoroutines(t)
	_, _, cev, sev := plainPair(t, "tcp", socket.PlainClient("a", "b"), socket.RecvHWM(10))
	for _, ev := range []<-chan socket.Event{cev, sev} {
		if err := handshakeFailure(t, ev); !errors.Is(err, socket.ErrPeerMismatch) {
			t.Errorf("%v, want ErrPeerMismatch", err)
		}
	}
}

// An Authenticator that does not answer within the handshake timeout fails
// the handshake, and its context ends then, so that it can give up.
func TestPlainAuthenticatorTimeout(t *testing.T) {
	testutil.CheckGoroutines(t)
	ended := make(chan error, 64)
	waiter := func(ctx context.Context, _ socket.ZAPRequest) socket.ZAPReply {
		<-ctx.Done()
		ended <- ctx.Err()
		return socket.ZAPReply{StatusCode: socket.ZAPOK}
	}
	s := must(pull.New(socket.PlainServer(waiter), socket.HandshakeTimeout(150*time.Millisecond)))
	c := must(push.New(socket.DialDialect(socket.DialectZMTP), socket.PlainClient("a", "b"), socket.ReconnectInterval(time.Second)))
	closeAll(t, c, s)
	sev := s.Events(16)
	l, err := s.Listen(testutil.URL(t, "tcp"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Dial(l.URL()); err != nil {
		t.Fatal(err)
	}
	if err := handshakeFailure(t, sev); !errors.Is(err, socket.ErrTimeout) {
		t.Errorf("%v, want ErrTimeout", err)
	}
	select {
	case err := <-ended:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("the authenticator's context ended with %v, want DeadlineExceeded", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the authenticator's context did not end with the handshake")
	}
}

// Closing the socket ends the context of an Authenticator still deciding:
// its goroutine ends with the socket (CheckGoroutines).
func TestPlainAuthenticatorClose(t *testing.T) {
	testutil.CheckGoroutines(t)
	called := make(chan struct{}, 64)
	ended := make(chan error, 64)
	waiter := func(ctx context.Context, _ socket.ZAPRequest) socket.ZAPReply {
		called <- struct{}{}
		<-ctx.Done()
		ended <- ctx.Err()
		return socket.ZAPReply{StatusCode: socket.ZAPOK}
	}
	s := must(pull.New(socket.PlainServer(waiter), socket.HandshakeTimeout(time.Minute)))
	c := must(push.New(socket.DialDialect(socket.DialectZMTP), socket.PlainClient("a", "b")))
	defer c.Close()
	l, err := s.Listen(testutil.URL(t, "tcp"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Dial(l.URL()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-called:
	case <-time.After(5 * time.Second):
		t.Fatal("the authenticator was not called")
	}
	s.Close()
	select {
	case err := <-ended:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("the authenticator's context ended with %v, want Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("closing the socket did not end the authenticator's context")
	}
}

func TestPlainOptions(t *testing.T) {
	long := strings.Repeat("x", 256)
	p := must(push.New())
	defer p.Close()
	for _, tc := range []struct {
		opt  socket.Option
		want error
	}{
		{socket.PlainClient(long, "pw"), socket.ErrBadOption},
		{socket.PlainClient("u", long), socket.ErrBadOption},
		{socket.PlainServer(nil), socket.ErrBadOption},
		{socket.ZAPDomain(long), socket.ErrBadOption},
	} {
		if err := p.SetOption(tc.opt); !errors.Is(err, tc.want) {
			t.Errorf("%v: %v, want %v", tc.opt, err, tc.want)
		}
	}
	if err := p.SetOption(socket.PlainClient(long[:255], "")); err != nil {
		t.Errorf("255-byte user: %v", err)
	}
	b := must(bus.New())
	defer b.Close()
	for _, o := range []socket.Option{socket.PlainClient("u", "p"), socket.PlainServer(func(context.Context, socket.ZAPRequest) socket.ZAPReply { return socket.ZAPReply{} }), socket.ZAPDomain("d")} {
		if err := b.SetOption(o); !errors.Is(err, socket.ErrOptionNotApplicable) {
			t.Errorf("%v on bus: %v, want ErrOptionNotApplicable", o, err)
		}
	}
}
