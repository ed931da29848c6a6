package device_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/socktest"
	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/dealer"
	"github.com/mqwire/mqwire/pattern/device"
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

// runProxy starts Proxy and, when the test ends, stops it and checks that
// it ended as asked, before the sockets close.
func runProxy(t *testing.T, front, back, capture *socket.Socket) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- device.Proxy(ctx, front, back, capture) }()
	t.Cleanup(func() {
		cancel()
		// Canceled, or ErrClosed if a socket closed first (the test's
		// deferred Closes run before its cleanups).
		if err := <-done; !errors.Is(err, context.Canceled) && !errors.Is(err, socket.ErrClosed) {
			t.Errorf("Proxy ended with %v", err)
		}
		front.Close()
		back.Close()
	})
}

// libzmq's broker (the ZeroMQ guide's threaded server, over inproc): REQ
// clients dial a ROUTER, REP workers dial a DEALER, and the proxy between
// them carries requests and replies (envelopes included) to the right
// client; the capture socket gets a copy of each.
func TestProxyBroker(t *testing.T) {
	for _, tr := range []string{"inproc", "ipc", "tcp"} {
		t.Run(tr, func(t *testing.T) {
			testutil.CheckGoroutines(t)
			front := must(router.New())
			back := must(dealer.New())
			capture := must(push.New())
			defer capture.Close()
			copies := must(pull.New())
			defer copies.Close()
			must(copies.Dial(must(capture.Listen(testutil.URL(t, "inproc"))).URL()))
			fl := must(front.Listen(testutil.URL(t, tr)))
			bl := must(back.Listen(testutil.URL(t, tr)))
			runProxy(t, front, back, capture)

			var wg sync.WaitGroup
			defer wg.Wait()
			for w := range 2 {
				s := must(rep.New(socket.DialDialect(socket.DialectZMTP)))
				defer s.Close()
				must(s.Dial(bl.URL()))
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						m, err := s.Recv()
						if err != nil {
							return
						}
						m.Body = fmt.Appendf(m.Body, " by %d", w)
						if s.Send(m) != nil {
							return
						}
					}
				}()
			}
			const clients, requests = 3, 20
			errs := make(chan error, clients)
			for c := range clients {
				q := must(req.New(socket.DialDialect(socket.DialectZMTP)))
				defer q.Close()
				must(q.Dial(fl.URL()))
				go func() {
					for i := range requests {
						body := fmt.Sprintf("client %d request %d", c, i)
						if err := q.SendContext(recvCtx(t), socket.NewMessageBytes([]byte(body))); err != nil {
							errs <- err
							return
						}
						m, err := q.RecvContext(recvCtx(t))
						if err != nil {
							errs <- fmt.Errorf("client %d request %d: %w", c, i, err)
							return
						}
						if !strings.HasPrefix(string(m.Body), body+" by ") {
							errs <- fmt.Errorf("client %d asked %q, got %q", c, body, m.Body)
							return
						}
						m.Free()
					}
					errs <- nil
				}()
			}
			for range clients {
				if err := <-errs; err != nil {
					t.Fatal(err)
				}
			}
			// A copy of each request (ROUTER's routing id, the empty
			// delimiter, the body) and of each reply.
			asked, answered := 0, 0
			for range 2 * clients * requests {
				m, err := copies.RecvContext(recvCtx(t))
				if err != nil {
					t.Fatalf("after %d requests and %d replies captured: %v", asked, answered, err)
				}
				if len(m.Frames) != 2 || len(m.Frames[0]) != 0 {
					t.Fatalf("captured %q %q, want an id, the delimiter and a body", m.Body, m.Frames)
				}
				if strings.Contains(string(m.Frames[1]), " by ") {
					answered++
				} else {
					asked++
				}
			}
			if asked != clients*requests || answered != clients*requests {
				t.Fatalf("captured %d requests and %d replies", asked, answered)
			}
		})
	}
}

// libzmq's forwarder: an XSUB frontend dialing a publisher, an XPUB backend
// for subscribers. The subscription goes up through the proxy, so that the
// publisher sends only what is subscribed to (the capture sees no other
// topic come down).
func TestProxyForwarder(t *testing.T) {
	testutil.CheckGoroutines(t)
	publisher := must(pub.New())
	defer publisher.Close()
	front := must(xsub.New())
	back := must(xpub.New())
	capture := must(push.New())
	defer capture.Close()
	copies := must(pull.New())
	defer copies.Close()
	must(copies.Dial(must(capture.Listen(testutil.URL(t, "inproc"))).URL()))
	must(front.Dial(must(publisher.Listen(testutil.URL(t, "tcp"))).URL()))
	subscriber := must(sub.New(sub.Subscribe([]byte("a-")), socket.DialDialect(socket.DialectZMTP)))
	defer subscriber.Close()
	must(subscriber.Dial(must(back.Listen(testutil.URL(t, "tcp"))).URL()))
	runProxy(t, front, back, capture)
	socktest.WaitPipes(t, publisher, 1)

	got := make(chan string, 1)
	go func() {
		m, err := subscriber.RecvContext(recvCtx(t))
		if err != nil {
			got <- err.Error()
			return
		}
		got <- string(m.Body)
	}()
	var first string
	for i := 0; first == ""; i++ {
		publisher.SendBytes(fmt.Appendf(nil, "b-%d", i))
		publisher.SendBytes(fmt.Appendf(nil, "a-%d", i))
		select {
		case first = <-got:
		case <-time.After(5 * time.Millisecond):
		}
	}
	if !strings.HasPrefix(first, "a-") {
		t.Fatalf("subscriber got %q", first)
	}
	// The capture saw the subscription go up, then only a- messages.
	m, err := copies.RecvContext(recvCtx(t))
	if err != nil || string(m.Body) != "\x01a-" {
		t.Fatalf("first capture %q, %v, want the subscription", m.Body, err)
	}
	for {
		m, err := copies.RecvContext(recvCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(m.Body), "a-") {
			t.Fatalf("captured %q: the publisher sent what nobody subscribed to", m.Body)
		}
		if string(m.Body) == first {
			break
		}
	}
}

// libzmq's streamer: PULL to PUSH, one way, in order.
func TestProxyStreamer(t *testing.T) {
	testutil.CheckGoroutines(t)
	producer := must(push.New())
	defer producer.Close()
	consumer := must(pull.New())
	defer consumer.Close()
	front := must(pull.New())
	back := must(push.New())
	must(producer.Dial(must(front.Listen(testutil.URL(t, "ipc"))).URL()))
	must(consumer.Dial(must(back.Listen(testutil.URL(t, "ipc"))).URL()))
	runProxy(t, front, back, nil)
	for i := range 100 {
		if err := producer.SendContext(recvCtx(t), socket.NewMessageBytes(fmt.Appendf(nil, "m-%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 100 {
		m, err := consumer.RecvContext(recvCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("m-%d", i); string(m.Body) != want {
			t.Fatalf("got %q, want %q", m.Body, want)
		}
	}
}

// A reply for a client that has gone, which a RouterMandatory frontend
// refuses, is dropped; the proxy goes on serving the next client.
func TestProxyDropsRefused(t *testing.T) {
	testutil.CheckGoroutines(t)
	front := must(router.New(router.RouterMandatory(true)))
	back := must(dealer.New())
	fl := must(front.Listen(testutil.URL(t, "tcp")))
	worker := must(rep.New(socket.DialDialect(socket.DialectZMTP)))
	defer worker.Close()
	must(worker.Dial(must(back.Listen(testutil.URL(t, "tcp"))).URL()))
	runProxy(t, front, back, nil)

	gone := must(req.New(socket.DialDialect(socket.DialectZMTP)))
	must(gone.Dial(fl.URL()))
	if err := gone.SendContext(recvCtx(t), socket.NewMessageBytes([]byte("unanswered"))); err != nil {
		t.Fatal(err)
	}
	m, err := worker.RecvContext(recvCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	gone.Close()
	deadline := time.Now().Add(5 * time.Second)
	for front.Stats().Pipes > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the ROUTER kept the gone client's connection")
		}
		time.Sleep(time.Millisecond)
	}
	if err := worker.SendContext(recvCtx(t), m); err != nil { // to nobody
		t.Fatal(err)
	}

	client := must(req.New(socket.DialDialect(socket.DialectZMTP)))
	defer client.Close()
	must(client.Dial(fl.URL()))
	if err := client.SendContext(recvCtx(t), socket.NewMessageBytes([]byte("answered"))); err != nil {
		t.Fatal(err)
	}
	m, err = worker.RecvContext(recvCtx(t))
	if err != nil || string(m.Body) != "answered" {
		t.Fatalf("worker got %v, %v", m, err)
	}
	worker.SendContext(recvCtx(t), m)
	if r, err := client.RecvContext(recvCtx(t)); err != nil || string(r.Body) != "answered" {
		t.Fatalf("client got %v, %v", r, err)
	}
}

// Proxy ends with socket.ErrClosed when one of its sockets closes.
func TestProxyEndsOnClose(t *testing.T) {
	testutil.CheckGoroutines(t)
	front := must(router.New())
	back := must(dealer.New())
	defer back.Close()
	done := make(chan error, 1)
	go func() { done <- device.Proxy(context.Background(), front, back, nil) }()
	time.Sleep(10 * time.Millisecond)
	front.Close()
	select {
	case err := <-done:
		if !errors.Is(err, socket.ErrClosed) {
			t.Fatalf("Proxy ended with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Proxy did not end when its frontend closed")
	}
}

func TestProxyChecks(t *testing.T) {
	r := must(router.New())
	defer r.Close()
	d := must(dealer.New())
	defer d.Close()
	cooked := must(rep.New())
	defer cooked.Close()
	pusher := must(push.New())
	defer pusher.Close()
	pusher2 := must(push.New())
	defer pusher2.Close()
	puller := must(pull.New())
	defer puller.Close()
	for _, tc := range []struct {
		name                 string
		front, back, capture *socket.Socket
	}{
		{"itself", r, r, nil},
		{"a cooked rep0", cooked, d, nil},
		{"nothing to pass", pusher, pusher2, nil},
		{"a capture that cannot send", r, d, puller},
	} {
		if err := device.Proxy(context.Background(), tc.front, tc.back, tc.capture); !errors.Is(err, socket.ErrNotSupported) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}
