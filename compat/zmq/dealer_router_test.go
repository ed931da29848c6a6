package zmq_test

import (
	"encoding/hex"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/dealer"
	"github.com/mqwire/mqwire/pattern/router"
	"github.com/mqwire/mqwire/socket"
)

// connectPeer starts a libzmq peer of kind with role against s: the peer
// connects to s when listen is true, else s dials the peer's address.
func connectPeer(t *testing.T, s *socket.Socket, tr string, listen bool, kind, role string, n int, extra ...string) *peer {
	t.Helper()
	if listen {
		l, err := s.Listen(endpoint(t, tr))
		if err != nil {
			t.Fatal(err)
		}
		return startPeer(t, append([]string{kind, "connect", l.URL(), role, fmt.Sprint(n)}, extra...)...)
	}
	p := startPeer(t, append([]string{kind, "bind", peerEndpoint(t, tr), role, fmt.Sprint(n)}, extra...)...)
	if _, err := s.Dial(p.url); err != nil {
		t.Fatal(err)
	}
	return p
}

func forEachWay(t *testing.T, mq string, f func(t *testing.T, tr string, listen bool)) {
	for _, tr := range transports {
		for _, listen := range []bool{true, false} {
			name := tr + "/mqwire-" + mq + "-dials"
			if listen {
				name = tr + "/mqwire-" + mq + "-listens"
			}
			t.Run(name, func(t *testing.T) {
				testutil.CheckGoroutines(t)
				f(t, tr, listen)
			})
		}
	}
}

func mqParts(m *socket.Message) [][]byte { return append([][]byte{m.Body}, m.Frames...) }

// An mqwire ROUTER serves libzmq DEALERs, with a routing id set on the
// DEALER and without (then the id is 5 bytes starting with 0), and answers
// each by its id.
func TestLibzmqDealerToRouter(t *testing.T) {
	for _, id := range []string{"dealer-7", ""} {
		label := "router"
		if id == "" {
			label = "router-anon"
		}
		forEachWay(t, label, func(t *testing.T, tr string, listen bool) {
			s, _ := router.New()
			defer s.Close()
			var extra []string
			if id != "" {
				extra = []string{id}
			}
			p := connectPeer(t, s, tr, listen, "DEALER", "dealer", count, extra...)
			for i := range count {
				m, err := s.RecvContext(ctx(t))
				if err != nil {
					t.Fatal(err)
				}
				got := mqParts(m)
				if len(got) != 2 || string(got[1]) != fmt.Sprintf("req-%d", i) {
					t.Fatalf("router got %q", got)
				}
				if id != "" && string(got[0]) != id {
					t.Fatalf("routing id %q, want %q", got[0], id)
				}
				if id == "" && (len(got[0]) != 5 || got[0][0] != 0) {
					t.Fatalf("generated routing id %x", got[0])
				}
				m.Frames = [][]byte{fmt.Appendf(nil, "req-%d answered", i), []byte("second")}
				if err := s.SendContext(ctx(t), m); err != nil {
					t.Fatal(err)
				}
				if l, want := p.line(t), frames(fmt.Appendf(nil, "req-%d answered", i), []byte("second")); l != want {
					t.Fatalf("libzmq DEALER got %q, want %q", l, want)
				}
			}
		})
	}
}

// An mqwire ROUTER serves a libzmq REQ: requests arrive as [id, "", body]
// and the reply keeps the envelope.
func TestLibzmqReqToRouter(t *testing.T) {
	forEachWay(t, "router", func(t *testing.T, tr string, listen bool) {
		s, _ := router.New()
		defer s.Close()
		p := connectPeer(t, s, tr, listen, "REQ", "request", count)
		for i := range count {
			m, err := s.RecvContext(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			got := mqParts(m)
			if len(got) != 3 || len(got[1]) != 0 || string(got[2]) != fmt.Sprintf("req-%d", i) {
				t.Fatalf("router got %q", got)
			}
			m.Frames[1] = fmt.Appendf(nil, "req-%d answered", i)
			if err := s.SendContext(ctx(t), m); err != nil {
				t.Fatal(err)
			}
			if l, want := p.line(t), hex.EncodeToString(fmt.Appendf(nil, "req-%d answered", i)); l != want {
				t.Fatalf("libzmq REQ got %q, want %q", l, want)
			}
		}
	})
}

// An mqwire DEALER with a routing id talks to a libzmq ROUTER, which sees
// the id and echoes each message back by it.
func TestDealerToLibzmqRouter(t *testing.T) {
	forEachWay(t, "dealer", func(t *testing.T, tr string, listen bool) {
		s, _ := dealer.New(socket.Identity([]byte("mq-dealer")))
		defer s.Close()
		p := connectPeer(t, s, tr, listen, "ROUTER", "route-echo", count)
		for i := range count {
			m := socket.NewMessageBytes(fmt.Appendf(nil, "msg-%d", i))
			m.Frames = [][]byte{[]byte("second"), {}}
			if err := s.SendContext(ctx(t), m); err != nil {
				t.Fatal(err)
			}
			if l, want := p.line(t), frames([]byte("mq-dealer"), fmt.Appendf(nil, "msg-%d", i), []byte("second"), nil); l != want {
				t.Fatalf("libzmq ROUTER got %q, want %q", l, want)
			}
			r, err := s.RecvContext(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := frames(mqParts(r)...), frames(fmt.Appendf(nil, "msg-%d", i), []byte("second"), nil); got != want {
				t.Fatalf("echo %q, want %q", got, want)
			}
			if i == 0 {
				// libzmq 4.3.4 speaks ZMTP 3.1, and over ws ZWS 2.0, which
				// carries subscriptions as ZMTP 3.0 does.
				rev := "3.1"
				if tr == "ws" {
					rev = "3.0"
				}
				if ps := s.PipeStats(); len(ps) != 1 || ps[0].Dialect != "zmtp" || ps[0].Revision != rev || ps[0].Mechanism != "NULL" || ps[0].Peer != "ROUTER" {
					t.Fatalf("pipes %+v, want one to a ROUTER on ZMTP %s with NULL", ps, rev)
				}
			}
		}
	})
}

// An mqwire DEALER asks a libzmq REP by putting the empty delimiter in front.
func TestDealerToLibzmqRep(t *testing.T) {
	forEachWay(t, "dealer", func(t *testing.T, tr string, listen bool) {
		s, _ := dealer.New()
		defer s.Close()
		connectPeer(t, s, tr, listen, "REP", "echo", count)
		for i := range count {
			m := socket.NewMessageBytes(nil)
			m.Frames = [][]byte{fmt.Appendf(nil, "ping-%d", i)}
			if err := s.SendContext(ctx(t), m); err != nil {
				t.Fatal(err)
			}
			r, err := s.RecvContext(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := frames(mqParts(r)...), frames(nil, fmt.Appendf(nil, "ping-%d", i)); got != want {
				t.Fatalf("reply %q, want %q", got, want)
			}
		}
	})
}

// With RouterMandatory an unknown routing id fails with ErrNoPeer; a known
// one still goes through.
func TestRouterMandatoryLibzmq(t *testing.T) {
	testutil.CheckGoroutines(t)
	s, _ := router.New(router.RouterMandatory(true))
	defer s.Close()
	p := connectPeer(t, s, "tcp", true, "DEALER", "dealer", 1, "known")
	m, err := s.RecvContext(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	bad := socket.NewMessageBytes([]byte("unknown"))
	bad.Frames = [][]byte{[]byte("x")}
	if err := s.SendContext(ctx(t), bad); !errors.Is(err, socket.ErrNoPeer) {
		t.Fatalf("send to an unknown id: %v", err)
	}
	m.Frames = [][]byte{[]byte("reply")}
	if err := s.SendContext(ctx(t), m); err != nil {
		t.Fatal(err)
	}
	if l, want := p.line(t), frames([]byte("reply")); l != want {
		t.Fatalf("libzmq DEALER got %q, want %q", l, want)
	}
}

// An mqwire DEALER spreads messages over two libzmq DEALERs: each gets
// half, none gets one twice.
func TestDealerRoundRobinLibzmq(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			testutil.CheckGoroutines(t)
			s, _ := dealer.New()
			defer s.Close()
			l, err := s.Listen(endpoint(t, tr))
			if err != nil {
				t.Fatal(err)
			}
			const n = 2 * count
			peers := []*peer{
				startPeer(t, "DEALER", "connect", l.URL(), "recv", fmt.Sprint(n/2)),
				startPeer(t, "DEALER", "connect", l.URL(), "recv", fmt.Sprint(n/2)),
			}
			deadline := time.Now().Add(10 * time.Second)
			for s.Stats().Pipes < 2 {
				if time.Now().After(deadline) {
					t.Fatal("the libzmq DEALERs did not connect")
				}
				time.Sleep(time.Millisecond)
			}
			for i := range n {
				if err := s.SendContext(ctx(t), socket.NewMessageBytes(fmt.Appendf(nil, "rr-%d", i))); err != nil {
					t.Fatal(err)
				}
			}
			seen := map[string]int{}
			for k, p := range peers {
				for range n / 2 {
					l := p.line(t)
					if seen[l]++; seen[l] > 1 {
						t.Fatalf("%q delivered twice", l)
					}
				}
				if l := p.line(t); l != "done" {
					t.Fatalf("peer %d: %q", k, l)
				}
			}
			for i := range n {
				if seen[hex.EncodeToString(fmt.Appendf(nil, "rr-%d", i))] != 1 {
					t.Fatalf("rr-%d not delivered once: %v", i, seen)
				}
			}
		})
	}
}

// An mqwire DEALER with ProbeRouter: the libzmq ROUTER gets [id, ""] as
// soon as the connection is up, before anything the application sends.
func TestDealerProbeRouterLibzmq(t *testing.T) {
	forEachWay(t, "dealer", func(t *testing.T, tr string, listen bool) {
		s, _ := dealer.New(socket.Identity([]byte("mq-dealer")), dealer.ProbeRouter(true))
		defer s.Close()
		p := connectPeer(t, s, tr, listen, "ROUTER", "route-echo", 1)
		if l, want := p.line(t), frames([]byte("mq-dealer"), nil); l != want {
			t.Fatalf("libzmq ROUTER got %q, want the probe %q", l, want)
		}
	})
}

// An mqwire ROUTER dials a libzmq ROUTER, which announces no identity, and
// addresses it at once by the id it gave the dial (ConnectRoutingID); the
// libzmq ROUTER knows it by its Identity and echoes each message back.
func TestConnectRoutingIDLibzmq(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			testutil.CheckGoroutines(t)
			s, _ := router.New(router.RouterMandatory(true), socket.Identity([]byte("mq-router")))
			defer s.Close()
			p := startPeer(t, "ROUTER", "bind", peerEndpoint(t, tr), "route-echo", fmt.Sprint(count))
			if _, err := s.Dial(p.url, socket.ConnectRoutingID([]byte("server"))); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(10 * time.Second)
			for s.Stats().Pipes < 1 {
				if time.Now().After(deadline) {
					t.Fatal("no connection to the libzmq ROUTER")
				}
				time.Sleep(time.Millisecond)
			}
			for i := range count {
				m := socket.NewMessageBytes([]byte("server"))
				m.Frames = [][]byte{fmt.Appendf(nil, "msg-%d", i), []byte("second")}
				if err := s.SendContext(ctx(t), m); err != nil {
					t.Fatal(err)
				}
				if l, want := p.line(t), frames([]byte("mq-router"), fmt.Appendf(nil, "msg-%d", i), []byte("second")); l != want {
					t.Fatalf("libzmq ROUTER got %q, want %q", l, want)
				}
				r, err := s.RecvContext(ctx(t))
				if err != nil {
					t.Fatal(err)
				}
				if got, want := frames(mqParts(r)...), frames([]byte("server"), fmt.Appendf(nil, "msg-%d", i), []byte("second")); got != want {
					t.Fatalf("echo %q, want %q", got, want)
				}
			}
		})
	}
}
