package socket_test

import (
	"context"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/fairtest"
	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/socket"
)

// pipeIn returns how many messages s's pipe id has read.
func pipeIn(s *socket.Socket, id socket.PipeID) uint64 {
	for _, ps := range s.PipeStats() {
		if ps.ID == id {
			return ps.MessagesIn
		}
	}
	return 0
}

// newestPipe returns the id of the pipe of s that is not in old.
func newestPipe(t *testing.T, s *socket.Socket, old ...socket.PipeID) socket.PipeID {
	t.Helper()
	var id socket.PipeID
	waitFor(t, "a new pipe", func() bool {
	next:
		for _, ps := range s.PipeStats() {
			for _, o := range old {
				if ps.ID == o {
					continue next
				}
			}
			id = ps.ID
			return true
		}
		return false
	})
	return id
}

// TestRecvHWMPerPipe checks that RecvHWM bounds what each pipe has
// queued, as libzmq's does: a peer that floods a PULL nobody reads fills
// its own share, and a message from another peer still goes in behind it,
// rather than wait until the flood is read.
func TestRecvHWMPerPipe(t *testing.T) {
	const hwm, sendHWM, flood = 8, 4, 200
	for _, tr := range []string{"tcp", "ipc", "inproc"} {
		t.Run(tr, func(t *testing.T) {
			testutil.CheckGoroutines(t)
			in := must(pull.New(socket.RecvHWM(hwm)))
			a := must(push.New(socket.SendHWM(sendHWM)))
			b := must(push.New())
			closeAll(t, a, b, in)
			url := must(in.Listen(testutil.URL(t, tr))).URL()
			must(a.Dial(url))
			pa := newestPipe(t, in)
			ctx, cancel := context.WithCancel(context.Background())
			flooded := make(chan struct{})
			go func() {
				defer close(flooded)
				for i := 0; i < flood && ctx.Err() == nil; i++ {
					_ = a.SendContext(ctx, socket.NewMessageBytes([]byte("a")))
				}
			}()
			defer func() { cancel(); <-flooded }()
			// a's share is full once its pipe stops reading more.
			waitFor(t, "a's share to fill", func() bool {
				n := pipeIn(in, pa)
				time.Sleep(20 * time.Millisecond)
				return n >= hwm && pipeIn(in, pa) == n
			})
			must(b.Dial(url))
			pb := newestPipe(t, in, pa)
			send(t, b, "b")
			waitFor(t, "b's message to be read", func() bool { return pipeIn(in, pb) == 1 })
			time.Sleep(10 * time.Millisecond) // and queued
			// a's share, and on inproc what a's sender may hand over on
			// top of it (its SendHWM), then b's message.
			limit := hwm + 1
			if tr == "inproc" {
				limit += sendHWM
			}
			for i := 1; ; i++ {
				got := recv(t, in)
				if got == "b" {
					break
				}
				if i == limit {
					t.Fatalf("b's message was not among the first %d received: a's flood crowded it out", limit)
				}
			}
		})
	}
}

// TestFairQueueing floods one PULL from three PUSH sockets while the
// application takes its time over each message, so that the receiver is
// the bottleneck: each peer gets about a third of what is received, as
// with libzmq's fair queueing. (Before RecvHWM bounded each pipe, three
// peers got 344, 19,639 and 17 of 20,000 messages.)
func TestFairQueueing(t *testing.T) {
	for _, tr := range []string{"tcp", "ipc", "inproc"} {
		t.Run(tr, func(t *testing.T) {
			fairtest.Rounds(t, func() map[socket.PipeID]int { return fairRound(t, tr) })
		})
	}
}

// fairRound runs one round of TestFairQueueing over transport tr: how many
// messages came from each pipe.
func fairRound(t *testing.T, tr string) map[socket.PipeID]int {
	testutil.CheckGoroutines(t)
	in := must(pull.New())
	defer in.Close()
	url := must(in.Listen(testutil.URL(t, tr))).URL()
	ctx, cancel := context.WithCancel(context.Background())
	var done []chan struct{}
	defer func() {
		cancel()
		for _, d := range done {
			<-d
		}
	}()
	for range fairtest.Peers {
		out := must(push.New(socket.Linger(0)))
		defer out.Close()
		must(out.Dial(url))
		d := make(chan struct{})
		done = append(done, d)
		go func() {
			defer close(d)
			for ctx.Err() == nil {
				_ = out.SendContext(ctx, socket.NewMessage(64))
			}
		}()
	}
	waitPipes(t, in, fairtest.Peers)
	return fairtest.Count(t, in)
}

// TestRecvRingShrinks checks that the receive queue's ring, grown for the
// shares of many pipes at once, gives that memory back once it has been
// empty for a while.
func TestRecvRingShrinks(t *testing.T) {
	testutil.CheckGoroutines(t)
	defer socket.SetShrinkAfter(20 * time.Millisecond)()
	const hwm, pipes = 1000, 4
	in := must(pull.New(socket.RecvHWM(hwm)))
	closeAll(t, in)
	url := must(in.Listen(testutil.URL(t, "inproc"))).URL()
	const first = 1024 // the ring's first size, for a RecvHWM of 1,000
	var last *socket.Socket
	for range pipes {
		out := must(push.New(socket.SendHWM(1)))
		closeAll(t, out)
		must(out.Dial(url))
		for range hwm {
			send(t, out, "x")
		}
		last = out
	}
	waitFor(t, "the ring to grow for every pipe's share", func() bool {
		return socket.RecvRingSize(in) >= pipes*hwm
	})
	for range pipes * hwm {
		recv(t, in)
	}
	time.Sleep(40 * time.Millisecond)
	// The consumer that next empties the ring shrinks it.
	send(t, last, "y")
	if got := recv(t, in); got != "y" {
		t.Fatalf("got %q", got)
	}
	if n := socket.RecvRingSize(in); n != first {
		t.Fatalf("ring of %d slots after it was empty for a while, want its first %d", n, first)
	}
	send(t, last, "z") // and it still works
	if got := recv(t, in); got != "z" {
		t.Fatalf("got %q", got)
	}
}
