package socket_test

import (
	"context"
	"crypto/tls"
	"errors"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/pattern/rep"
	"github.com/mqwire/mqwire/pattern/req"
	"github.com/mqwire/mqwire/socket"
)

// mutualTLS returns a listener's configuration that requires a client
// certificate and a dialer's that has one.
func mutualTLS(certs *testutil.TLSCerts) (server, client *tls.Config) {
	server = certs.ServerConfig()
	server.ClientAuth = tls.RequireAndVerifyClientCert
	server.ClientCAs = certs.Pool
	client = certs.ClientConfig()
	client.Certificates = []tls.Certificate{certs.Client}
	return server, client
}

// tls+tcp in both dialects: requests and replies of every size cross a
// TLS connection, with and without client certificates.
func TestTLS(t *testing.T) {
	certs := testutil.NewTLSCerts(t)
	mutual, withCert := mutualTLS(certs)
	for _, tc := range []struct {
		name           string
		server, client *tls.Config
		dialect        socket.Dialect
	}{
		{"sp", certs.ServerConfig(), certs.ClientConfig(), socket.DialectSP},
		{"zmtp", certs.ServerConfig(), certs.ClientConfig(), socket.DialectZMTP},
		{"sp/client-certificate", mutual, withCert, socket.DialectSP},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			testutil.CheckGoroutines(t)
			s := must(rep.New(socket.TLSConfig(tc.server), socket.MaxRecvSize(0)))
			c := must(req.New(socket.TLSConfig(tc.client), socket.DialDialect(tc.dialect), socket.MaxRecvSize(0)))
			closeAll(t, c, s)
			l, err := s.Listen("tls+tcp://127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Dial(l.URL()); err != nil {
				t.Fatal(err)
			}
			for _, size := range []int{0, 64, 70 << 10, 1 << 20} {
				body := make([]byte, size)
				for i := range body {
					body[i] = byte(i)
				}
				if err := c.SendContext(testCtx(t), socket.NewMessageBytes(body)); err != nil {
					t.Fatal(err)
				}
				m, err := s.RecvContext(testCtx(t))
				if err != nil {
					t.Fatalf("%d bytes: %v", size, err)
				}
				if err := s.SendContext(testCtx(t), m); err != nil {
					t.Fatal(err)
				}
				m, err = c.RecvContext(testCtx(t))
				if err != nil || len(m.Body) != size {
					t.Fatalf("reply of %d bytes: %v", size, err)
				}
				m.Free()
			}
			for _, ps := range s.PipeStats() {
				if ps.Dialect != tc.dialect.String() {
					t.Errorf("pipe %+v, want dialect %s", ps, tc.dialect)
				}
			}
		})
	}
}

// A dialer that does not trust the listener's certificate, and a client
// without the certificate a listener requires, fail their handshakes with
// ErrTLS; a listener without a certificate does not start.
func TestTLSRefused(t *testing.T) {
	certs := testutil.NewTLSCerts(t)
	other := testutil.NewTLSCerts(t)
	mutual := certs.ServerConfig()
	mutual.ClientAuth = tls.RequireAndVerifyClientCert
	mutual.ClientCAs = certs.Pool
	for _, tc := range []struct {
		name           string
		server, client *tls.Config
	}{
		{"untrusted server", certs.ServerConfig(), other.ClientConfig()},
		{"no client certificate", mutual, certs.ClientConfig()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			testutil.CheckGoroutines(t)
			s := must(pull.New(socket.TLSConfig(tc.server)))
			c := must(push.New(socket.TLSConfig(tc.client), socket.ReconnectInterval(50*time.Millisecond)))
			closeAll(t, c, s)
			sev, cev := s.Events(64), c.Events(64)
			l, err := s.Listen("tls+tcp://127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Dial(l.URL()); err != nil {
				t.Fatal(err)
			}
			// The side that refuses says why; the other sees its TLS alert
			// (with TLS 1.3 a client's missing certificate reaches the
			// client only at its first read: either side may report it).
			errs := []error{handshakeFailure(t, cev), handshakeFailure(t, sev)}
			for _, err := range errs {
				if !errors.Is(err, socket.ErrTLS) {
					t.Errorf("handshake failed with %v, want ErrTLS", err)
				}
			}
			if len(s.PipeStats()) != 0 {
				t.Errorf("pipes %+v", s.PipeStats())
			}
		})
	}
	t.Run("listener without certificate", func(t *testing.T) {
		s := must(pull.New())
		closeAll(t, s)
		if _, err := s.Listen("tls+tcp://127.0.0.1:0"); !errors.Is(err, socket.ErrBadOption) {
			t.Errorf("Listen: %v, want ErrBadOption", err)
		}
		if err := s.SetOption(socket.TLSConfig(nil)); !errors.Is(err, socket.ErrBadOption) {
			t.Errorf("TLSConfig(nil): %v", err)
		}
	})
}

// Closing a socket whose TLS peer reads nothing does not wait for the peer:
// crypto/tls's Close would try to send its close_notify for up to 5 s
// behind a write that cannot finish.
func TestTLSCloseWithStuckPeer(t *testing.T) {
	testutil.CheckGoroutines(t)
	certs := testutil.NewTLSCerts(t)
	s := must(pull.New(socket.TLSConfig(certs.ServerConfig()), socket.RecvHWM(1)))
	defer s.Close()
	c := must(push.New(socket.TLSConfig(certs.ClientConfig()), socket.Linger(0), socket.SendHWM(1)))
	l, err := s.Listen("tls+tcp://127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Dial(l.URL()); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, 256<<10)
	for i := 0; i < 200; i++ { // until the connection is full
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		err := c.SendContext(ctx, socket.NewMessageBytes(body))
		cancel()
		if err != nil {
			break
		}
	}
	start := time.Now()
	c.Close()
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %v", d)
	}
}

// A dialer's and a listener's own TLS configurations, as nng sets them per
// dialer and listener: one PULL socket with no TLSConfig listens twice,
// each listener serving a certificate of a different authority; one PUSH
// socket dials both, each dialer trusting its server's authority only.
// Both connections come up and carry messages; a dialer that trusts the
// other authority fails with ErrTLS. The options are checked.
func TestEndpointTLSConfig(t *testing.T) {
	testutil.CheckGoroutines(t)
	a, b := testutil.NewTLSCerts(t), testutil.NewTLSCerts(t)
	in := must(pull.New())
	out := must(push.New())
	wrong := must(push.New())
	closeAll(t, in, out, wrong)
	la := must(in.Listen("tls+tcp://127.0.0.1:0", socket.ListenTLSConfig(a.ServerConfig())))
	lb := must(in.Listen("wss://127.0.0.1:0/b", socket.ListenTLSConfig(b.ServerConfig())))
	must(out.Dial(la.URL(), socket.DialTLSConfig(a.ClientConfig())))
	must(out.Dial(lb.URL(), socket.DialTLSConfig(b.ClientConfig())))
	waitPipes(t, out, 2)
	for i := range 4 {
		if err := out.SendContext(testCtx(t), socket.NewMessageBytes([]byte{byte(i)})); err != nil {
			t.Fatal(err)
		}
	}
	for range 4 {
		if _, err := in.RecvContext(testCtx(t)); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(in.PipeStats()); n != 2 {
		t.Errorf("%d pipes at the listening end, want 2", n)
	}

	events := wrong.Events(16)
	must(wrong.Dial(lb.URL(), socket.DialTLSConfig(a.ClientConfig())))
	for failed := false; !failed; {
		select {
		case e := <-events:
			if failed = e.Type == socket.EventHandshakeFailed; failed && !errors.Is(e.Err, socket.ErrTLS) {
				t.Errorf("trusting the wrong authority: %v, want ErrTLS", e.Err)
			}
		case <-testCtx(t).Done():
			t.Fatal("a dialer trusting the wrong authority did not fail")
		}
	}

	for _, c := range []struct {
		name string
		err  error
		want error
	}{
		{"dial tcp", func() error {
			_, err := out.Dial("tcp://127.0.0.1:1", socket.DialTLSConfig(a.ClientConfig()))
			return err
		}(), socket.ErrOptionNotApplicable},
		{"dial nil", func() error { _, err := out.Dial(la.URL(), socket.DialTLSConfig(nil)); return err }(), socket.ErrBadOption},
		{"listen ipc", func() error {
			_, err := in.Listen(testutil.URL(t, "ipc"), socket.ListenTLSConfig(a.ServerConfig()))
			return err
		}(), socket.ErrOptionNotApplicable},
		{"listen without a certificate", func() error {
			_, err := in.Listen("tls+tcp://127.0.0.1:0", socket.ListenTLSConfig(a.ClientConfig()))
			return err
		}(), socket.ErrBadOption},
	} {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, c.err, c.want)
		}
	}
}

// A pipe over TLS tells its handshake's outcome (Pipe.ConnInfo): the
// listener's pipe the client's certificate, which a pipe hook can check
// before the pattern sees the peer; a pipe over plain tcp tells none.
func TestPipeConnInfoTLS(t *testing.T) {
	testutil.CheckGoroutines(t)
	certs := testutil.NewTLSCerts(t)
	mutual, withCert := mutualTLS(certs)
	states := make(chan tls.ConnectionState, 4)
	plain := make(chan bool, 4)
	hook := socket.PipeHook(func(ev socket.PipeHookEvent, p *socket.Pipe) {
		if ev != socket.PipeAdding {
			return
		}
		var st tls.ConnectionState
		if p.ConnInfo(&st) {
			states <- st
		} else {
			plain <- true
		}
	})
	q := must(pull.New(hook, socket.TLSConfig(mutual)))
	p := must(push.New(socket.TLSConfig(withCert)))
	closeAll(t, q, p)
	must(p.Dial(must(q.Listen("tls+tcp://127.0.0.1:0")).URL()))
	select {
	case st := <-states:
		if !st.HandshakeComplete || len(st.PeerCertificates) == 0 {
			t.Errorf("listener's pipe: handshake complete %v, %d peer certificates", st.HandshakeComplete, len(st.PeerCertificates))
		}
	case <-time.After(timeout):
		t.Fatal("no pipe over TLS")
	}
	o := must(push.New())
	closeAll(t, o)
	must(o.Dial(must(q.Listen("tcp://127.0.0.1:0")).URL()))
	select {
	case <-plain:
	case <-states:
		t.Error("a tcp pipe told a TLS state")
	case <-time.After(timeout):
		t.Fatal("no pipe over tcp")
	}
}
