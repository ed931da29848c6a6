package jeromq_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/dealer"
	"github.com/mqwire/mqwire/pattern/pair"
	"github.com/mqwire/mqwire/pattern/pub"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/pattern/rep"
	"github.com/mqwire/mqwire/pattern/req"
	"github.com/mqwire/mqwire/pattern/router"
	"github.com/mqwire/mqwire/pattern/sub"
	"github.com/mqwire/mqwire/pattern/xpub"
	"github.com/mqwire/mqwire/pattern/xsub"
	"github.com/mqwire/mqwire/socket"
)

// msg is the i-th message Peer.java's send role sends, as it prints one.
func msg(i int) string { return frames(fmt.Appendf(nil, "msg-%d", i), []byte("second"), nil) }

// A JeroMQ PUSH's multipart messages reach an mqwire PULL whole.
func TestJeroMQPushToPull(t *testing.T) {
	testutil.CheckGoroutines(t)
	bothWays(t, func(t *testing.T, listen bool) {
		s := newSocket(t, pull.New)
		connect(t, s, listen, "PUSH", "send", count)
		for i := range count {
			if got := recvParts(t, s); got != msg(i) {
				t.Fatalf("pull got %q, want %q", got, msg(i))
			}
		}
	})
}

// An mqwire PUSH's multipart messages reach a JeroMQ PULL whole, with
// heartbeats set on mqwire's side: ZMTP 2.0 has no PING, so none may go out.
func TestPushToJeroMQPull(t *testing.T) {
	testutil.CheckGoroutines(t)
	bothWays(t, func(t *testing.T, listen bool) {
		s := newSocket(t, push.New, socket.HeartbeatInterval(10*time.Millisecond))
		p := connect(t, s, listen, "PULL", "recv", count)
		for i := range count {
			sendParts(t, s, fmt.Appendf(nil, "msg-%d", i), []byte("second"), nil)
			if i == 0 {
				time.Sleep(100 * time.Millisecond) // ten heartbeat intervals
			}
		}
		for i := range count {
			if got := p.line(t); got != msg(i) {
				t.Fatalf("JeroMQ PULL got %q, want %q", got, msg(i))
			}
		}
		if st := s.Stats(); st.Pipes != 1 || st.ProtocolErrors != 0 {
			t.Fatalf("stats %+v: the ZMTP 2.0 pipe did not stay", st)
		}
	})
}

// A JeroMQ REQ's requests reach an mqwire REP, which answers each.
func TestJeroMQReqToRep(t *testing.T) {
	testutil.CheckGoroutines(t)
	bothWays(t, func(t *testing.T, listen bool) {
		s := newSocket(t, rep.New)
		p := connect(t, s, listen, "REQ", "request", count)
		for i := range count {
			if got, want := recvParts(t, s), frames(fmt.Appendf(nil, "req-%d", i)); got != want {
				t.Fatalf("rep got %q, want %q", got, want)
			}
			sendParts(t, s, fmt.Appendf(nil, "rep-%d", i))
			if got, want := p.line(t), frames(fmt.Appendf(nil, "rep-%d", i)); got != want {
				t.Fatalf("JeroMQ REQ got %q, want %q", got, want)
			}
		}
	})
}

// An mqwire REQ asks a JeroMQ REP, which echoes.
func TestReqToJeroMQRep(t *testing.T) {
	testutil.CheckGoroutines(t)
	bothWays(t, func(t *testing.T, listen bool) {
		s := newSocket(t, req.New)
		connect(t, s, listen, "REP", "echo", count)
		for i := range count {
			sendParts(t, s, fmt.Appendf(nil, "ping-%d", i))
			if got, want := recvParts(t, s), frames(fmt.Appendf(nil, "ping-%d", i)); got != want {
				t.Fatalf("req got %q, want %q", got, want)
			}
			if i == 0 { // JeroMQ 0.3 speaks ZMTP 2.0
				if ps := s.PipeStats(); len(ps) != 1 || ps[0].Revision != "2.0" || ps[0].Peer != "REP" {
					t.Fatalf("pipes %+v, want one to a REP on ZMTP 2.0", ps)
				}
			}
		}
	})
}

// An mqwire SUB's subscription reaches a JeroMQ PUB, which filters as
// libzmq 3.x does (at the publisher): only the topic subscribed arrives.
func TestJeroMQPubToSub(t *testing.T) {
	testutil.CheckGoroutines(t)
	bothWays(t, func(t *testing.T, listen bool) {
		s := newSocket(t, sub.New, sub.Subscribe([]byte("a")))
		connect(t, s, listen, "PUB", "publish", 0, "a", "b")
		for range count {
			if got := recvParts(t, s); !strings.HasPrefix(got, frames([]byte("a-"))) {
				t.Fatalf("sub got %q, subscribed to a only", got)
			}
		}
	})
}

// A JeroMQ SUB's subscription (a data message, 1 + topic, as in ZMTP 3.0)
// reaches an mqwire PUB, which sends it that topic only.
func TestPubToJeroMQSub(t *testing.T) {
	testutil.CheckGoroutines(t)
	bothWays(t, func(t *testing.T, listen bool) {
		s := newSocket(t, pub.New)
		p := connect(t, s, listen, "SUB", "recv", count, "sub=a")
		// The subscription may land in the middle of a batch, so batches
		// go on until the SUB has printed all it was asked for.
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		deadline := time.After(20 * time.Second)
		for got, batch := 0, 0; got < count; {
			select {
			case l, ok := <-p.lines:
				if !ok {
					t.Fatal("the JeroMQ peer ended")
				}
				if !strings.HasPrefix(l, frames([]byte("a-"))) {
					t.Fatalf("JeroMQ SUB got %q, subscribed to a only", l)
				}
				got++
			case <-tick.C:
				for _, topic := range []string{"b", "a"} {
					for j := range count {
						sendParts(t, s, fmt.Appendf(nil, "%s-%d-%d", topic, batch, j))
					}
				}
				batch++
			case <-deadline:
				t.Fatalf("JeroMQ SUB printed %d of %d messages in 20 s", got, count)
			}
		}
	})
}

// A JeroMQ DEALER's identity becomes its routing id at an mqwire ROUTER,
// which answers it by that id.
func TestJeroMQDealerToRouter(t *testing.T) {
	testutil.CheckGoroutines(t)
	bothWays(t, func(t *testing.T, listen bool) {
		s := newSocket(t, router.New)
		p := connect(t, s, listen, "DEALER", "request", count, "id=java-dealer")
		for i := range count {
			if got, want := recvParts(t, s), frames([]byte("java-dealer"), fmt.Appendf(nil, "req-%d", i)); got != want {
				t.Fatalf("router got %q, want %q", got, want)
			}
			sendParts(t, s, []byte("java-dealer"), fmt.Appendf(nil, "rep-%d", i))
			if got, want := p.line(t), frames(fmt.Appendf(nil, "rep-%d", i)); got != want {
				t.Fatalf("JeroMQ DEALER got %q, want %q", got, want)
			}
		}
	})
}

// An mqwire DEALER's Identity reaches a JeroMQ ROUTER in the identity
// frame that opens a ZMTP 2.0 connection.
func TestDealerToJeroMQRouter(t *testing.T) {
	testutil.CheckGoroutines(t)
	bothWays(t, func(t *testing.T, listen bool) {
		s := newSocket(t, dealer.New, socket.Identity([]byte("mq-dealer")))
		p := connect(t, s, listen, "ROUTER", "recv", count)
		for i := range count {
			sendParts(t, s, fmt.Appendf(nil, "msg-%d", i), []byte("second"), nil)
		}
		for i := range count {
			if got, want := p.line(t), frames([]byte("mq-dealer"), fmt.Appendf(nil, "msg-%d", i), []byte("second"), nil); got != want {
				t.Fatalf("JeroMQ ROUTER got %q, want %q", got, want)
			}
		}
	})
}

// mqwire and JeroMQ PAIRs talk both ways.
func TestPairWithJeroMQ(t *testing.T) {
	testutil.CheckGoroutines(t)
	bothWays(t, func(t *testing.T, listen bool) {
		s := newSocket(t, pair.New)
		connect(t, s, listen, "PAIR", "echo", count)
		for i := range count {
			sendParts(t, s, fmt.Appendf(nil, "msg-%d", i), []byte("second"), nil)
			if got := recvParts(t, s); got != msg(i) {
				t.Fatalf("pair got %q, want %q", got, msg(i))
			}
		}
	})
}

// ZMTP 2.0 has no security mechanism: a socket that requires one refuses a
// JeroMQ 0.3 peer, with an event that says why, as libzmq does.
func TestSecuredSocketRefusesZMTP20(t *testing.T) {
	testutil.CheckGoroutines(t)
	s := newSocket(t, pull.New, socket.PlainClient("user", "secret"))
	ev := s.Events(16)
	connect(t, s, true, "PUSH", "send", 1)
	deadline := time.After(20 * time.Second)
	for {
		select {
		case e := <-ev:
			if e.Type != socket.EventHandshakeFailed {
				continue
			}
			if !errors.Is(e.Err, socket.ErrPeerMismatch) || !strings.Contains(e.Err.Error(), "ZMTP 2.0") {
				t.Fatalf("handshake failed with %v, want a mismatch naming ZMTP 2.0", e.Err)
			}
			return
		case <-deadline:
			t.Fatal("no handshake failure for a ZMTP 2.0 peer of a PLAIN socket")
		}
	}
}

// A JeroMQ SUB's subscription reaches an mqwire XPUB as the message 1 +
// topic; what the XPUB then publishes on the topic reaches the SUB.
func TestJeroMQSubToXPub(t *testing.T) {
	testutil.CheckGoroutines(t)
	bothWays(t, func(t *testing.T, listen bool) {
		s := newSocket(t, xpub.New)
		p := connect(t, s, listen, "SUB", "recv", 1, "sub=a")
		if got, want := recvParts(t, s), frames([]byte("\x01a")); got != want {
			t.Fatalf("xpub got %q, want the subscription %q", got, want)
		}
		sendParts(t, s, []byte("b-0"))
		sendParts(t, s, []byte("a-0"))
		if got, want := p.line(t), frames([]byte("a-0")); got != want {
			t.Fatalf("JeroMQ SUB got %q, want %q", got, want)
		}
	})
}

// An mqwire XSUB's subscription (a message 1 + topic) reaches a JeroMQ
// PUB, which sends it that topic only.
func TestJeroMQPubToXSub(t *testing.T) {
	testutil.CheckGoroutines(t)
	bothWays(t, func(t *testing.T, listen bool) {
		s := newSocket(t, xsub.New)
		connect(t, s, listen, "PUB", "publish", 0, "a", "b")
		sendParts(t, s, []byte("\x01b"))
		for range count {
			if got := recvParts(t, s); !strings.HasPrefix(got, frames([]byte("b-"))) {
				t.Fatalf("xsub got %q, subscribed to b only", got)
			}
		}
	})
}
