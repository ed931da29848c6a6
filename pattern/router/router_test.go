package router_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/socktest"
	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/dealer"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/pattern/rep"
	"github.com/mqwire/mqwire/pattern/req"
	"github.com/mqwire/mqwire/pattern/router"
	"github.com/mqwire/mqwire/socket"
)

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return c
}

func msg(frames ...string) *socket.Message {
	m := socket.NewMessageBytes([]byte(frames[0]))
	for _, f := range frames[1:] {
		m.Frames = append(m.Frames, []byte(f))
	}
	return m
}

func parts(m *socket.Message) []string {
	out := []string{string(m.Body)}
	for _, f := range m.Frames {
		out = append(out, string(f))
	}
	return out
}

func recvParts(t testing.TB, s *socket.Socket) []string {
	t.Helper()
	m, err := s.RecvContext(ctx(t))
	if err != nil {
		t.Fatalf("recv: %v", err)
	}
	return parts(m)
}

func sendParts(t testing.TB, s *socket.Socket, frames ...string) {
	t.Helper()
	if err := s.SendContext(ctx(t), msg(frames...)); err != nil {
		t.Fatalf("send %q: %v", frames, err)
	}
}

// connect makes l listen on transport and d dial it, then waits until the
// listener has the pipe.
func connect(t testing.TB, transport string, l, d *socket.Socket) {
	t.Helper()
	ln := must(l.Listen(testutil.URL(t, transport)))
	must(d.Dial(ln.URL()))
	socktest.WaitPipes(t, l, 1)
}

func forEach(t *testing.T, f func(t *testing.T, tr string, routerListens bool)) {
	for _, tr := range []string{"inproc", "ipc", "tcp"} {
		for _, rl := range []bool{true, false} {
			name := tr + "/router-dials"
			if rl {
				name = tr + "/router-listens"
			}
			t.Run(name, func(t *testing.T) {
				testutil.CheckGoroutines(t)
				f(t, tr, rl)
			})
		}
	}
}

// A DEALER with an identity and one without: the ROUTER knows them by the
// identity and by a generated 5-byte id starting with 0, and routes replies
// back by those ids.
func TestDealerRouter(t *testing.T) {
	forEach(t, func(t *testing.T, tr string, routerListens bool) {
		r := must(router.New())
		defer r.Close()
		named := must(dealer.New(socket.Identity([]byte("alice"))))
		defer named.Close()
		anon := must(dealer.New())
		defer anon.Close()
		for i, d := range []*socket.Socket{named, anon} {
			if routerListens {
				ln := must(r.Listen(testutil.URL(t, tr)))
				must(d.Dial(ln.URL()))
			} else {
				ln := must(d.Listen(testutil.URL(t, tr)))
				must(r.Dial(ln.URL()))
			}
			socktest.WaitPipes(t, r, i+1)
		}
		sendParts(t, named, "hello", "from alice")
		got := recvParts(t, r)
		if fmt.Sprint(got) != fmt.Sprint([]string{"alice", "hello", "from alice"}) {
			t.Fatalf("router got %q", got)
		}
		sendParts(t, anon, "hi")
		got = recvParts(t, r)
		if id := got[0]; len(id) != 5 || id[0] != 0 || len(got) != 2 || got[1] != "hi" {
			t.Fatalf("router got %q from the anonymous dealer", got)
		}
		anonID := got[0]
		sendParts(t, r, anonID, "to anon", "x")
		sendParts(t, r, "alice", "to alice")
		if got := recvParts(t, anon); fmt.Sprint(got) != "[to anon x]" {
			t.Fatalf("anon got %q", got)
		}
		if got := recvParts(t, named); fmt.Sprint(got) != "[to alice]" {
			t.Fatalf("alice got %q", got)
		}
	})
}

// An unknown routing id is dropped and counted, or with RouterMandatory an
// error matching ErrNoPeer; the message stays the caller's.
func TestUnroutable(t *testing.T) {
	testutil.CheckGoroutines(t)
	r := must(router.New())
	defer r.Close()
	if err := r.Send(msg("nobody", "x")); err != nil {
		t.Fatal(err)
	}
	if n := r.Stats().Dropped(socket.DropNoPeer); n != 1 {
		t.Fatalf("%d no-peer drops, want 1", n)
	}
	if err := r.SetOption(router.RouterMandatory(true)); err != nil {
		t.Fatal(err)
	}
	m := msg("nobody", "x", "y")
	if err := r.Send(m); !errors.Is(err, socket.ErrNoPeer) {
		t.Fatalf("mandatory send to nobody: %v", err)
	}
	if fmt.Sprint(parts(m)) != "[nobody x y]" {
		t.Fatalf("message after a failed send: %q", parts(m))
	}
	if err := r.Send(msg("only an id")); !errors.Is(err, socket.ErrBadState) {
		t.Fatalf("send of an id alone: %v", err)
	}
	d := must(dealer.New())
	defer d.Close()
	if err := d.SetOption(router.RouterMandatory(true)); !errors.Is(err, socket.ErrOptionNotApplicable) {
		t.Fatalf("RouterMandatory on a dealer: %v", err)
	}
}

// With RouterMandatory a full peer queue makes Send wait, then time out;
// without it the message is dropped.
func TestMandatoryFullQueue(t *testing.T) {
	testutil.CheckGoroutines(t)
	r := must(router.New(socket.SendHWM(1), socket.SendTimeout(50*time.Millisecond), router.RouterMandatory(true)))
	defer r.Close()
	d := must(dealer.New(socket.Identity([]byte("slow")), socket.RecvHWM(1)))
	defer d.Close()
	connect(t, "inproc", r, d)
	var err error
	for i := 0; i < 10 && err == nil; i++ {
		err = r.Send(msg("slow", "m"))
	}
	if !errors.Is(err, socket.ErrTimeout) {
		t.Fatalf("mandatory send to a full peer: %v", err)
	}
	r.SetOption(router.RouterMandatory(false))
	if err := r.Send(msg("slow", "m")); err != nil {
		t.Fatal(err)
	}
	if r.Stats().Dropped(socket.DropQueueFull) == 0 {
		t.Fatal("no queue-full drop")
	}
}

// A second peer with an identity in use is refused; with RouterHandover it
// takes the id over and the first one is disconnected.
func TestDuplicateIdentity(t *testing.T) {
	for _, handover := range []bool{false, true} {
		t.Run(fmt.Sprint("handover=", handover), func(t *testing.T) {
			testutil.CheckGoroutines(t)
			r := must(router.New(router.RouterHandover(handover)))
			defer r.Close()
			ev := r.Events(64)
			ln := must(r.Listen(testutil.URL(t, "tcp")))
			first := must(dealer.New(socket.Identity([]byte("dup"))))
			defer first.Close()
			must(first.Dial(ln.URL()))
			socktest.WaitPipes(t, r, 1)
			second := must(dealer.New(socket.Identity([]byte("dup")), socket.ReconnectInterval(time.Hour)))
			defer second.Close()
			must(second.Dial(ln.URL()))
			deadline := time.After(5 * time.Second)
			for {
				var e socket.Event
				select {
				case e = <-ev:
				case <-deadline:
					t.Fatal("no event for the duplicate")
				}
				if !handover && e.Type == socket.EventPipeRejected {
					if !errors.Is(e.Err, router.ErrDuplicateID) {
						t.Fatalf("rejected with %v", e.Err)
					}
					break
				}
				if handover && e.Type == socket.EventDisconnected {
					break
				}
			}
			// Who gets what is sent to "dup" now: the first peer without
			// handover, the second with it.
			want, other := first, second
			if handover {
				want, other = second, first
			}
			sendParts(t, r, "dup", "which")
			if got := recvParts(t, want); fmt.Sprint(got) != "[which]" {
				t.Fatalf("got %q", got)
			}
			sendParts(t, want, "back")
			if got := recvParts(t, r); fmt.Sprint(got) != "[dup back]" {
				t.Fatalf("router got %q", got)
			}
			c, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer cancel()
			if m, err := other.RecvContext(c); err == nil {
				t.Fatalf("the other peer got %q", parts(m))
			}
		})
	}
}

// A ROUTER serves mqwire REQ sockets over ZMTP, and over inproc, where the
// pipe translates as ZMTP would: requests arrive as [id, "", body],
// replies keep that envelope.
func TestRouterServesReq(t *testing.T) {
	for _, tr := range []string{"ipc", "tcp", "inproc"} {
		t.Run(tr, func(t *testing.T) {
			testutil.CheckGoroutines(t)
			r := must(router.New())
			defer r.Close()
			q := must(req.New(socket.DialDialect(socket.DialectZMTP)))
			defer q.Close()
			connect(t, tr, r, q)
			for i := range 3 {
				body := fmt.Sprint("question ", i)
				if err := q.SendContext(ctx(t), socket.NewMessageBytes([]byte(body))); err != nil {
					t.Fatal(err)
				}
				got := recvParts(t, r)
				if len(got) != 3 || got[1] != "" || got[2] != body {
					t.Fatalf("router got %q", got)
				}
				sendParts(t, r, got[0], "", "answer "+body)
				m, err := q.RecvContext(ctx(t))
				if err != nil {
					t.Fatal(err)
				}
				if string(m.Body) != "answer "+body {
					t.Fatalf("req got %q", m.Body)
				}
			}
		})
	}
}

// A DEALER talks to an mqwire REP over ZMTP, and over inproc, by adding the
// empty delimiter.
func TestDealerToRep(t *testing.T) {
	for _, tr := range []string{"ipc", "tcp", "inproc"} {
		t.Run(tr, func(t *testing.T) {
			testutil.CheckGoroutines(t)
			p := must(rep.New())
			defer p.Close()
			d := must(dealer.New())
			defer d.Close()
			connect(t, tr, p, d)
			sendParts(t, d, "", "ping")
			m, err := p.RecvContext(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			if string(m.Body) != "ping" {
				t.Fatalf("rep got %q", m.Body)
			}
			m.Body = []byte("pong")
			if err := p.SendContext(ctx(t), m); err != nil {
				t.Fatal(err)
			}
			if got := recvParts(t, d); fmt.Sprint(got) != "[ pong]" {
				t.Fatalf("dealer got %q", got)
			}
		})
	}
}

// Over inproc a ROUTER pairs only with types it can talk to.
func TestInprocMismatch(t *testing.T) {
	testutil.CheckGoroutines(t)
	r := must(router.New())
	defer r.Close()
	ev := r.Events(16)
	ln := must(r.Listen(testutil.URL(t, "inproc")))
	q := must(push.New())
	defer q.Close()
	must(q.Dial(ln.URL()))
	if err := handshakeFailure(t, ev); !errors.Is(err, socket.ErrPeerMismatch) {
		t.Fatalf("handshake failed with %v", err)
	}
}

// handshakeFailure waits for an EventHandshakeFailed on ev and returns
// its error.
func handshakeFailure(t *testing.T, ev <-chan socket.Event) error {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case e := <-ev:
			if e.Type == socket.EventHandshakeFailed {
				return e.Err
			}
		case <-deadline:
			t.Fatal("no handshake failure")
			return nil
		}
	}
}

// A ROUTER answers each DEALER by the routing id its messages carry.
func Example() {
	r, _ := router.New()
	defer r.Close()
	l, _ := r.Listen("inproc://router-example")
	d, _ := dealer.New(socket.Identity([]byte("worker-1")))
	defer d.Close()
	d.Dial(l.URL())

	req := socket.NewMessageBytes([]byte("job"))
	d.Send(req)
	m, _ := r.Recv() // [worker-1, job]
	fmt.Printf("%s asks for a %s\n", m.Body, m.Frames[0])

	reply := socket.NewMessageBytes(m.Body) // the routing id first
	reply.Frames = [][]byte{[]byte("done")}
	r.Send(reply)
	a, _ := d.Recv()
	fmt.Printf("%s\n", a.Body)
	// Output:
	// worker-1 asks for a job
	// done
}

// Over inproc, a DEALER's message to a REP without the empty delimiter
// breaks the pattern, as over ZMTP: the REP's pipe closes with a protocol
// error, and the REP goes on serving others.
func TestInprocEnvelopeWithoutDelimiter(t *testing.T) {
	testutil.CheckGoroutines(t)
	p := must(rep.New())
	defer p.Close()
	bad := must(dealer.New())
	defer bad.Close()
	ln := must(p.Listen(testutil.URL(t, "inproc")))
	must(bad.Dial(ln.URL()))
	socktest.WaitPipes(t, p, 1)
	sendParts(t, bad, "no delimiter")
	deadline := time.Now().Add(5 * time.Second)
	for p.Stats().ProtocolErrors == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no protocol error: %+v", p.Stats())
		}
		time.Sleep(time.Millisecond)
	}
	good := must(dealer.New())
	defer good.Close()
	must(good.Dial(ln.URL()))
	sendParts(t, good, "", "ping")
	m, err := p.RecvContext(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Body) != "ping" {
		t.Fatalf("rep got %q", m.Body)
	}
}

// ProbeRouter: a DEALER, or a ROUTER, that probes sends an empty message
// as soon as it connects, so the ROUTER it connects to learns of it before
// anything is sent: it receives [id, ""].
func TestProbeRouter(t *testing.T) {
	for _, tr := range []string{"tcp", "inproc"} {
		for _, kind := range []string{"dealer", "router"} {
			t.Run(tr+"/"+kind, func(t *testing.T) {
				testutil.CheckGoroutines(t)
				r := must(router.New())
				defer r.Close()
				var d *socket.Socket
				if kind == "dealer" {
					d = must(dealer.New(dealer.ProbeRouter(true), socket.Identity([]byte("prober"))))
				} else {
					d = must(router.New(router.ProbeRouter(true), socket.Identity([]byte("prober"))))
				}
				defer d.Close()
				connect(t, tr, r, d)
				if got := recvParts(t, r); fmt.Sprint(got) != "[prober ]" {
					t.Fatalf("router got %q, want the probe [prober, \"\"]", got)
				}
			})
		}
	}
}

// REQ Contexts with Correlate, to a ROUTER that answers two requests last
// first, over ZMTP and over inproc: each Context gets its own reply.
func TestReqCorrelateReversed(t *testing.T) {
	for _, tr := range []string{"tcp", "inproc"} {
		t.Run(tr, func(t *testing.T) {
			testutil.CheckGoroutines(t)
			r := must(router.New())
			defer r.Close()
			q := must(req.New(req.Correlate(true), socket.DialDialect(socket.DialectZMTP)))
			defer q.Close()
			connect(t, tr, r, q)
			var ctxs [2]*req.Context
			for i := range ctxs {
				ctxs[i] = must(req.NewContext(q))
				defer ctxs[i].Close()
				if err := ctxs[i].Send(ctx(t), socket.NewMessageBytes(fmt.Appendf(nil, "req-%d", i))); err != nil {
					t.Fatal(err)
				}
			}
			var held [2][]string
			for i := range held {
				held[i] = recvParts(t, r) // [id, request id, "", body]
				if len(held[i]) != 4 || len(held[i][1]) != 4 || held[i][2] != "" {
					t.Fatalf("router got %q", held[i])
				}
			}
			for i := len(held) - 1; i >= 0; i-- {
				sendParts(t, r, held[i]...)
			}
			for i, c := range ctxs {
				replyTo(t, c, fmt.Sprintf("req-%d", i))
			}
		})
	}
}

// A peer that announces the routing id the router would generate next (0
// and four bytes) keeps it, and the next anonymous peer gets another: each
// gets its own messages.
func TestGeneratedIDNotTaken(t *testing.T) {
	testutil.CheckGoroutines(t)
	r := must(router.New())
	defer r.Close()
	l := must(r.Listen("tcp://127.0.0.1:0"))
	anon := func(body string) (*socket.Socket, string) {
		d := must(dealer.New())
		t.Cleanup(func() { d.Close() })
		must(d.Dial(l.URL()))
		sendParts(t, d, body)
		got := recvParts(t, r)
		if len(got) != 2 || got[1] != body || len(got[0]) != 5 || got[0][0] != 0 {
			t.Fatalf("router got %q", got)
		}
		return d, got[0]
	}
	_, idA := anon("a")
	next := []byte(idA)
	binary.BigEndian.PutUint32(next[1:], binary.BigEndian.Uint32(next[1:])+1)

	// A ZMTP 2.0 DEALER (the shortest handshake to write by hand) naming
	// itself by that id.
	c := must(net.Dial("tcp", strings.TrimPrefix(l.URL(), "tcp://")))
	defer c.Close()
	hello := []byte{0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 1, 5, 0, 5}
	hello = append(append(hello, next...), 0, 7)
	hello = append(hello, "hostile"...)
	if _, err := c.Write(hello); err != nil {
		t.Fatal(err)
	}
	if got := recvParts(t, r); len(got) != 2 || got[0] != string(next) || got[1] != "hostile" {
		t.Fatalf("router got %q from the peer naming itself %x", got, next)
	}
	b, idB := anon("b")
	if idB == string(next) {
		t.Fatalf("the anonymous peer got %x, the id another peer announced", idB)
	}
	sendParts(t, r, idB, "for b")
	if got := recvParts(t, b); len(got) != 1 || got[0] != "for b" {
		t.Fatalf("b got %q", got)
	}
	sendParts(t, r, string(next), "for the other")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	want := "\x00\x0dfor the other"
	buf := make([]byte, 14+len(want)) // our greeting's 12 bytes and an empty identity frame first
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatal(err)
	}
	if got := string(buf[14:]); got != want {
		t.Fatalf("the peer got %q, want %q", got, want)
	}
}

// An SP REQ (the default dialect) dialing a ROUTER over tcp is refused,
// and the dialer's event says how to reach it: in ZMTP.
func TestSPDialerToldToDialZMTP(t *testing.T) {
	testutil.CheckGoroutines(t)
	r := must(router.New())
	defer r.Close()
	ln := must(r.Listen("tcp://127.0.0.1:0"))
	q := must(req.New())
	defer q.Close()
	ev := q.Events(16)
	must(q.Dial(ln.URL()))
	if err := handshakeFailure(t, ev); !errors.Is(err, socket.ErrPeerMismatch) || !strings.Contains(err.Error(), "DialDialect(DialectZMTP)") {
		t.Fatalf("handshake failed with %v", err)
	}
}

// A bad Identity is refused with a short reason, not the whole id.
func TestIdentityChecked(t *testing.T) {
	for _, id := range [][]byte{nil, make([]byte, 256), {0, 'x'}} {
		_, err := dealer.New(socket.Identity(id))
		if !errors.Is(err, socket.ErrBadOption) {
			t.Errorf("Identity of %d bytes: %v, want ErrBadOption", len(id), err)
		}
		if err != nil && len(err.Error()) > 160 {
			t.Errorf("Identity of %d bytes: an error of %d characters: %v", len(id), len(err.Error()), err)
		}
	}
}
