package sub_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/sub"
	"github.com/mqwire/mqwire/pattern/xpub"
	"github.com/mqwire/mqwire/socket"
)

// Counting its subscriptions (CountSubscriptions), a subscriber follows
// libzmq's SUB: subscribed twice and unsubscribed once, it still gets the
// topic, its publisher is told each subscription and only the last
// cancel, and unsubscribing from an unknown topic does nothing. Without
// it, nng's rules: one Unsubscribe removes the topic, and an unknown one
// fails. A Verboser XPUB shows what the publisher is told.
func TestCountSubscriptions(t *testing.T) {
	for _, tr := range []string{"inproc", "tcp"} {
		for _, counting := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/counting=%v", tr, counting), func(t *testing.T) {
				testutil.CheckGoroutines(t)
				x, err := xpub.New(xpub.Verboser(true))
				if err != nil {
					t.Fatal(err)
				}
				defer x.Close()
				s, err := sub.New(sub.CountSubscriptions(counting), socket.DialDialect(socket.DialectZMTP))
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				ln, err := x.Listen(testutil.URL(t, tr))
				if err != nil {
					t.Fatal(err)
				}
				if _, err := s.Dial(ln.URL()); err != nil {
					t.Fatal(err)
				}
				set := func(o socket.Option) error { return s.SetOption(o) }
				mustSet := func(o socket.Option) {
					t.Helper()
					if err := set(o); err != nil {
						t.Fatal(err)
					}
				}
				told := func(want string) {
					t.Helper()
					if got := recvWithin(t, x, 5*time.Second); got != want {
						t.Fatalf("publisher told %q, want %q", got, want)
					}
				}

				mustSet(sub.Subscribe([]byte("a-")))
				told("\x01a-")
				mustSet(sub.Subscribe([]byte("a-")))
				if counting {
					told("\x01a-")
				}
				mustSet(sub.Unsubscribe([]byte("a-")))
				err = set(sub.Unsubscribe([]byte("unknown")))
				if counting && err != nil {
					t.Fatalf("counting, unsubscribing from an unknown topic: %v", err)
				}
				if !counting && !errors.Is(err, socket.ErrBadOption) {
					t.Fatalf("unsubscribing from an unknown topic: %v, want ErrBadOption", err)
				}
				if !counting {
					told("\x00a-")
					nothingWithin(t, s, x, "a-0")
					return
				}
				// Still subscribed: the publisher sends, the subscriber gets.
				if err := x.SendBytes([]byte("a-0")); err != nil {
					t.Fatal(err)
				}
				if got := recvWithin(t, s, 5*time.Second); got != "a-0" {
					t.Fatalf("subscriber got %q, want a-0", got)
				}
				mustSet(sub.Unsubscribe([]byte("a-")))
				told("\x00a-")
				nothingWithin(t, s, x, "a-1")
			})
		}
	}
}

// recvWithin returns the body of the next message s receives within d.
func recvWithin(t *testing.T, s *socket.Socket, d time.Duration) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	m, err := s.RecvContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Free()
	return string(m.Body)
}

// nothingWithin publishes body on x and checks that the subscriber s,
// which no longer subscribes to it, gets nothing, and that x is told
// nothing more.
func nothingWithin(t *testing.T, s, x *socket.Socket, body string) {
	t.Helper()
	if err := x.SendBytes([]byte(body)); err != nil {
		t.Fatal(err)
	}
	for _, sock := range []*socket.Socket{s, x} {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		m, err := sock.RecvContext(ctx)
		cancel()
		if err == nil {
			t.Fatalf("got %q after the last unsubscribe", m.Body)
		}
	}
}
