package xpub_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/pub"
	"github.com/mqwire/mqwire/pattern/sub"
	"github.com/mqwire/mqwire/pattern/xpub"
	"github.com/mqwire/mqwire/pattern/xsub"
	"github.com/mqwire/mqwire/socket"
)

// ZMTP needs a stream transport: inproc pipes have no ZMTP.
var transports = []string{"tcp", "ipc"}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return c
}

func newSock(t testing.TB) func(*socket.Socket, error) *socket.Socket {
	return func(s *socket.Socket, err error) *socket.Socket {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
}

// connect makes l listen on transport and d dial it.
func connect(t testing.TB, transport string, l, d *socket.Socket) {
	t.Helper()
	ln, err := l.Listen(testutil.URL(t, transport))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Dial(ln.URL()); err != nil {
		t.Fatal(err)
	}
}

// waitPipes waits until each socket has a pipe.
func waitPipes(t testing.TB, ss ...*socket.Socket) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for _, s := range ss {
		for s.Stats().Pipes == 0 {
			if time.Now().After(deadline) {
				t.Fatal("not connected in 5 s")
			}
			time.Sleep(time.Millisecond)
		}
	}
}

func recv(t testing.TB, s *socket.Socket) string {
	t.Helper()
	m, err := s.RecvContext(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Free()
	return string(m.Body)
}

// nothing checks that s has nothing to receive for a short while.
func nothing(t testing.TB, s *socket.Socket) {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if m, err := s.RecvContext(c); err == nil {
		t.Fatalf("unexpected message %q", m.Body)
	}
}

func TestSubscriber(t *testing.T) {
	for _, tr := range transports {
		for _, xpubListens := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/xpub-listens=%v", tr, xpubListens), func(t *testing.T) {
				testutil.CheckGoroutines(t)
				x := newSock(t)(xpub.New())
				s := newSock(t)(sub.New(sub.Subscribe([]byte("a-")), socket.DialDialect(socket.DialectZMTP)))
				if xpubListens {
					connect(t, tr, x, s)
				} else {
					connect(t, tr, s, x)
				}
				if got := recv(t, x); got != "\x01a-" {
					t.Fatalf("xpub got %q, want subscription to a-", got)
				}
				for i := range 5 {
					x.SendBytes(fmt.Appendf(nil, "b-%d", i))
					x.SendBytes(fmt.Appendf(nil, "a-%d", i))
				}
				for i := range 5 {
					if got, want := recv(t, s), fmt.Sprintf("a-%d", i); got != want {
						t.Fatalf("sub got %q, want %q", got, want)
					}
				}
				// The publisher filtered: it wrote only the 5 matching.
				deadline := time.Now().Add(5 * time.Second)
				for x.Stats().MessagesOut < 5 && time.Now().Before(deadline) {
					time.Sleep(time.Millisecond)
				}
				if out := x.Stats().MessagesOut; out != 5 {
					t.Fatalf("xpub wrote %d messages, want 5", out)
				}
				if err := s.SetOption(sub.Unsubscribe([]byte("a-"))); err != nil {
					t.Fatal(err)
				}
				if got := recv(t, x); got != "\x00a-" {
					t.Fatalf("xpub got %q, want cancel of a-", got)
				}
			})
		}
	}
}

// Two subscribers to one topic: without Verbose the XPUB passes up the first
// subscription and the cancel that leaves nobody subscribed; with Verbose
// every subscription; with Verboser every cancel too, including those of a
// subscriber that leaves.
func TestVerbose(t *testing.T) {
	for _, mode := range []string{"quiet", "verbose", "verboser"} {
		t.Run(mode, func(t *testing.T) {
			testutil.CheckGoroutines(t)
			var opts []socket.Option
			switch mode {
			case "verbose":
				opts = append(opts, xpub.Verbose(true))
			case "verboser":
				opts = append(opts, xpub.Verboser(true))
			}
			x := newSock(t)(xpub.New(opts...))
			ln, err := x.Listen(testutil.URL(t, "tcp"))
			if err != nil {
				t.Fatal(err)
			}
			var subs []*socket.Socket
			for range 2 {
				s := newSock(t)(sub.New(sub.Subscribe([]byte("t")), socket.DialDialect(socket.DialectZMTP)))
				if _, err := s.Dial(ln.URL()); err != nil {
					t.Fatal(err)
				}
				subs = append(subs, s)
				if len(subs) == 1 || mode != "quiet" {
					if got := recv(t, x); got != "\x01t" {
						t.Fatalf("got %q, want subscription", got)
					}
				}
			}
			nothing(t, x)
			subs[0].Close()
			if mode == "verboser" {
				if got := recv(t, x); got != "\x00t" {
					t.Fatalf("got %q, want the leaving subscriber's cancel", got)
				}
			} else {
				nothing(t, x)
			}
			if err := subs[1].SetOption(sub.Unsubscribe([]byte("t"))); err != nil {
				t.Fatal(err)
			}
			if got := recv(t, x); got != "\x00t" {
				t.Fatalf("got %q, want cancel", got)
			}
		})
	}
}

// A subscriber that disconnects cancels its subscriptions: the cancel of a
// topic nobody else wants is passed up.
func TestSubscriberLeaves(t *testing.T) {
	testutil.CheckGoroutines(t)
	x := newSock(t)(xpub.New())
	s := newSock(t)(sub.New(sub.Subscribe([]byte("a")), sub.Subscribe([]byte("b")), socket.DialDialect(socket.DialectZMTP)))
	connect(t, "tcp", x, s)
	got := map[string]bool{recv(t, x): true, recv(t, x): true}
	if !got["\x01a"] || !got["\x01b"] {
		t.Fatalf("subscriptions %v", got)
	}
	s.Close()
	got = map[string]bool{recv(t, x): true, recv(t, x): true}
	if !got["\x00a"] || !got["\x00b"] {
		t.Fatalf("cancels %v", got)
	}
}

// XSUB to XPUB: subscriptions counted on the XSUB, set semantics on the
// XPUB, data messages upstream.
func TestXSUB(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			testutil.CheckGoroutines(t)
			x := newSock(t)(xpub.New(xpub.Verbose(true)))
			xs := newSock(t)(xsub.New())
			connect(t, tr, xs, x)
			waitPipes(t, x, xs)
			for range 2 {
				if err := xs.SendContext(ctx(t), socket.NewMessageBytes([]byte("\x01a"))); err != nil {
					t.Fatal(err)
				}
			}
			// Both subscriptions go upstream; verbose passes both up.
			for range 2 {
				if got := recv(t, x); got != "\x01a" {
					t.Fatalf("got %q", got)
				}
			}
			xs.SendBytes([]byte("\x00a")) // one of two: stays subscribed
			xs.SendBytes([]byte("hello"))
			if got := recv(t, x); got != "hello" {
				t.Fatalf("got %q, want the upstream data message", got)
			}
			x.SendBytes([]byte("b-0"))
			x.SendBytes([]byte("a-0"))
			if got := recv(t, xs); got != "a-0" {
				t.Fatalf("xsub got %q", got)
			}
			xs.SendBytes([]byte("\x00a"))
			if got := recv(t, x); got != "\x00a" {
				t.Fatalf("got %q, want cancel", got)
			}
			m := socket.NewMessageBytes([]byte("\x01multi"))
			m.Frames = [][]byte{[]byte("part")}
			xs.SendContext(ctx(t), m)
			r, err := x.RecvContext(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			if string(r.Body) != "\x01multi" || len(r.Frames) != 1 || string(r.Frames[0]) != "part" {
				t.Fatalf("multipart upstream %q %q", r.Body, r.Frames)
			}
		})
	}
}

func TestNotSPOrInproc(t *testing.T) {
	testutil.CheckGoroutines(t)
	x := newSock(t)(xpub.New())
	if err := x.SetOption(socket.DialDialect(socket.DialectSP)); !errors.Is(err, socket.ErrOptionNotApplicable) {
		t.Fatalf("DialDialect(SP) on xpub: %v", err)
	}
	p := newSock(t)(pub.New())
	if err := p.SetOption(xpub.Verbose(true)); !errors.Is(err, socket.ErrOptionNotApplicable) {
		t.Fatalf("xpub.Verbose on pub: %v", err)
	}
}
