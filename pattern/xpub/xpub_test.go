package xpub_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/socktest"
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

var newSock = socktest.Must

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

// NoDrop, on xpub and on pub: a subscriber that stops reading makes Send
// wait and then time out, not drop; every message Send took arrives, in
// order; a subscriber to other topics is not held up; once the slow one
// reads, Send goes on. Without NoDrop the same publisher drops instead.
func TestNoDrop(t *testing.T) {
	const size = 16 << 10 // large, so that socket buffers fill soon
	for _, kind := range []string{"xpub", "pub"} {
		for _, tr := range append(transports, "inproc") {
			for _, noDrop := range []bool{true, false} {
				if kind == "pub" && tr == "inproc" {
					continue // an SP pair over inproc: the sub drops, as nng's does
				}
				t.Run(fmt.Sprintf("%s/%s/nodrop=%v", kind, tr, noDrop), func(t *testing.T) {
					testutil.CheckGoroutines(t)
					opts := []socket.Option{socket.SendHWM(4), socket.SendTimeout(100 * time.Millisecond)}
					var x *socket.Socket
					if kind == "xpub" {
						x = newSock(t)(xpub.New(append(opts, xpub.NoDrop(noDrop))...))
					} else {
						x = newSock(t)(pub.New(append(opts, pub.NoDrop(noDrop))...))
					}
					slow := newSock(t)(sub.New(sub.Subscribe([]byte("a")), socket.RecvHWM(4), socket.DialDialect(socket.DialectZMTP)))
					other := newSock(t)(sub.New(sub.Subscribe([]byte("b")), socket.DialDialect(socket.DialectZMTP)))
					connect(t, tr, x, slow)
					connect(t, tr, x, other)
					if kind == "xpub" {
						recv(t, x) // the two subscriptions
						recv(t, x)
					} else {
						waitSubscribed(t, x, slow, other)
					}
					body := make([]byte, size)
					send := func(topic byte, i int) error {
						body[0] = topic
						binary.BigEndian.PutUint32(body[1:], uint32(i))
						return x.SendBytes(body)
					}
					// Fill the slow subscriber's queues and buffers.
					sent := 0
					for ; sent < 100_000; sent++ {
						if err := send('a', sent); err != nil {
							if !noDrop || !errors.Is(err, socket.ErrTimeout) {
								t.Fatalf("send %d: %v", sent, err)
							}
							break
						}
						if !noDrop && sent == 20_000 {
							break
						}
					}
					if noDrop && sent == 100_000 {
						t.Fatal("Send never waited")
					}
					// The other subscriber still gets its messages at once.
					for i := range 3 {
						if err := send('b', i); err != nil {
							t.Fatalf("send to the other subscriber: %v", err)
						}
						m, err := other.RecvContext(ctx(t))
						if err != nil {
							t.Fatal(err)
						}
						if got := binary.BigEndian.Uint32(m.Body[1:]); m.Body[0] != 'b' || got != uint32(i) {
							t.Fatalf("other got %c%d", m.Body[0], got)
						}
						m.Free()
					}
					drops := x.Stats().Drops[socket.DropQueueFull]
					if !noDrop {
						if drops == 0 {
							t.Fatal("without NoDrop, nothing was dropped")
						}
						return
					}
					if drops != 0 {
						t.Fatalf("%d messages dropped under NoDrop", drops)
					}
					// Every message Send took arrives, in order; then Send
					// goes on.
					for i := range sent {
						m, err := slow.RecvContext(ctx(t))
						if err != nil {
							t.Fatalf("message %d of %d: %v", i, sent, err)
						}
						if got := binary.BigEndian.Uint32(m.Body[1:]); got != uint32(i) {
							t.Fatalf("got message %d, want %d", got, i)
						}
						m.Free()
					}
					if err := send('a', sent); err != nil {
						t.Fatalf("send after the subscriber read: %v", err)
					}
					if m, err := slow.RecvContext(ctx(t)); err != nil {
						t.Fatal(err)
					} else if got := binary.BigEndian.Uint32(m.Body[1:]); got != uint32(sent) {
						t.Fatalf("got message %d, want %d", got, sent)
					}
				})
			}
		}
	}
}

// waitSubscribed waits until each subscriber receives what the publisher
// sends to its topic (pub passes no subscriptions up to wait on).
func waitSubscribed(t *testing.T, p *socket.Socket, subs ...*socket.Socket) {
	t.Helper()
	for _, s := range subs {
		topic := "a"
		if s != subs[0] {
			topic = "b"
		}
		for {
			if err := p.SendBytes([]byte(topic + "ping")); err != nil {
				t.Fatal(err)
			}
			c, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			m, err := s.RecvContext(c)
			cancel()
			if err == nil {
				m.Free()
				break
			}
		}
	}
}

// WelcomeMessage: each subscriber gets it as it connects, before anything
// published, if it subscribes to a prefix of it.
func TestWelcomeMessage(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			testutil.CheckGoroutines(t)
			x := newSock(t)(xpub.New(xpub.WelcomeMessage([]byte("a-hello"))))
			s := newSock(t)(sub.New(sub.Subscribe([]byte("a-")), socket.DialDialect(socket.DialectZMTP)))
			deaf := newSock(t)(sub.New(sub.Subscribe([]byte("b-")), socket.DialDialect(socket.DialectZMTP)))
			connect(t, tr, x, s)
			connect(t, tr, x, deaf)
			recv(t, x)
			recv(t, x)
			x.SendBytes([]byte("a-0"))
			x.SendBytes([]byte("b-0"))
			if got := recv(t, s); got != "a-hello" {
				t.Fatalf("got %q, want the welcome", got)
			}
			if got := recv(t, s); got != "a-0" {
				t.Fatalf("got %q, want a-0", got)
			}
			if got := recv(t, deaf); got != "b-0" {
				t.Fatalf("the subscriber to b- got %q, want b-0 (and no welcome)", got)
			}
			// Setting it again replaces it; empty turns it off.
			if err := x.SetOption(xpub.WelcomeMessage(nil)); err != nil {
				t.Fatal(err)
			}
			late := newSock(t)(sub.New(sub.Subscribe([]byte("a")), socket.DialDialect(socket.DialectZMTP)))
			connect(t, tr, x, late)
			if got := recv(t, x); got != "\x01a" {
				t.Fatalf("xpub got %q, want the subscription to a", got)
			}
			x.SendBytes([]byte("a-1"))
			if got := recv(t, late); got != "a-1" {
				t.Fatalf("got %q, want a-1 (no welcome)", got)
			}
		})
	}
}

// Manual: subscriptions are passed up, every one, and applied only when
// the application says so, to the subscriber it names; a subscriber that
// leaves has its applied topics cancelled upward.
func TestManual(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			testutil.CheckGoroutines(t)
			x := newSock(t)(xpub.New(xpub.Manual(true)))
			s := newSock(t)(sub.New(sub.Subscribe([]byte("a-")), socket.DialDialect(socket.DialectZMTP)))
			connect(t, tr, x, s)
			m, err := x.RecvContext(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			if string(m.Body) != "\x01a-" {
				t.Fatalf("xpub got %q, want the subscription to a-", m.Body)
			}
			from := m.Pipe
			m.Free()
			// Not applied yet: nothing reaches the subscriber.
			x.SendBytes([]byte("a-0"))
			nothing(t, s)
			if err := xpub.Subscribe(x, from, []byte("a-")); err != nil {
				t.Fatal(err)
			}
			x.SendBytes([]byte("a-1"))
			if got := recv(t, s); got != "a-1" {
				t.Fatalf("got %q, want a-1", got)
			}
			// A second subscriber's identical subscription is passed up
			// too (manual passes up everything), and so is its cancel.
			s2 := newSock(t)(sub.New(sub.Subscribe([]byte("a-")), socket.DialDialect(socket.DialectZMTP)))
			connect(t, tr, x, s2)
			if got := recv(t, x); got != "\x01a-" {
				t.Fatalf("xpub got %q, want the second subscription to a-", got)
			}
			if err := s2.SetOption(sub.Unsubscribe([]byte("a-"))); err != nil {
				t.Fatal(err)
			}
			if got := recv(t, x); got != "\x00a-" {
				t.Fatalf("xpub got %q, want the cancel", got)
			}
			// The first subscriber is still subscribed until told otherwise.
			x.SendBytes([]byte("a-2"))
			if got := recv(t, s); got != "a-2" {
				t.Fatalf("got %q, want a-2", got)
			}
			if err := xpub.Unsubscribe(x, from, []byte("a-")); err != nil {
				t.Fatal(err)
			}
			x.SendBytes([]byte("a-3"))
			nothing(t, s)
			if err := xpub.Subscribe(x, from, []byte("a-")); err != nil {
				t.Fatal(err)
			}
			// Leaving cancels what was applied.
			s.Close()
			if got := recv(t, x); got != "\x00a-" {
				t.Fatalf("xpub got %q, want the leaver's cancel", got)
			}
			if err := xpub.Subscribe(x, from, []byte("a-")); !errors.Is(err, socket.ErrNoPeer) {
				t.Fatalf("Subscribe for a subscriber that left: %v, want ErrNoPeer", err)
			}
			if err := xpub.Subscribe(s2, 1, []byte("a-")); !errors.Is(err, xpub.ErrNotXPUB) {
				t.Fatalf("Subscribe on a sub socket: %v, want ErrNotXPUB", err)
			}
		})
	}
}

// Over inproc, which carries no ZMTP, a sub tells an xpub its
// subscriptions all the same, and an xsub tells a pub: each publisher
// sends only what was asked for.
func TestInprocSubscriptions(t *testing.T) {
	testutil.CheckGoroutines(t)
	t.Run("sub-xpub", func(t *testing.T) {
		x := newSock(t)(xpub.New())
		s := newSock(t)(sub.New(sub.Subscribe([]byte("a-"))))
		connect(t, "inproc", x, s)
		if got := recv(t, x); got != "\x01a-" {
			t.Fatalf("xpub got %q, want the subscription to a-", got)
		}
		x.SendBytes([]byte("b-0"))
		x.SendBytes([]byte("a-0"))
		if got := recv(t, s); got != "a-0" {
			t.Fatalf("sub got %q, want a-0", got)
		}
		if out := x.Stats().MessagesOut; out != 1 {
			t.Fatalf("xpub sent %d messages, want the 1 that matched", out)
		}
	})
	t.Run("xsub-pub", func(t *testing.T) {
		p := newSock(t)(pub.New())
		x := newSock(t)(xsub.New())
		connect(t, "inproc", p, x)
		waitPipes(t, p, x)
		if err := x.SendBytes([]byte("\x01a-")); err != nil {
			t.Fatal(err)
		}
		for {
			p.SendBytes([]byte("b-0"))
			p.SendBytes([]byte("a-0"))
			c, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			m, err := x.RecvContext(c)
			cancel()
			if err != nil {
				continue // the subscription is not there yet
			}
			if string(m.Body) != "a-0" {
				t.Fatalf("xsub got %q, want only a- messages", m.Body)
			}
			m.Free()
			break
		}
		if d := p.Stats().TotalDrops(); d != 0 {
			t.Fatalf("pub dropped %d (the subscription was not taken)", d)
		}
	})
}

// InvertMatching between mqwire sockets: a subscriber to "a-" that inverts
// gets only what does not start with "a-", from an SP pub (which sends
// everything), a ZMTP pub and an xpub (which filter, inverted, themselves).
func TestInvertMatching(t *testing.T) {
	for _, c := range []struct {
		name      string
		publisher func() (*socket.Socket, error)
		dialect   socket.Dialect
	}{
		{"pub-sp", func() (*socket.Socket, error) { return pub.New(pub.InvertMatching(true)) }, socket.DialectSP},
		{"pub-zmtp", func() (*socket.Socket, error) { return pub.New(pub.InvertMatching(true)) }, socket.DialectZMTP},
		{"xpub", func() (*socket.Socket, error) { return xpub.New(xpub.InvertMatching(true)) }, socket.DialectZMTP},
	} {
		t.Run(c.name, func(t *testing.T) {
			testutil.CheckGoroutines(t)
			x := newSock(t)(c.publisher())
			s := newSock(t)(sub.New(sub.Subscribe([]byte("a-")), sub.InvertMatching(true), socket.DialDialect(c.dialect)))
			connect(t, "tcp", x, s)
			if c.name == "xpub" {
				recv(t, x) // the subscription
			} else {
				waitPipes(t, x, s)
				if c.dialect == socket.DialectZMTP {
					// The subscription reaches the pub (counted in).
					deadline := time.Now().Add(5 * time.Second)
					for x.Stats().MessagesIn == 0 {
						if time.Now().After(deadline) {
							t.Fatal("no subscription reached the pub")
						}
						time.Sleep(time.Millisecond)
					}
				}
			}
			for i := range 5 {
				x.SendBytes(fmt.Appendf(nil, "a-%d", i))
				x.SendBytes(fmt.Appendf(nil, "b-%d", i))
			}
			for i := range 5 {
				if got, want := recv(t, s), fmt.Sprintf("b-%d", i); got != want {
					t.Fatalf("got %q, want %q", got, want)
				}
			}
			nothing(t, s)
			if c.dialect == socket.DialectZMTP {
				if out := x.Stats().MessagesOut; out != 5 {
					t.Fatalf("the publisher wrote %d messages, want the 5 not matching", out)
				}
			}
		})
	}
	if _, err := sub.NewRaw(sub.InvertMatching(true)); !errors.Is(err, socket.ErrOptionNotApplicable) {
		t.Fatalf("InvertMatching on a raw sub: %v", err)
	}
}

// TestTopics: an xpub lists its subscribers' topics, sorted and once
// each, over tcp and inproc, until they cancel them or leave; on another
// socket Topics is ErrNotXPUB.
func TestTopics(t *testing.T) {
	testutil.CheckGoroutines(t)
	x := newSock(t)(xpub.New())
	tcpSub := newSock(t)(sub.New(sub.Subscribe([]byte("b")), sub.Subscribe([]byte("a")), socket.DialDialect(socket.DialectZMTP)))
	connect(t, "tcp", x, tcpSub)
	inprocSub := newSock(t)(sub.New(sub.Subscribe([]byte("b")), sub.Subscribe(nil)))
	connect(t, "inproc", x, inprocSub)
	wait := func(want ...string) {
		t.Helper()
		testutil.WaitStrings(t, 5*time.Second, func() ([]string, error) { return xpub.Topics(x) }, want...)
	}
	wait("", "a", "b")
	if err := tcpSub.SetOption(sub.Unsubscribe([]byte("a"))); err != nil {
		t.Fatal(err)
	}
	wait("", "b")
	inprocSub.Close()
	wait("b")
	if _, err := xpub.Topics(tcpSub); !errors.Is(err, xpub.ErrNotXPUB) {
		t.Fatalf("Topics on a sub: %v, want ErrNotXPUB", err)
	}
}
