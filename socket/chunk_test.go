package socket_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/pub"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/pattern/sub"
	"github.com/mqwire/mqwire/socket"
)

// TestChunkedReceive: a pull reads its stream pipes in chunks and queues
// spans of them. Messages of every size around the span limit and the
// chunk size, from several pushers at once, arrive whole and in each
// pusher's order, whether the receiver keeps up or lets its queue fill
// (spans outstanding while the reader goes on reading), and whether it
// frees, keeps or drops what it gets.
func TestChunkedReceive(t *testing.T) {
	for _, tr := range []string{"tcp", "ipc"} {
		t.Run(tr, func(t *testing.T) {
			testutil.CheckGoroutines(t)
			r := must(pull.New(socket.RecvHWM(100), socket.MaxRecvSize(1<<20)))
			defer r.Close()
			url := must(r.Listen(testutil.URL(t, tr))).URL()
			const senders, n = 3, 1500
			size := func(s, i int) int {
				// At least 4 bytes: the first 4 say whose message it is.
				switch rng := rand.New(rand.NewPCG(uint64(s), uint64(i))); i % 4 {
				case 0:
					return 4 + rng.IntN(60)
				case 1:
					return 16<<10 - 8 + rng.IntN(16) // around the span limit
				case 2:
					return 4 + rng.IntN(70<<10) // up to past a chunk
				default:
					return 4 + rng.IntN(2048)
				}
			}
			body := func(s, i int) []byte {
				b := make([]byte, size(s, i))
				for j := range b {
					b[j] = byte(s*31 + i*7 + j)
				}
				b[0], b[1], b[2], b[3] = byte(s), byte(i>>8), byte(i), 0xAB
				return b
			}
			for s := range senders {
				w := must(push.New())
				defer w.Close()
				must(w.Dial(url))
				go func() {
					for i := range n {
						if err := w.SendContext(context.Background(), socket.NewMessageBytes(body(s, i))); err != nil {
							return
						}
					}
				}()
			}
			time.Sleep(50 * time.Millisecond) // let the queue fill
			next := make([]int, senders)
			var kept []*socket.Message
			var keptWant [][]byte
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			for k := range senders * n {
				m, err := r.RecvContext(ctx)
				if err != nil {
					t.Fatalf("message %d: %v", k, err)
				}
				// Find whose it is: every sender's messages come in order.
				found := false
				for s := range senders {
					if i := next[s]; i < n && bytes.Equal(m.Body, body(s, i)) {
						next[s]++
						found = true
						break
					}
				}
				if !found {
					t.Fatalf("message %d (%d bytes, starting %x) is no sender's next (%v)", k, len(m.Body), m.Body[:min(4, len(m.Body))], next)
				}
				switch k % 3 {
				case 0:
					m.Free()
				case 1:
					kept = append(kept, m)
					keptWant = append(keptWant, bytes.Clone(m.Body))
				}
				if k%500 == 0 {
					time.Sleep(5 * time.Millisecond) // fall behind now and then
				}
			}
			for i, m := range kept {
				if !bytes.Equal(m.Body, keptWant[i]) {
					t.Fatalf("kept message %d changed", i)
				}
			}
		})
	}
}

// TestChunkedReceiveHandsBack: over ZMTP, a pull reads plain one-frame
// messages in chunks and, at the first multipart one, hands the stream back
// to the codec, which reads everything from there on; nothing is lost or
// reordered at the switch.
func TestChunkedReceiveHandsBack(t *testing.T) {
	testutil.CheckGoroutines(t)
	r := must(pull.New())
	defer r.Close()
	url := must(r.Listen(testutil.URL(t, "tcp"))).URL()
	w := must(push.New(socket.DialDialect(socket.DialectZMTP)))
	defer w.Close()
	must(w.Dial(url))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const n = 3000
	go func() {
		for i := range n {
			m := socket.NewMessageBytes([]byte{byte(i >> 8), byte(i)})
			if i == n/2 || i == n/2+7 {
				m.Frames = [][]byte{[]byte("second"), []byte("third")}
			}
			if err := w.SendContext(ctx, m); err != nil {
				return
			}
		}
	}()
	for i := range n {
		m, err := r.RecvContext(ctx)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if !bytes.Equal(m.Body, []byte{byte(i >> 8), byte(i)}) {
			t.Fatalf("message %d is %x", i, m.Body)
		}
		if multi := i == n/2 || i == n/2+7; multi != (len(m.Frames) == 2) {
			t.Fatalf("message %d has %d further frames", i, len(m.Frames))
		}
		m.Free()
	}
}

// TestChunkedReceiveFilters: a sub reading in chunks queues only the
// messages that match, in order. From an SP publisher it drops what its
// full queue has no room for (counted), as nng does; from a ZMTP one it
// waits for room, as libzmq does, and loses nothing.
func TestChunkedReceiveFilters(t *testing.T) {
	testutil.CheckGoroutines(t)
	for _, d := range []socket.Dialect{socket.DialectSP, socket.DialectZMTP} {
		s := must(sub.New(socket.RecvHWM(50), sub.Subscribe([]byte("a"))))
		defer s.Close()
		url := must(s.Listen(testutil.URL(t, "tcp"))).URL()
		p := must(pub.New(socket.DialDialect(d)))
		defer p.Close()
		must(p.Dial(url))
		waitPipes(t, p, 1)
		waitPipes(t, s, 1)
		time.Sleep(50 * time.Millisecond) // the subscription reaches a ZMTP publisher
		const n = 2000
		for i := range n {
			topic := "a"
			if i%2 == 1 {
				topic = "b"
			}
			if err := p.SendBytes(fmt.Appendf(nil, "%s%05d", topic, i)); err != nil {
				t.Fatal(err)
			}
		}
		if d == socket.DialectSP {
			deadline := time.Now().Add(5 * time.Second)
			for s.Stats().TotalDrops() == 0 && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			if s.Stats().Dropped(socket.DropQueueFull) == 0 {
				t.Fatalf("%v: no queue-full drop with 1000 matching messages and room for 50", d)
			}
		}
		last, got := -1, 0
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		for {
			m, err := s.RecvContext(ctx)
			if err != nil {
				break
			}
			var i int
			if _, err := fmt.Sscanf(string(m.Body), "a%05d", &i); err != nil || i <= last {
				t.Fatalf("%v: received %q after message %d", d, m.Body, last)
			}
			last = i
			got++
			m.Free()
		}
		cancel()
		if last < 0 {
			t.Fatalf("%v: nothing received", d)
		}
		if d == socket.DialectZMTP {
			if got != n/2 || s.Stats().TotalDrops() != 0 || p.Stats().TotalDrops() != 0 {
				t.Fatalf("zmtp: received %d of %d, drops %d at the subscriber, %d at the publisher", got, n/2, s.Stats().TotalDrops(), p.Stats().TotalDrops())
			}
		}
	}
}
