package zmq_test

import (
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mqwire/mqwire/pattern/pub"
	"github.com/mqwire/mqwire/pattern/sub"
	"github.com/mqwire/mqwire/socket"
)

// A libzmq SUB subscribes to "a-"; the mqwire publisher sends it only what
// matches (the pipe's MessagesOut proves the filtering is on the publisher).
func TestLibzmqSubscriber(t *testing.T) {
	eachWay(t, func(t *testing.T, tr string, listen bool) {
		s, _ := pub.New(socket.DialDialect(socket.DialectZMTP))
		defer s.Close()
		p := attach(t, s, tr, listen, "SUB", "recv", "1000", "a-")
		warmSent, before := publishFiltered(t, s, p)
		deadline := time.Now().Add(5 * time.Second)
		for s.Stats().MessagesOut-before < 10 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		// Warm-up messages still in flight when the first came back may
		// be written after "before" was taken, and even the one that came
		// back may be counted after it: a pipe counts a message once its
		// write returns, and the peer may print it before that.
		if out := s.Stats().MessagesOut - before; out < 10 || out > 10+uint64(warmSent) {
			t.Fatalf("publisher wrote %d messages for 10 matching of 20 sent (%d warm-ups)", out, warmSent)
		}
	})
}

// An mqwire SUB subscribes to a libzmq PUB: a libzmq publisher sends nothing
// to a subscriber that has not subscribed, so every message that arrives
// proves the SUBSCRIBE went out; each must start with "a-".
func TestLibzmqPublisher(t *testing.T) {
	eachWay(t, func(t *testing.T, tr string, listen bool) {
		s, _ := sub.New(sub.Subscribe([]byte("a-")), socket.DialDialect(socket.DialectZMTP))
		defer s.Close()
		attach(t, s, tr, listen, "PUB", "publish", "2000")
		recvSubscribed(t, s)
	})
}

// publishFiltered publishes "a-warm" until the libzmq subscriber p (which
// subscribed to "a-" and prints what it gets) shows its subscription has
// reached us, then "b-i" and "a-i" for i below 10, and checks that p gets
// exactly the "a-" ones, in order, whether or not it filters itself. It
// returns how many warm-ups it sent and the publisher's MessagesOut before
// the real messages.
func publishFiltered(t *testing.T, s *socket.Socket, p *peer) (warmSent int, before uint64) {
	t.Helper()
	warm := hex.EncodeToString([]byte("a-warm"))
	got := make(chan string, 1)
	go func() { got <- p.line(t) }()
warmup:
	for {
		s.SendBytes([]byte("a-warm"))
		warmSent++
		select {
		case l := <-got:
			if l != warm {
				t.Fatalf("first message %q", l)
			}
			break warmup
		case <-time.After(20 * time.Millisecond):
		}
	}
	before = s.Stats().MessagesOut
	for i := range 10 {
		s.SendBytes(fmt.Appendf(nil, "b-%d", i)) // not subscribed
		s.SendBytes(fmt.Appendf(nil, "a-%d", i))
	}
	for i := range 10 {
		l := p.line(t)
		for l == warm {
			l = p.line(t)
		}
		if want := hex.EncodeToString(fmt.Appendf(nil, "a-%d", i)); l != want {
			t.Fatalf("libzmq subscriber got %q, want %q", l, want)
		}
	}
	return warmSent, before
}

// recvSubscribed receives 20 messages on a subscriber to "a-" and checks
// that each starts with "a-".
func recvSubscribed(t *testing.T, s *socket.Socket) {
	t.Helper()
	for i := range 20 {
		m, err := s.RecvContext(ctx(t))
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if !strings.HasPrefix(string(m.Body), "a-") {
			t.Fatalf("got %q without a subscription to it", m.Body)
		}
	}
}

// TestManySubscriptionsToLibzmq: an mqwire SUB with more subscriptions than
// its pipe's high-water mark (3,000 against 1,000) tells a libzmq XPUB every
// one when it connects, and again after the publisher restarts; libzmq's
// own SUB loses those past SNDHWM (a subscriber with 5,000 that connected
// got 1,000 through).
func TestManySubscriptionsToLibzmq(t *testing.T) {
	const n = 3000
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			s, _ := sub.New(socket.DialDialect(socket.DialectZMTP), socket.ReconnectInterval(10*time.Millisecond))
			defer s.Close()
			for i := range n {
				if err := s.SetOption(sub.Subscribe(fmt.Appendf(nil, "topic-%05d", i))); err != nil {
					t.Fatal(err)
				}
			}
			url := peerEndpoint(t, tr)
			for round := range 2 { // the second: a new publisher at the same address
				p := startPeer(t, "XPUB", "bind", url, "count-subs", fmt.Sprint(n))
				if round == 0 {
					if _, err := s.Dial(p.url); err != nil {
						t.Fatal(err)
					}
				}
				if got := p.line(t); got != fmt.Sprintf("subs %d", n) {
					t.Fatalf("round %d: libzmq XPUB got %q, want all %d subscriptions", round, got, n)
				}
				url = p.url
				p.cmd.Process.Kill()
				p.cmd.Wait()
			}
			if d := s.Stats().TotalDrops(); d != 0 {
				t.Errorf("%d dropped", d)
			}
		})
	}
}
