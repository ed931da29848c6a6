package socket_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/dealer"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/pattern/router"
	"github.com/mqwire/mqwire/socket"
)

// seqBody is message i of sender g: its sender and number, then padding.
func seqBody(g, i int) []byte {
	b := make([]byte, 8+i%50)
	binary.LittleEndian.PutUint32(b, uint32(g))
	binary.LittleEndian.PutUint32(b[4:], uint32(i))
	return b
}

// selfFlushPair connects a push with a small send queue to a pull over tr.
func selfFlushPair(t *testing.T, tr string, hwm int) (w, r *socket.Socket) {
	t.Helper()
	w = must(push.New(socket.SendHWM(hwm)))
	r = must(pull.New(socket.RecvHWM(hwm)))
	closeAll(t, w, r)
	must(w.Dial(must(r.Listen(testutil.URL(t, tr))).URL()))
	waitPipes(t, w, 1)
	waitPipes(t, r, 1)
	return w, r
}

// TestSelfFlush: a sender that keeps its send queue full writes the queue
// itself; with four goroutines sending at once, every message arrives
// once and in each sender's order, the last ones without another send (the
// tail timer wakes the writer), and a message sent after the burst arrives
// at once.
func TestSelfFlush(t *testing.T) {
	for _, tr := range []string{"tcp", "ipc"} {
		t.Run(tr, func(t *testing.T) {
			testutil.CheckGoroutines(t)
			w, r := selfFlushPair(t, tr, 16)
			const senders, each = 4, 5000
			var wg sync.WaitGroup
			for g := range senders {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range each {
						if err := w.SendContext(testCtx(t), socket.NewMessageBytes(seqBody(g, i))); err != nil {
							t.Error(err)
							return
						}
					}
				}()
			}
			next := make([]int, senders)
			for range senders * each {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				m, err := r.RecvContext(ctx)
				cancel()
				if err != nil {
					t.Fatalf("after %v messages: %v", next, err)
				}
				g, i := int(binary.LittleEndian.Uint32(m.Body)), int(binary.LittleEndian.Uint32(m.Body[4:]))
				if g >= senders || i != next[g] || string(m.Body) != string(seqBody(g, i)) {
					t.Fatalf("got message %d of sender %d, want %v", i, g, next)
				}
				next[g]++
				m.Free()
			}
			wg.Wait()
			if n := socket.SelfFlushes(w); n == 0 {
				t.Log("the sender never wrote its own queue (the writer kept up)")
			}
			start := time.Now()
			send(t, w, "after")
			if got := recv(t, r); got != "after" {
				t.Fatalf("got %q", got)
			}
			if d := time.Since(start); d > 500*time.Millisecond {
				t.Errorf("a message sent after the burst took %v", d)
			}
		})
	}
}

// TestSelfFlushStalledPeer: a receiver that stops reading holds the
// sender up (its Send times out, the queue and the connection full), and
// once it reads again every message arrives, in order.
func TestSelfFlushStalledPeer(t *testing.T) {
	testutil.CheckGoroutines(t)
	w, r := selfFlushPair(t, "tcp", 16)
	body := func(i int) []byte {
		b := make([]byte, 1000)
		binary.LittleEndian.PutUint32(b, uint32(i))
		return b
	}
	sent := 0
	for ; ; sent++ {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := w.SendContext(ctx, socket.NewMessageBytes(body(sent)))
		cancel()
		if err != nil {
			break
		}
		if sent > 1e6 {
			t.Fatal("the sender never waited")
		}
	}
	// Whether the application wrote some batches itself depends on
	// timing (TestClaimFront checks the claim itself); log it.
	t.Logf("%d messages sent, %d batches written by the application", sent, socket.SelfFlushes(w))
	for i := range sent {
		m, err := r.RecvContext(testCtx(t))
		if err != nil {
			t.Fatalf("message %d of %d: %v", i, sent, err)
		}
		if got := int(binary.LittleEndian.Uint32(m.Body)); got != i || len(m.Body) != 1000 {
			t.Fatalf("got message %d (%d bytes), want %d", got, len(m.Body), i)
		}
		m.Free()
	}
}

// TestSelfFlushClose: what a sender that wrote its own queue leaves queued
// goes out on Close with the default linger.
func TestSelfFlushClose(t *testing.T) {
	testutil.CheckGoroutines(t)
	for round := range 3 {
		w := must(push.New(socket.SendHWM(16)))
		r := must(pull.New())
		closeAll(t, r)
		must(w.Dial(must(r.Listen(testutil.URL(t, "ipc"))).URL()))
		waitPipes(t, w, 1)
		const n = 3000
		for i := range n {
			if err := w.SendContext(testCtx(t), socket.NewMessageBytes(seqBody(0, i))); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		for i := range n {
			m, err := r.RecvContext(testCtx(t))
			if err != nil {
				t.Fatalf("round %d: message %d: %v", round, i, err)
			}
			if string(m.Body) != string(seqBody(0, i)) {
				t.Fatalf("round %d: message %d: got %q", round, i, fmt.Sprintf("%x", m.Body))
			}
			m.Free()
		}
	}
}

// TestSelfFlushThenWait: a dealer bursts, filling its send queue so that
// it writes the queue itself and defers waking the writer, then sends a
// request and waits for the reply. The request goes out when the dealer
// starts to wait, not when the tail timer fires (made ten seconds long
// here, so that waiting for it would fail the test).
func TestSelfFlushThenWait(t *testing.T) {
	defer socket.SetTailDelay(10 * time.Second)()
	for _, tr := range []string{"tcp", "ipc"} {
		t.Run(tr, func(t *testing.T) {
			testutil.CheckGoroutines(t)
			d := must(dealer.New(socket.SendHWM(16)))
			r := must(router.New())
			closeAll(t, d, r)
			must(d.Dial(must(r.Listen(testutil.URL(t, tr))).URL()))
			waitPipes(t, d, 1)
			waitPipes(t, r, 1)
			go func() { // the router answers the request, and only it
				for {
					m, err := r.Recv()
					if err != nil {
						return
					}
					if len(m.Frames) == 1 && string(m.Frames[0]) == "request" {
						m.Frames[0] = []byte("reply")
						if r.Send(m) != nil {
							return
						}
						continue
					}
					m.Free()
				}
			}()
			for round := range 3 {
				for i := range 20000 {
					if err := d.SendContext(testCtx(t), socket.NewMessageBytes(seqBody(0, i))); err != nil {
						t.Fatal(err)
					}
				}
				if err := d.Send(socket.NewMessageBytes([]byte("request"))); err != nil {
					t.Fatal(err)
				}
				start := time.Now()
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				m, err := d.RecvContext(ctx)
				cancel()
				if err != nil {
					t.Fatalf("round %d: no reply after %v (%d batches the application wrote): %v", round, time.Since(start), socket.SelfFlushes(d), err)
				}
				if string(m.Body) != "reply" {
					t.Fatalf("round %d: got %q", round, m.Body)
				}
				m.Free()
			}
			t.Logf("%d batches the application wrote", socket.SelfFlushes(d))
		})
	}
}
