package device_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/bus"
	"github.com/mqwire/mqwire/pattern/device"
	"github.com/mqwire/mqwire/pattern/pair1"
	"github.com/mqwire/mqwire/pattern/pub"
	"github.com/mqwire/mqwire/pattern/rep"
	"github.com/mqwire/mqwire/pattern/req"
	"github.com/mqwire/mqwire/pattern/sub"
	"github.com/mqwire/mqwire/socket"
)

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// run starts Forward(a, b) and stops it when the test ends.
func run(t *testing.T, a, b *socket.Socket) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- device.Forward(ctx, a, b) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) && !errors.Is(err, socket.ErrClosed) {
			t.Errorf("Forward ended with %v", err)
		}
		a.Close()
		b.Close()
	})
}

func recvCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// A request crosses a rep/req device to a server and its reply comes back
// through it, for each transport.
func TestReqRepThroughDevice(t *testing.T) {
	for _, tr := range testutil.Transports {
		t.Run(tr, func(t *testing.T) {
			testutil.CheckGoroutines(t)
			front := must(rep.NewRaw())
			back := must(req.NewRaw())
			client := must(req.New())
			server := must(rep.New())
			defer client.Close()
			defer server.Close()
			fl := must(front.Listen(testutil.URL(t, tr)))
			bl := must(back.Listen(testutil.URL(t, tr)))
			must(client.Dial(fl.URL()))
			must(server.Dial(bl.URL()))
			run(t, front, back)

			for _, body := range []string{"one", "two", "three"} {
				if err := client.SendContext(recvCtx(t), socket.NewMessageBytes([]byte(body))); err != nil {
					t.Fatal(err)
				}
				m, err := server.RecvContext(recvCtx(t))
				if err != nil {
					t.Fatal(err)
				}
				m.Body = append(m.Body, "!"...)
				if err := server.SendContext(recvCtx(t), m); err != nil {
					t.Fatal(err)
				}
				r, err := client.RecvContext(recvCtx(t))
				if err != nil {
					t.Fatal(err)
				}
				if string(r.Body) != body+"!" {
					t.Fatalf("reply %q, want %q", r.Body, body+"!")
				}
			}
		})
	}
}

func TestPubSubThroughDevice(t *testing.T) {
	testutil.CheckGoroutines(t)
	publisher := must(pub.New())
	defer publisher.Close()
	in := must(sub.NewRaw())
	out := must(pub.NewRaw())
	subscriber := must(sub.New(sub.Subscribe([]byte("x"))))
	defer subscriber.Close()
	pl := must(publisher.Listen(testutil.URL(t, "inproc")))
	must(in.Dial(pl.URL()))
	ol := must(out.Listen(testutil.URL(t, "inproc")))
	must(subscriber.Dial(ol.URL()))
	run(t, in, out)
	for publisher.Stats().Pipes == 0 || out.Stats().Pipes == 0 {
		time.Sleep(time.Millisecond)
	}
	publisher.SendBytes([]byte("y skipped"))
	publisher.SendBytes([]byte("x kept"))
	m, err := subscriber.RecvContext(recvCtx(t))
	if err != nil || string(m.Body) != "x kept" {
		t.Fatalf("got %v %v", m, err)
	}
}

// A raw bus forwarding to itself sends each message to every pipe but the one
// it came from.
func TestBusReflector(t *testing.T) {
	testutil.CheckGoroutines(t)
	hub := must(bus.NewRaw())
	l := must(hub.Listen(testutil.URL(t, "tcp")))
	var nodes []*socket.Socket
	for range 3 {
		n := must(bus.New(socket.RecvTimeout(200 * time.Millisecond)))
		defer n.Close()
		must(n.Dial(l.URL()))
		nodes = append(nodes, n)
	}
	run(t, hub, hub)
	// Bus sends only to pipes it has: wait until both ends of every
	// connection are up.
	for hub.Stats().Pipes < 3 {
		time.Sleep(time.Millisecond)
	}
	for _, n := range nodes {
		for n.Stats().Pipes < 1 {
			time.Sleep(time.Millisecond)
		}
	}
	nodes[0].SendBytes([]byte("hello"))
	for _, n := range nodes[1:] {
		if b, err := n.RecvBytes(); err != nil || string(b) != "hello" {
			t.Fatalf("got %q %v", b, err)
		}
	}
	if b, err := nodes[0].RecvBytes(); !errors.Is(err, socket.ErrTimeout) {
		t.Fatalf("the sender got its own message back: %q %v", b, err)
	}
}

// pair1 counts hops across devices and drops a message past the TTL.
func TestPair1HopsThroughDevices(t *testing.T) {
	testutil.CheckGoroutines(t)
	const devices = 3
	a := must(pair1.New())
	defer a.Close()
	z := must(pair1.New(pair1.TTL(devices+1), socket.RecvTimeout(300*time.Millisecond)))
	defer z.Close()
	prev := must(a.Listen(testutil.URL(t, "inproc"))).URL()
	for range devices {
		left := must(pair1.NewRaw())
		right := must(pair1.NewRaw())
		must(left.Dial(prev))
		prev = must(right.Listen(testutil.URL(t, "inproc"))).URL()
		run(t, left, right)
	}
	must(z.Dial(prev))
	// a's message makes devices+1 hops: within the TTL.
	if err := a.SendContext(recvCtx(t), socket.NewMessageBytes([]byte("far"))); err != nil {
		t.Fatal(err)
	}
	if b, err := z.RecvBytes(); err != nil || string(b) != "far" {
		t.Fatalf("got %q %v", b, err)
	}
	// With a TTL below the hops, the message is dropped and counted.
	if err := z.SetOption(pair1.TTL(devices)); err != nil {
		t.Fatal(err)
	}
	a.SendContext(recvCtx(t), socket.NewMessageBytes([]byte("too far")))
	if b, err := z.RecvBytes(); !errors.Is(err, socket.ErrTimeout) {
		t.Fatalf("got %q %v, want a drop", b, err)
	}
	if n := z.Stats().Dropped(socket.DropTTL); n != 1 {
		t.Fatalf("DropTTL = %d, want 1", n)
	}
}

func TestForwardChecks(t *testing.T) {
	cooked := must(rep.New())
	defer cooked.Close()
	raw := must(req.NewRaw())
	defer raw.Close()
	if err := device.Forward(context.Background(), cooked, raw); !errors.Is(err, device.ErrNotRaw) {
		t.Errorf("cooked socket: %v", err)
	}
	other := must(sub.NewRaw())
	defer other.Close()
	if err := device.Forward(context.Background(), raw, other); !errors.Is(err, socket.ErrPeerMismatch) {
		t.Errorf("req and sub: %v", err)
	}
}
