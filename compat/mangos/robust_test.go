package mangos_test

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.nanomsg.org/mangos/v3"
	mpush "go.nanomsg.org/mangos/v3/protocol/push"
	mrep "go.nanomsg.org/mangos/v3/protocol/rep"
	mreq "go.nanomsg.org/mangos/v3/protocol/req"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/rep"
	"github.com/mqwire/mqwire/pattern/req"
	"github.com/mqwire/mqwire/socket"
)

// waitEvent reads events until one satisfies match, failing t after timeout
// or when the channel closes. It returns the events seen before, and the
// match.
func waitEvent(t testing.TB, ch <-chan socket.Event, what string, match func(socket.Event) bool) ([]socket.Event, socket.Event) {
	t.Helper()
	var seen []socket.Event
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		select {
		case e, ok := <-ch:
			if !ok {
				t.Fatalf("events closed before %s; saw %v", what, seen)
			}
			if match(e) {
				return seen, e
			}
			seen = append(seen, e)
		case <-deadline.C:
			t.Fatalf("no %s within %v; saw %v", what, timeout, seen)
		}
	}
}

// TestTooLarge: a mangos push that sends a message above mqwire's
// MaxRecvSize loses its own connection (the disconnect says ErrTooLarge),
// the big message is never delivered, and a second mangos push on the same
// listener goes on working, before and after, on the same connection.
//
// The goroutine check measures after closing every socket, mangos's too.
func TestTooLarge(t *testing.T) {
	const limit = 64 << 10
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			testutil.CheckGoroutines(t)
			q := newMQ(t)(pull.New(socket.MaxRecvSize(limit)))
			events := q.Events(64)
			good := newPeer(t)(mpush.NewSocket())
			bad := newPeer(t)(mpush.NewSocket())
			t.Cleanup(func() {
				good.Close()
				bad.Close()
				q.Close()
			})
			ln, err := q.Listen(testutil.URL(t, tr))
			if err != nil {
				t.Fatal(err)
			}

			if err := good.Dial(ln.URL()); err != nil {
				t.Fatalf("mangos dial: %v", err)
			}
			mgSend(t, good, []byte("good-1"))
			same(t, "mqwire pull", mqRecv(t, q), []byte("good-1"))
			first := q.PipeStats()
			if len(first) != 1 {
				t.Fatalf("%d pipes, want 1", len(first))
			}
			goodID := first[0].ID

			if err := bad.Dial(ln.URL()); err != nil {
				t.Fatalf("mangos dial: %v", err)
			}
			waitFor(t, "two pipes", func() bool { return q.Stats().Pipes == 2 })
			big := bytes.Repeat([]byte("x"), 2*limit)
			mgSend(t, bad, big)
			seen, e := waitEvent(t, events, "disconnect", func(e socket.Event) bool {
				return e.Type == socket.EventDisconnected
			})
			if !errors.Is(e.Err, socket.ErrTooLarge) {
				t.Fatalf("disconnect %v, want ErrTooLarge", e)
			}
			for _, e := range seen {
				if e.Type == socket.EventDisconnected || e.Type == socket.EventHandshakeFailed {
					t.Fatalf("unexpected event %v before the oversized message's disconnect", e)
				}
			}

			// The well-behaved client keeps its connection (mangos's
			// dialer brings the bad one back on a new pipe, which is
			// fine).
			for i := 2; i < 2+messages; i++ {
				mgSend(t, good, fmt.Appendf(nil, "good-%d", i))
			}
			for i := 2; i < 2+messages; i++ {
				same(t, "mqwire pull", mqRecv(t, q), fmt.Appendf(nil, "good-%d", i))
			}
			st := q.Stats()
			if st.BytesIn >= limit {
				t.Errorf("BytesIn %d: the oversized message was counted as received", st.BytesIn)
			}
			gp := q.Pipe(goodID)
			if gp == nil {
				t.Fatalf("the good client's pipe is gone: %+v", q.PipeStats())
			}
			if n := gp.Stats().MessagesIn; n != 1+messages {
				t.Errorf("the good client's pipe took %d messages, want %d", n, 1+messages)
			}
		})
	}
}

// TestPeerMismatch: a mangos socket of a protocol that cannot talk to the
// mqwire one is refused, with EventHandshakeFailed carrying
// socket.ErrPeerMismatch, whichever side dials; no pipe is made.
func TestPeerMismatch(t *testing.T) {
	for _, tr := range transports {
		for _, mqListens := range []bool{true, false} {
			name := tr + "/mangos-listens/rep-push"
			if mqListens {
				name = tr + "/mqwire-listens/rep-push"
			}
			t.Run(name, func(t *testing.T) {
				testutil.CheckGoroutines(t)
				r := newMQ(t)(rep.New(socket.ReconnectInterval(10 * time.Millisecond)))
				events := r.Events(64)
				p := newPeer(t)(mpush.NewSocket())
				closeBoth(t, r, p)
				if mqListens {
					ln, err := r.Listen(testutil.URL(t, tr))
					if err != nil {
						t.Fatal(err)
					}
					// mangos's first dial is synchronous and reports
					// the refusal in its own way; only mqwire's side is
					// checked here.
					_ = p.DialOptions(ln.URL(), map[string]any{mangos.OptionDialAsynch: true})
				} else {
					url := mangosListen(t, p, tr)
					if _, err := r.Dial(url); err != nil {
						t.Fatal(err)
					}
				}
				_, e := waitEvent(t, events, "handshake failure", func(e socket.Event) bool {
					return e.Type == socket.EventHandshakeFailed
				})
				if !errors.Is(e.Err, socket.ErrPeerMismatch) {
					t.Fatalf("handshake failure %v, want ErrPeerMismatch", e)
				}
				if st := r.Stats(); st.Pipes != 0 || st.Connects != 0 || st.HandshakeFailures == 0 {
					t.Fatalf("stats %+v: want no pipe and a handshake failure", st)
				}
				if n := p.attached.Load(); n != 0 {
					t.Fatalf("mangos attached %d pipes to a mismatched peer", n)
				}
			})
		}
	}
}

// TestManyClients: several mangos req clients, each with several requests in
// flight on contexts, against one mqwire rep; and several mqwire req
// contexts against one mangos rep. Every reply must reach the request it
// answers.
func TestManyClients(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr+"/mangos-req-contexts", func(t *testing.T) {
			testutil.CheckGoroutines(t)
			r := newMQ(t)(rep.New())
			ln, err := r.Listen(testutil.URL(t, tr))
			if err != nil {
				t.Fatal(err)
			}
			const clients, ctxs = 3, 4
			var peers []*peer
			for range clients {
				p := newPeer(t)(mreq.NewSocket())
				peers = append(peers, p)
				if err := p.Dial(ln.URL()); err != nil {
					t.Fatal(err)
				}
			}
			t.Cleanup(func() {
				for _, p := range peers {
					p.Close()
				}
				r.Close()
			})
			var echo sync.WaitGroup
			echo.Go(func() { // the server: echo each request back
				for {
					m, err := r.Recv()
					if err != nil {
						return
					}
					m.Body = append(m.Body, "/reply"...)
					if err := r.Send(m); err != nil {
						return
					}
				}
			})
			t.Cleanup(func() { r.Close(); echo.Wait() })
			var wg sync.WaitGroup
			errs := make(chan error, clients*ctxs)
			for c, p := range peers {
				for k := range ctxs {
					mc, err := p.OpenContext()
					if err != nil {
						t.Fatal(err)
					}
					_ = mc.SetOption(mangos.OptionRecvDeadline, timeout)
					wg.Go(func() {
						defer mc.Close()
						for i := range messages {
							want := fmt.Appendf(nil, "c%d-k%d-%d", c, k, i)
							if err := mc.Send(want); err != nil {
								errs <- err
								return
							}
							got, err := mc.Recv()
							if err != nil {
								errs <- err
								return
							}
							if string(got) != string(want)+"/reply" {
								errs <- fmt.Errorf("got %q for %q", got, want)
								return
							}
						}
					})
				}
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		})
		t.Run(tr+"/mqwire-req-contexts", func(t *testing.T) {
			testutil.CheckGoroutines(t)
			q := newMQ(t)(req.New())
			p := newPeer(t)(mrep.NewSocket())
			closeBoth(t, q, p)
			connect(t, tr, false, q, p)
			var echo sync.WaitGroup
			echo.Go(func() {
				for {
					b, err := p.Recv()
					if errors.Is(err, mangos.ErrRecvTimeout) {
						continue
					}
					if err != nil {
						return
					}
					if err := p.Send(append(b, "/reply"...)); err != nil {
						return
					}
				}
			})
			t.Cleanup(func() { p.Close(); echo.Wait() })
			const ctxs = 6
			var wg sync.WaitGroup
			errs := make(chan error, ctxs)
			for k := range ctxs {
				c, err := req.NewContext(q)
				if err != nil {
					t.Fatal(err)
				}
				wg.Go(func() {
					defer c.Close()
					for i := range messages {
						want := fmt.Appendf(nil, "k%d-%d", k, i)
						if err := c.Send(ctx(t), socket.NewMessageBytes(want)); err != nil {
							errs <- err
							return
						}
						m, err := c.Recv(ctx(t))
						if err != nil {
							errs <- err
							return
						}
						got := string(m.Body)
						m.Free()
						if got != string(want)+"/reply" {
							errs <- fmt.Errorf("got %q for %q", got, want)
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		})
	}
}
