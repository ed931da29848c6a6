package router_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/socktest"
	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/req"
	"github.com/mqwire/mqwire/pattern/router"
	"github.com/mqwire/mqwire/socket"
)

// A REQ without Correlate knows a reply over ZMTP (or inproc to a ROUTER)
// by the connection it comes on, so a connection carries one request at a
// time. These tests have a ROUTER answer out of order, as a broker with
// several workers does.

// recvWithin is what s receives within d, or nil.
func recvWithin(t *testing.T, s *socket.Socket, d time.Duration) []string {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	m, err := s.RecvContext(c)
	if errors.Is(err, socket.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	if err != nil {
		t.Fatalf("recv: %v", err)
	}
	return parts(m)
}

// replyTo checks that c's reply is want.
func replyTo(t *testing.T, c *req.Context, want string) {
	t.Helper()
	m, err := c.Recv(ctx(t))
	if err != nil {
		t.Fatalf("waiting for %q: %v", want, err)
	}
	if string(m.Body) != want {
		t.Fatalf("got %q, want %q", m.Body, want)
	}
	m.Free()
}

// Two Contexts on one connection: the second request goes out only once
// the first is answered, so a ROUTER that answers whatever it holds last
// first cannot swap the replies (before, both went out at once and each
// Context got the other's reply).
func TestReqContextsOneAtATime(t *testing.T) {
	for _, tr := range []string{"tcp", "inproc"} {
		t.Run(tr, func(t *testing.T) {
			testutil.CheckGoroutines(t)
			r := must(router.New())
			defer r.Close()
			q := must(req.New(socket.DialDialect(socket.DialectZMTP)))
			defer q.Close()
			connect(t, tr, r, q)
			var ctxs [2]*req.Context
			sent := make(chan error, len(ctxs))
			for i := range ctxs {
				ctxs[i] = must(req.NewContext(q))
				defer ctxs[i].Close()
				go func() {
					sent <- ctxs[i].Send(ctx(t), socket.NewMessageBytes(fmt.Appendf(nil, "req-%d", i)))
				}()
			}
			first := recvParts(t, r) // [id, "", body]
			if len(first) != 3 || first[1] != "" {
				t.Fatalf("router got %q", first)
			}
			if more := recvWithin(t, r, 200*time.Millisecond); more != nil {
				t.Fatalf("a second request came while the first was out: %q", more)
			}
			sendParts(t, r, first...)
			second := recvParts(t, r)
			sendParts(t, r, second...)
			for range ctxs {
				if err := <-sent; err != nil {
					t.Fatal(err)
				}
			}
			for i, c := range ctxs {
				replyTo(t, c, fmt.Sprintf("req-%d", i))
			}
		})
	}
}

// With two connections, two Contexts each have one: both requests go out
// at once, and a ROUTER answering them last first gives each its own.
func TestReqContextsShareConnections(t *testing.T) {
	testutil.CheckGoroutines(t)
	r := must(router.New())
	defer r.Close()
	q := must(req.New(socket.DialDialect(socket.DialectZMTP)))
	defer q.Close()
	ln := must(r.Listen(testutil.URL(t, "tcp")))
	must(q.Dial(ln.URL()))
	must(q.Dial(ln.URL()))
	socktest.WaitPipes(t, r, 2)
	socktest.WaitPipes(t, q, 2)
	var ctxs [2]*req.Context
	for i := range ctxs {
		ctxs[i] = must(req.NewContext(q))
		defer ctxs[i].Close()
		if err := ctxs[i].Send(ctx(t), socket.NewMessageBytes(fmt.Appendf(nil, "req-%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	held := [][]string{recvParts(t, r), recvParts(t, r)}
	if held[0][0] == held[1][0] {
		t.Fatalf("both requests came on one connection: %q", held)
	}
	sendParts(t, r, held[1]...)
	sendParts(t, r, held[0]...)
	for _, c := range ctxs {
		m, err := c.Recv(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		m.Free()
	}
	// Which Context's request went on which connection is the round
	// robin's business; each got a reply, and the replies are checked
	// against their requests by TestReqContextsOneAtATime.
}

// A Context that sends again abandons its request, and the connection
// that carried it closes: a late reply there could not be told from the
// new request's, and a peer that never answers would hold it for ever. The
// new request goes out at once on the connection that replaces it (the
// dialer reconnects), and gets its own reply.
func TestReqAbandonedClosesConnection(t *testing.T) {
	testutil.CheckGoroutines(t)
	r := must(router.New())
	defer r.Close()
	q := must(req.New(socket.DialDialect(socket.DialectZMTP)))
	defer q.Close()
	connect(t, "tcp", r, q)
	if err := q.SendContext(ctx(t), socket.NewMessageBytes([]byte("old"))); err != nil {
		t.Fatal(err)
	}
	old := recvParts(t, r)
	if err := q.SendContext(ctx(t), socket.NewMessageBytes([]byte("new"))); err != nil {
		t.Fatal(err)
	}
	next := recvParts(t, r)
	if next[2] != "new" {
		t.Fatalf("router got %q", next)
	}
	if next[0] == old[0] {
		t.Fatalf("the new request came on the abandoned request's connection (%q)", next[0])
	}
	sendParts(t, r, old...) // to a connection that has gone: dropped by the router
	sendParts(t, r, next[0], "", "reply-new")
	m, err := q.RecvContext(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Body) != "reply-new" {
		t.Fatalf("got %q", m.Body)
	}
	m.Free()
}

// A request with no reply for the resend interval closes its connection
// (ZeroMQ's lazy pirate): the dialer reconnects and the request goes out
// again on the new connection, where its reply is known.
func TestReqOverdueReconnects(t *testing.T) {
	testutil.CheckGoroutines(t)
	r := must(router.New())
	defer r.Close()
	q := must(req.New(socket.DialDialect(socket.DialectZMTP), req.ResendInterval(300*time.Millisecond)))
	defer q.Close()
	events := q.Events(16)
	connect(t, "tcp", r, q)
	if err := q.SendContext(ctx(t), socket.NewMessageBytes([]byte("ask"))); err != nil {
		t.Fatal(err)
	}
	first := recvParts(t, r)
	again := recvParts(t, r) // after about 300 ms, on a new connection
	if again[0] == first[0] || again[2] != "ask" {
		t.Fatalf("router got %q, then %q: want the request again from another connection", first, again)
	}
	sendParts(t, r, again[0], "", "answer")
	m, err := q.RecvContext(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Body) != "answer" {
		t.Fatalf("got %q", m.Body)
	}
	m.Free()
	for {
		select {
		case e := <-events:
			if e.Type == socket.EventDisconnected {
				if !errors.Is(e.Err, socket.ErrTimeout) {
					t.Fatalf("disconnected with %v, want a timeout", e.Err)
				}
				return
			}
		case <-ctx(t).Done():
			t.Fatal("no EventDisconnected")
		}
	}
}

// Many Contexts, many requests each, over three connections to a ROUTER
// that holds what it gets and answers in a random order: every Context
// gets the reply to its own request, every time.
func TestReqContextsShuffledBroker(t *testing.T) {
	for _, tr := range []string{"tcp", "inproc"} {
		t.Run(tr, func(t *testing.T) {
			testutil.CheckGoroutines(t)
			const conns, contexts, rounds = 3, 8, 40
			r := must(router.New())
			defer r.Close()
			q := must(req.New(socket.DialDialect(socket.DialectZMTP)))
			defer q.Close()
			ln := must(r.Listen(testutil.URL(t, tr)))
			for range conns {
				must(q.Dial(ln.URL()))
			}
			socktest.WaitPipes(t, r, conns)
			brokerDone := make(chan struct{})
			go func() { // the broker
				defer close(brokerDone)
				rng := rand.New(rand.NewPCG(1, 2))
				var held [][]string
				for {
					c, cancel := context.WithTimeout(context.Background(), 2*time.Millisecond)
					m, err := r.RecvContext(c)
					cancel()
					if errors.Is(err, socket.ErrClosed) {
						return
					}
					if err == nil {
						held = append(held, parts(m))
						if len(held) < conns {
							continue
						}
					}
					rng.Shuffle(len(held), func(i, j int) { held[i], held[j] = held[j], held[i] })
					for _, h := range held {
						if r.SendContext(context.Background(), msg(h...)) != nil {
							return
						}
					}
					held = held[:0]
				}
			}()
			errs := make(chan error, contexts)
			for c := range contexts {
				go func() {
					rc, err := req.NewContext(q)
					if err != nil {
						errs <- err
						return
					}
					defer rc.Close()
					for i := range rounds {
						body := fmt.Sprintf("c%d-r%d", c, i)
						if err := rc.Send(ctx(t), socket.NewMessageBytes([]byte(body))); err != nil {
							errs <- err
							return
						}
						m, err := rc.Recv(ctx(t))
						if err != nil {
							errs <- fmt.Errorf("%s: %w", body, err)
							return
						}
						if string(m.Body) != body {
							errs <- fmt.Errorf("context %d got %q, want %q", c, m.Body, body)
							return
						}
						m.Free()
					}
					errs <- nil
				}()
			}
			for range contexts {
				if err := <-errs; err != nil {
					t.Fatal(err)
				}
			}
			q.Close()
			r.Close()
			<-brokerDone
		})
	}
}
