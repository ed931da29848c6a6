package socket_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/pattern/rep"
	"github.com/mqwire/mqwire/pattern/req"
	"github.com/mqwire/mqwire/socket"
)

// TestTimeoutsWaitingNoAllocs: with send and receive timeouts on both
// sockets, a REQ/REP round trip whose Recvs both wait (the lazy pirate
// pattern's ZMQ_RCVTIMEO) allocates nothing: the timeouts use a pooled
// context, where context.WithTimeout and a cancellation watch on the pipe
// cost 14 allocations per round trip over inproc and 25 over tcp.
func TestTimeoutsWaitingNoAllocs(t *testing.T) {
	for _, tr := range []string{"inproc", "tcp"} {
		t.Run(tr, func(t *testing.T) {
			testutil.CheckGoroutines(t)
			opts := []socket.Option{socket.SendTimeout(time.Second), socket.RecvTimeout(time.Second)}
			rp := must(rep.New(opts...))
			rq := must(req.New(opts...))
			closeAll(t, rq, rp)
			url := must(rp.Listen(testutil.URL(t, tr))).URL()
			must(rq.Dial(url))
			waitPipes(t, rq, 1)
			served := make(chan struct{})
			go func() {
				defer close(served)
				for {
					m, err := rp.Recv()
					if errors.Is(err, socket.ErrTimeout) {
						continue
					}
					if err != nil {
						return
					}
					if rp.Send(m) != nil {
						return
					}
				}
			}()
			roundTrip := func() {
				if err := rq.Send(socket.NewMessage(64)); err != nil {
					t.Fatal(err)
				}
				m, err := rq.Recv()
				if err != nil {
					t.Fatal(err)
				}
				m.Free()
			}
			for range 100 { // pools and buffers made
				roundTrip()
			}
			noAllocs(t, "round trip with both timeouts set, every Recv waiting", roundTrip)
			rp.Close()
			<-served
		})
	}
}

// TestSocketTimeoutExpires: a receive timeout that passes, again and again,
// gives ErrTimeout each time after the timeout and not before, over inproc
// and over a stream read by the application; a message sent after that
// still arrives.
func TestSocketTimeoutExpires(t *testing.T) {
	for _, tr := range []string{"inproc", "tcp"} {
		t.Run(tr, func(t *testing.T) {
			testutil.CheckGoroutines(t)
			const d = 20 * time.Millisecond
			q, p := pushPullOver(t, tr, socket.RecvTimeout(d))
			for i := range 3 {
				start := time.Now()
				_, err := q.Recv()
				if !errors.Is(err, socket.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("Recv %d: %v, want ErrTimeout", i, err)
				}
				if took := time.Since(start); took < d {
					t.Fatalf("Recv %d gave up after %v, before its timeout of %v", i, took, d)
				}
			}
			send(t, p, "late")
			// Not recv's context: the socket's timeout is what is tested.
			if err := q.SetOption(socket.RecvTimeout(timeout)); err != nil {
				t.Fatal(err)
			}
			m, err := q.Recv()
			if err != nil || string(m.Body) != "late" {
				t.Fatalf("Recv after the timeouts: %v %v", m, err)
			}
		})
	}
}

// TestSocketTimeoutWithCancellableContext: a socket timeout applied to a
// caller's context that can be cancelled still ends on that cancellation
// (with context.Canceled, not ErrTimeout), and on the timeout when that
// comes first.
func TestSocketTimeoutWithCancellableContext(t *testing.T) {
	for _, tr := range []string{"inproc", "tcp"} {
		t.Run(tr, func(t *testing.T) {
			testutil.CheckGoroutines(t)
			q, _ := pushPullOver(t, tr, socket.RecvTimeout(timeout))
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(20*time.Millisecond, cancel)
			if _, err := q.RecvContext(ctx); !errors.Is(err, context.Canceled) || errors.Is(err, socket.ErrTimeout) {
				t.Fatalf("RecvContext cancelled: %v, want context.Canceled", err)
			}
			if err := q.SetOption(socket.RecvTimeout(20 * time.Millisecond)); err != nil {
				t.Fatal(err)
			}
			if _, err := q.RecvContext(testCtx(t)); !errors.Is(err, socket.ErrTimeout) {
				t.Fatalf("RecvContext past the socket's timeout: %v, want ErrTimeout", err)
			}
		})
	}
}

// pushPullOver returns a PULL made with opts and a PUSH connected to it over
// transport, closed when the test ends.
func pushPullOver(t *testing.T, transport string, opts ...socket.Option) (in, out *socket.Socket) {
	t.Helper()
	in = must(pull.New(opts...))
	out = must(push.New())
	closeAll(t, out, in)
	url := must(in.Listen(testutil.URL(t, transport))).URL()
	must(out.Dial(url))
	waitPipes(t, out, 1)
	return in, out
}
