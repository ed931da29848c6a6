package sub_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/pub"
	"github.com/mqwire/mqwire/pattern/sub"
	"github.com/mqwire/mqwire/pattern/xpub"
	"github.com/mqwire/mqwire/socket"
)

func must0(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// made returns the socket newSocket makes with opts, closed when the test
// ends.
func made(t *testing.T, newSocket func(...socket.Option) (*socket.Socket, error), opts ...socket.Option) *socket.Socket {
	t.Helper()
	s, err := newSocket(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// link has s dial what p listens on over tr.
func link(t *testing.T, tr string, p, s *socket.Socket) {
	t.Helper()
	ln, err := p.Listen(testutil.URL(t, tr))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Dial(ln.URL()); err != nil {
		t.Fatal(err)
	}
}

// ctxRecv returns the body of the next message c receives within d.
func ctxRecv(t *testing.T, c *sub.Context, d time.Duration) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	m, err := c.Recv(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Free()
	return string(m.Body)
}

// ctxNothing checks that c receives nothing within a moment.
func ctxNothing(t *testing.T, c *sub.Context) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if m, err := c.Recv(ctx); err == nil {
		t.Fatalf("context got %q", m.Body)
	}
}

// Contexts each get the messages that match their own subscriptions, and
// the socket those that match its own, from one publisher: over inproc
// (hand-over), ipc and tcp (read in chunks), and in both dialects.
func TestContexts(t *testing.T) {
	for _, tr := range []string{"inproc", "ipc", "tcp"} {
		for _, dialect := range []socket.Dialect{socket.DialectSP, socket.DialectZMTP} {
			t.Run(fmt.Sprintf("%s/%v", tr, dialect), func(t *testing.T) {
				testutil.CheckGoroutines(t)
				p := made(t, pub.New)
				s := made(t, sub.New, sub.Subscribe([]byte("s")), socket.DialDialect(dialect))
				a, err := sub.NewContext(s)
				if err != nil {
					t.Fatal(err)
				}
				b, err := sub.NewContext(s)
				if err != nil {
					t.Fatal(err)
				}
				must0(t, a.Subscribe([]byte("a")))
				must0(t, a.Subscribe([]byte("a"))) // twice is once
				must0(t, b.Subscribe([]byte("b")))
				must0(t, b.Subscribe([]byte("s"))) // the socket's too
				link(t, tr, p, s)
				// Until the connection is up and, in ZMTP, the publisher
				// knows the subscriptions, what it sends is lost.
				warm := func(c *sub.Context, body string) {
					deadline := time.Now().Add(5 * time.Second)
					for {
						if err := p.SendBytes([]byte(body)); err != nil {
							t.Fatal(err)
						}
						ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
						m, err := c.Recv(ctx)
						cancel()
						if err == nil {
							m.Free()
							return
						}
						if time.Now().After(deadline) {
							t.Fatalf("%s never arrived", body)
						}
					}
				}
				warm(a, "a-warm")
				warm(b, "b-warm")
				for _, body := range []string{"a1", "b1", "s1", "x1", "ab"} {
					if err := p.SendBytes([]byte(body)); err != nil {
						t.Fatal(err)
					}
				}
				for c, want := range map[*sub.Context][]string{a: {"a1", "ab"}, b: {"b1", "s1"}} {
					for _, w := range want {
						if got := ctxRecv(t, c, 5*time.Second); got != w {
							t.Errorf("context got %q, want %q", got, w)
						}
					}
					ctxNothing(t, c)
				}
				// The socket's own queue got s1 alone (nothing else that
				// came, warming included, starts with s).
				if got := recvWithin(t, s, 5*time.Second); got != "s1" {
					t.Errorf("socket got %q, want s1", got)
				}
				if err := a.Close(); err != nil {
					t.Fatal(err)
				}
				if err := a.Close(); !errors.Is(err, socket.ErrClosed) {
					t.Errorf("second Close: %v", err)
				}
				if err := a.Subscribe([]byte("z")); !errors.Is(err, socket.ErrClosed) {
					t.Errorf("Subscribe after Close: %v", err)
				}
				if _, err := a.Recv(context.Background()); !errors.Is(err, socket.ErrClosed) {
					t.Errorf("Recv after Close: %v", err)
				}
				must0(t, b.Unsubscribe([]byte("b")))
				if err := b.Unsubscribe([]byte("b")); !errors.Is(err, socket.ErrBadOption) {
					t.Errorf("Unsubscribe twice: %v, want ErrBadOption", err)
				}
				if err := p.SendBytes([]byte("b2")); err != nil {
					t.Fatal(err)
				}
				if err := p.SendBytes([]byte("s2")); err != nil {
					t.Fatal(err)
				}
				if got := ctxRecv(t, b, 5*time.Second); got != "s2" {
					t.Errorf("after Unsubscribe the context got %q, want s2", got)
				}
			})
		}
	}
}

// A ZeroMQ publisher is told the prefixes of the socket and its contexts
// once each, and a prefix's cancellation when no one holds it any more
// (Unsubscribe, or the Close of the context that held it); a publisher
// that connects later is told every prefix held then.
func TestContextSubscriptionsTold(t *testing.T) {
	testutil.CheckGoroutines(t)
	x := made(t, xpub.New, xpub.Verboser(true))
	s := made(t, sub.New, socket.DialDialect(socket.DialectZMTP))
	link(t, "tcp", x, s)
	told := func(want string) {
		t.Helper()
		if got := recvWithin(t, x, 5*time.Second); got != want {
			t.Fatalf("publisher told %q, want %q", got, want)
		}
	}
	c1, _ := sub.NewContext(s)
	c2, _ := sub.NewContext(s)
	must0(t, c1.Subscribe([]byte("t")))
	told("\x01t")
	must0(t, c2.Subscribe([]byte("t")))
	must0(t, s.SetOption(sub.Subscribe([]byte("t"))))
	must0(t, c2.Subscribe([]byte("u")))
	told("\x01u")
	must0(t, c1.Unsubscribe([]byte("t")))
	must0(t, s.SetOption(sub.Unsubscribe([]byte("t"))))
	must0(t, c2.Close())
	told("\x00t")
	told("\x00u")

	// A late publisher hears what is held now.
	must0(t, c1.Subscribe([]byte("v")))
	told("\x01v")
	late := made(t, xpub.New, xpub.Verboser(true))
	link(t, "tcp", late, s)
	if got := recvWithin(t, late, 5*time.Second); got != "\x01v" {
		t.Fatalf("late publisher told %q, want \\x01v", got)
	}
}

// A context's queue holds RecvHWM messages and keeps the newest, counting
// the drops against the pipe; a context never holds its publisher back.
func TestContextQueueFull(t *testing.T) {
	testutil.CheckGoroutines(t)
	p := made(t, pub.New)
	s := made(t, sub.New, socket.RecvHWM(4))
	c, err := sub.NewContext(s)
	if err != nil {
		t.Fatal(err)
	}
	must0(t, c.Subscribe(nil))
	link(t, "inproc", p, s)
	testutil.WaitFor(t, "the pipe", 5*time.Second, func() bool { return len(p.PipeStats()) == 1 })
	for i := range 10 {
		if err := p.SendBytes(fmt.Appendf(nil, "m%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	testutil.WaitFor(t, "the drops", 5*time.Second, func() bool {
		st := s.PipeStats()
		return len(st) == 1 && st[0].Drops[socket.DropQueueFull] == 6
	})
	for i := 6; i < 10; i++ {
		if got, want := ctxRecv(t, c, time.Second), fmt.Sprintf("m%d", i); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}

// A Recv waiting on a context ends with ErrClosed when the context or the
// socket closes, and with the deadline's error when its deadline passes.
func TestContextRecvEnds(t *testing.T) {
	testutil.CheckGoroutines(t)
	s := made(t, sub.New)
	c, _ := sub.NewContext(s)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.Recv(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Recv past its deadline: %v", err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	d, _ := sub.NewContext(s)
	for _, x := range []*sub.Context{c, d} {
		wg.Go(func() {
			_, err := x.Recv(context.Background())
			errs <- err
		})
	}
	time.Sleep(20 * time.Millisecond)
	c.Close()
	if err := <-errs; !errors.Is(err, socket.ErrClosed) {
		t.Errorf("Recv on a closed context: %v", err)
	}
	s.Close()
	if err := <-errs; !errors.Is(err, socket.ErrClosed) {
		t.Errorf("Recv on a closed socket: %v", err)
	}
	wg.Wait()
}

// Contexts need a cooked socket that matches by prefix.
func TestContextRefused(t *testing.T) {
	raw := made(t, sub.NewRaw)
	if _, err := sub.NewContext(raw); !errors.Is(err, socket.ErrNotSupported) {
		t.Errorf("a raw socket's context: %v, want ErrNotSupported", err)
	}
	inv := made(t, sub.New, sub.InvertMatching(true))
	if _, err := sub.NewContext(inv); !errors.Is(err, socket.ErrBadState) {
		t.Errorf("an inverting socket's context: %v, want ErrBadState", err)
	}
	s := made(t, sub.New)
	sub.NewContext(s)
	if err := s.SetOption(sub.InvertMatching(true)); !errors.Is(err, socket.ErrBadState) {
		t.Errorf("InvertMatching with a context: %v, want ErrBadState", err)
	}
}

// Contexts open, subscribe, receive and close while several publishers
// send: for the race detector, and for every message a context receives
// matching its subscription.
func TestContextsConcurrent(t *testing.T) {
	testutil.CheckGoroutines(t)
	s := made(t, sub.New)
	var pubs []*socket.Socket
	for range 3 {
		p := made(t, pub.New)
		link(t, "tcp", p, s)
		pubs = append(pubs, p)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i, p := range pubs {
		wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				p.SendBytes(fmt.Appendf(nil, "%c-%d", 'a'+i, n))
			}
		})
	}
	for i := range 4 {
		wg.Go(func() {
			topic := []byte{byte('a' + i%3)}
			for range 20 {
				c, err := sub.NewContext(s)
				if err != nil {
					t.Error(err)
					return
				}
				c.Subscribe(topic)
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
				for {
					m, err := c.Recv(ctx)
					if err != nil {
						break
					}
					if m.Body[0] != topic[0] {
						t.Errorf("context of %q got %q", topic, m.Body)
					}
					m.Free()
				}
				cancel()
				c.Close()
			}
		})
	}
	time.Sleep(500 * time.Millisecond)
	close(stop)
	wg.Wait()
}

// From an XPUB over inproc (whose messages, under NoDrop, wait for room
// rather than being dropped), each message reaches each context and the
// socket once.
func TestContextsFromXPUB(t *testing.T) {
	testutil.CheckGoroutines(t)
	x := made(t, xpub.New, xpub.NoDrop(true))
	s := made(t, sub.New, sub.Subscribe([]byte("s")), socket.RecvHWM(2))
	c, _ := sub.NewContext(s)
	must0(t, c.Subscribe([]byte("a")))
	must0(t, c.Subscribe([]byte("s")))
	link(t, "inproc", x, s)
	// The publisher knows both prefixes before it sends (it sends nothing
	// no one subscribed to).
	told := map[string]bool{recvWithin(t, x, 5*time.Second): true, recvWithin(t, x, 5*time.Second): true}
	if !told["\x01a"] || !told["\x01s"] {
		t.Fatalf("publisher told %v", told)
	}
	// More than the socket's queue holds: the XPUB waits for room.
	var want []string
	go func() {
		for i := range 6 {
			x.SendBytes(fmt.Appendf(nil, "s%d", i))
			x.SendBytes(fmt.Appendf(nil, "a%d", i))
		}
	}()
	for i := range 6 {
		if got := recvWithin(t, s, 5*time.Second); got != fmt.Sprintf("s%d", i) {
			t.Errorf("socket got %q, want s%d", got, i)
		}
		want = append(want, fmt.Sprintf("s%d", i), fmt.Sprintf("a%d", i))
	}
	// The context's queue (2) kept the newest of what came.
	testutil.WaitFor(t, "the context's drops", 5*time.Second, func() bool {
		st := s.PipeStats()
		return len(st) == 1 && st[0].Drops[socket.DropQueueFull] == 10
	})
	got := []string{ctxRecv(t, c, 5*time.Second), ctxRecv(t, c, 5*time.Second)}
	if got[0] != want[len(want)-2] || got[1] != want[len(want)-1] {
		t.Errorf("context got %q, want the last two of %q", got, want)
	}
	ctxNothing(t, c)
}

// Unsubscribe frees what waits for the context and no longer matches.
func TestContextUnsubscribePrunes(t *testing.T) {
	testutil.CheckGoroutines(t)
	p, _ := pub.New()
	defer p.Close()
	s, _ := sub.New()
	defer s.Close()
	c, _ := sub.NewContext(s)
	must0(t, c.Subscribe([]byte("a")))
	must0(t, c.Subscribe([]byte("b")))
	d, _ := sub.NewContext(s)
	must0(t, d.Subscribe(nil))
	link(t, "inproc", p, s)
	testutil.WaitFor(t, "the pipe", 5*time.Second, func() bool { return len(p.PipeStats()) == 1 })
	for _, b := range []string{"a1", "b1", "a2", "b2"} {
		p.SendBytes([]byte(b))
	}
	// d, fed after c, has seen all four when c has.
	for range 4 {
		ctxRecv(t, d, 5*time.Second)
	}
	must0(t, c.Unsubscribe([]byte("a")))
	for _, want := range []string{"b1", "b2"} {
		if got := ctxRecv(t, c, time.Second); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	ctxNothing(t, c)
}

// SetQueueLen changes a context's queue: the newest of what waits are
// kept, a Recv waiting meanwhile gets what comes after, and the length is
// checked.
func TestContextSetQueueLen(t *testing.T) {
	testutil.CheckGoroutines(t)
	p := made(t, pub.New)
	s := made(t, sub.New, socket.RecvHWM(16))
	c, err := sub.NewContext(s)
	if err != nil {
		t.Fatal(err)
	}
	must0(t, c.Subscribe(nil))
	other, err := sub.NewContext(s)
	if err != nil {
		t.Fatal(err)
	}
	must0(t, other.Subscribe(nil))
	link(t, "inproc", p, s)
	testutil.WaitFor(t, "the pipe", 5*time.Second, func() bool { return len(p.PipeStats()) == 1 })
	if c.QueueLen() != 16 {
		t.Fatalf("QueueLen %d, want the RecvHWM, 16", c.QueueLen())
	}
	for i := range 10 {
		must0(t, p.SendBytes(fmt.Appendf(nil, "m%d", i)))
	}
	// Each message reaches every context at once: when a second one has
	// the tenth, c holds all ten.
	for i := range 10 {
		if got, want := ctxRecv(t, other, time.Second), fmt.Sprintf("m%d", i); got != want {
			t.Fatalf("the other context got %q, want %q", got, want)
		}
	}
	must0(t, c.SetQueueLen(3))
	if c.QueueLen() != 3 {
		t.Fatalf("QueueLen %d, want 3", c.QueueLen())
	}
	for i := 7; i < 10; i++ {
		if got, want := ctxRecv(t, c, time.Second), fmt.Sprintf("m%d", i); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	// A Recv that waits while the queue is replaced gets the next message.
	got := make(chan string, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		m, err := c.Recv(ctx)
		if err != nil {
			got <- err.Error()
			return
		}
		got <- string(m.Body)
		m.Free()
	}()
	time.Sleep(50 * time.Millisecond)
	must0(t, c.SetQueueLen(5))
	must0(t, p.SendBytes([]byte("after")))
	if g := <-got; g != "after" {
		t.Errorf("the waiting Recv got %q", g)
	}
	for _, n := range []int{0, -1, 1<<16 + 1} {
		if err := c.SetQueueLen(n); !errors.Is(err, socket.ErrBadOption) {
			t.Errorf("SetQueueLen(%d): %v", n, err)
		}
	}
	must0(t, c.Close())
	if err := c.SetQueueLen(4); !errors.Is(err, socket.ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}
