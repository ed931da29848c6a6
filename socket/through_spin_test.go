package socket_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/pattern/rep"
	"github.com/mqwire/mqwire/pattern/req"
	"github.com/mqwire/mqwire/socket"
)

func TestRecvSpinOption(t *testing.T) {
	r := must(req.New())
	p := must(push.New())
	closeAll(t, r, p)
	for _, d := range []time.Duration{0, time.Microsecond, 200 * time.Microsecond, 10 * time.Millisecond} {
		if err := r.SetOption(socket.RecvSpin(d)); err != nil {
			t.Errorf("RecvSpin(%v): %v", d, err)
		}
	}
	for _, d := range []time.Duration{-1, 10*time.Millisecond + 1, time.Hour} {
		if err := r.SetOption(socket.RecvSpin(d)); !errors.Is(err, socket.ErrBadOption) {
			t.Errorf("RecvSpin(%v): %v, want ErrBadOption", d, err)
		}
	}
	if err := p.SetOption(socket.RecvSpin(time.Microsecond)); !errors.Is(err, socket.ErrOptionNotApplicable) {
		t.Errorf("RecvSpin on push: %v, want ErrOptionNotApplicable", err)
	}
}

// spinPair returns a REQ dialed over tcp to a REP that answers every
// request after delay, both reading through with RecvSpin spin.
func spinPair(t *testing.T, spin, delay time.Duration) (client *socket.Socket) {
	t.Helper()
	server := must(rep.New(socket.RecvSpin(spin)))
	client = must(req.New(socket.RecvSpin(spin)))
	closeAll(t, client, server)
	must(client.Dial(must(server.Listen(testutil.URL(t, "tcp"))).URL()))
	go func() {
		for {
			m, err := server.Recv()
			if err != nil {
				return
			}
			if delay < time.Millisecond {
				// Busy: a sleep this short would last until a timer is
				// noticed, which a spinning client may put off.
				for start := time.Now(); time.Since(start) < delay; {
				}
			} else {
				time.Sleep(delay)
			}
			if server.Send(m) != nil {
				return
			}
		}
	}()
	return client
}

// roundTrips makes n round trips on client until it reads through.
func roundTrips(t *testing.T, client *socket.Socket, n int) {
	t.Helper()
	for i := 0; i < n || !socket.ReadsThrough(client); i++ {
		if i == n+100 {
			t.Fatal("the client does not read through")
		}
		if err := client.SendContext(testCtx(t), socket.NewMessage(64)); err != nil {
			t.Fatal(err)
		}
		m, err := client.RecvContext(testCtx(t))
		if err != nil {
			t.Fatalf("round trip %d: %v", i, err)
		}
		m.Free()
	}
}

// TestRecvSpinAdapts checks that a client reading through polls while its
// peer answers fast, gives it up when the peer answers later than
// RecvSpin, and never polls with RecvSpin(0).
func TestRecvSpinAdapts(t *testing.T) {
	if !socket.CanSpin() {
		t.Skip("no spinning here: not Linux, or GOMAXPROCS 1")
	}
	testutil.CheckGoroutines(t)
	socket.SpinSameProcess(t)
	t.Run("fast peer", func(t *testing.T) {
		client := spinPair(t, time.Millisecond, 50*time.Microsecond)
		roundTrips(t, client, 200)
		_, _, before, _ := socket.SpinState(client)
		// Both ends are in this process, so the reply is caught spinning
		// only when the server runs beside the client: often on an idle
		// machine, perhaps never on a loaded one. The client polls for it
		// all the same.
		caught := 0
		for range 50 {
			roundTrips(t, client, 1)
			if b, parked, _, ok := socket.SpinState(client); ok && b > 0 && !parked {
				caught++
			}
		}
		_, _, after, ok := socket.SpinState(client)
		if !ok || after == before {
			t.Errorf("no polling reads in 50 round trips (ok %v)", ok)
		}
		t.Logf("%d polling reads; the reply caught spinning in %d of 50 round trips", after-before, caught)
	})
	t.Run("slow peer", func(t *testing.T) {
		client := spinPair(t, 50*time.Microsecond, 5*time.Millisecond)
		roundTrips(t, client, 20)
		if b, parked, _, ok := socket.SpinState(client); !ok || !parked || b > 10*time.Microsecond {
			t.Errorf("spin budget %v (parked %v, %v) after 20 round trips of 5 ms, want little", b, parked, ok)
		}
	})
	t.Run("off", func(t *testing.T) {
		client := spinPair(t, 0, 0)
		roundTrips(t, client, 50)
		if b, _, polls, ok := socket.SpinState(client); !ok || b != 0 || polls != 0 {
			t.Errorf("RecvSpin(0): budget %v, %d polling reads (%v)", b, polls, ok)
		}
	})
}

// TestRecvSpinCancel checks that a Recv spinning on a peer that does not
// answer still ends on its context and on Close, within the spin.
func TestRecvSpinCancel(t *testing.T) {
	testutil.CheckGoroutines(t)
	socket.SpinSameProcess(t)
	server := must(rep.New())
	client := must(req.New(socket.RecvSpin(10 * time.Millisecond)))
	closeAll(t, client, server)
	must(client.Dial(must(server.Listen(testutil.URL(t, "tcp"))).URL()))
	go func() {
		for {
			if _, err := server.Recv(); err != nil {
				return // and never answers
			}
		}
	}()
	for range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		if err := client.SendContext(testCtx(t), socket.NewMessage(64)); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, err := client.RecvContext(ctx)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("recv: %v, want DeadlineExceeded", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("recv ended %v after its 30 ms", d)
		}
	}
	done := make(chan error, 1)
	if err := client.SendContext(testCtx(t), socket.NewMessage(64)); err != nil {
		t.Fatal(err)
	}
	go func() { _, err := client.Recv(); done <- err }()
	time.Sleep(5 * time.Millisecond)
	client.Close()
	select {
	case err := <-done:
		if !errors.Is(err, socket.ErrClosed) {
			t.Fatalf("recv after Close: %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("recv still waiting after Close")
	}
}

// TestRecvSpinTCPOnly checks that only tcp pipes spin: over ipc polling
// saved nothing and slowed large messages.
func TestRecvSpinTCPOnly(t *testing.T) {
	testutil.CheckGoroutines(t)
	server := must(rep.New())
	client := must(req.New())
	closeAll(t, client, server)
	must(client.Dial(must(server.Listen(testutil.URL(t, "ipc"))).URL()))
	go func() {
		for {
			m, err := server.Recv()
			if err != nil || server.Send(m) != nil {
				return
			}
		}
	}()
	roundTrips(t, client, 20)
	if b, _, _, ok := socket.SpinState(client); ok {
		t.Errorf("an ipc pipe spins (budget %v)", b)
	}
}

// TestRecvSpinNotSameProcess checks that a pipe whose peer is in this
// process does not spin: the runtime would notice the peer's bytes only
// once the spin is over.
func TestRecvSpinNotSameProcess(t *testing.T) {
	if !socket.CanSpin() {
		t.Skip("no spinning here: not Linux, or GOMAXPROCS 1")
	}
	testutil.CheckGoroutines(t)
	client := spinPair(t, time.Millisecond, 50*time.Microsecond)
	roundTrips(t, client, 50)
	if b, _, polls, ok := socket.SpinState(client); !ok || polls != 0 {
		t.Errorf("%d polling reads (budget %v, %v) with the peer in this process", polls, b, ok)
	}
}
