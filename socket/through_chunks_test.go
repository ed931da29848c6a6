package socket_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/streamtest"
	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/pair"
	"github.com/mqwire/mqwire/pattern/pub"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/pattern/sub"
	"github.com/mqwire/mqwire/socket"
	"github.com/mqwire/mqwire/wire/sp"
)

// lockstep sends at least n messages made by body from w, each only once
// r's Recv for it has started waiting, and checks what r gets; it goes on
// until r reads through (its Recv found the pipe's reader waiting for
// bytes, and took over), and fails the test if r never does. It returns
// how many it sent.
func lockstep(t *testing.T, w, r *socket.Socket, n int, body func(i int) []byte) int {
	t.Helper()
	return lockstepBy(t, r, n, body, func(b []byte) error {
		return w.SendContext(testCtx(t), socket.NewMessageBytes(b))
	})
}

// lockstepBy is lockstep with each message sent by send.
func lockstepBy(t *testing.T, r *socket.Socket, n int, body func(i int) []byte, send func([]byte) error) int {
	t.Helper()
	i := 0
	for ; i < n || !socket.ReadsThrough(r); i++ {
		if i == n+100 {
			t.Fatal("the receiver does not read through")
		}
		got := recvAsync(r, testCtx(t))
		if i < 5 || i%50 == 0 || i >= n {
			time.Sleep(time.Millisecond) // the Recv waits, and so asks for the read turn
		}
		if err := send(body(i)); err != nil {
			t.Fatal(err)
		}
		if res := await(t, got, "lockstep"); res.err != nil || res.body != string(body(i)) {
			t.Fatalf("lockstep %d: got %d bytes, %v", i, len(res.body), res.err)
		}
	}
	return i
}

func small(i int) []byte { return fmt.Appendf(nil, "m%06d", i) }

// TestReadThroughChunks: a pull with one pipe reads its chunks on the
// goroutine of Recv, in both dialects over tcp and ipc. With a receive
// queue of 8 and a stream of messages of every size around the span limit
// and the chunk size, the application never queues more than there is
// room for (it would wait on itself), and every message arrives whole and
// in order, with and without a deadline on Recv (a body too large for a
// span is read through only without one).
func TestReadThroughChunks(t *testing.T) {
	sizes := []int{0, 1, 64, 7, 1000, 16<<10 - 8, 16 << 10, 16<<10 + 1, 70 << 10, 64, 3, 300 << 10}
	body := func(i int) []byte {
		b := make([]byte, sizes[i%len(sizes)])
		for j := range b {
			b[j] = byte(i + j)
		}
		return b
	}
	for _, tr := range []string{"tcp", "ipc"} {
		for _, d := range []socket.Dialect{socket.DialectSP, socket.DialectZMTP} {
			t.Run(fmt.Sprintf("%s/%v", tr, d), func(t *testing.T) {
				testutil.CheckGoroutines(t)
				r := must(pull.New(socket.RecvHWM(8), socket.MaxRecvSize(1<<20)))
				w := must(push.New(socket.DialDialect(d)))
				closeAll(t, w, r)
				must(w.Dial(must(r.Listen(testutil.URL(t, tr))).URL()))
				warm := lockstep(t, w, r, 20, small)
				const n = 3000
				go func() {
					for i := range n {
						if w.SendContext(testCtx(t), socket.NewMessageBytes(body(i))) != nil {
							return
						}
					}
				}()
				for i := range n {
					ctx := context.Background()
					if i%3 == 0 {
						ctx = testCtx(t)
					}
					m, err := r.RecvContext(ctx)
					if err != nil {
						t.Fatalf("message %d: %v", i, err)
					}
					if !bytes.Equal(m.Body, body(i)) {
						t.Fatalf("message %d: %d bytes, want %d", i, len(m.Body), len(body(i)))
					}
					m.Free()
				}
				if got, want := r.Stats().MessagesIn, uint64(n+warm); got != want {
					t.Errorf("MessagesIn %d, want %d", got, want)
				}
			})
		}
	}
}

// TestReadThroughChunksHandBack: over ZMTP, an application reading a
// pull's chunks through gives the stream back at the first multipart
// message; the pipe's codec reads everything from there on, and nothing is
// lost or reordered at the switch.
func TestReadThroughChunksHandBack(t *testing.T) {
	testutil.CheckGoroutines(t)
	r := must(pull.New())
	w := must(push.New(socket.DialDialect(socket.DialectZMTP)))
	closeAll(t, w, r)
	must(w.Dial(must(r.Listen(testutil.URL(t, "tcp"))).URL()))
	lockstep(t, w, r, 20, small)
	const n = 2000
	go func() {
		for i := range n {
			m := socket.NewMessageBytes(small(i))
			if i == n/2 || i == n/2+7 {
				m.Frames = [][]byte{[]byte("second"), []byte("third")}
			}
			if w.SendContext(testCtx(t), m) != nil {
				return
			}
		}
	}()
	for i := range n {
		m, err := r.RecvContext(testCtx(t))
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if !bytes.Equal(m.Body, small(i)) {
			t.Fatalf("message %d is %q", i, m.Body)
		}
		if multi := i == n/2 || i == n/2+7; multi != (len(m.Frames) == 2) {
			t.Fatalf("message %d has %d further frames", i, len(m.Frames))
		}
		m.Free()
	}
	// And the codec reads through from there on.
	lockstep(t, w, r, 20, small)
}

// TestReadThroughChunksFilters: a sub reading its chunks through queues
// only what matches, in order, in both dialects.
func TestReadThroughChunksFilters(t *testing.T) {
	for _, d := range []socket.Dialect{socket.DialectSP, socket.DialectZMTP} {
		t.Run(fmt.Sprint(d), func(t *testing.T) {
			testutil.CheckGoroutines(t)
			// PreferNew off: the application reading through keeps what
			// the queue has no room for, rather than handing the reading
			// back to a reader that drops the oldest.
			s := must(sub.New(socket.RecvHWM(4), sub.Subscribe([]byte("m")), sub.PreferNew(false)))
			p := must(pub.New(socket.DialDialect(d)))
			closeAll(t, p, s)
			must(p.Dial(must(s.Listen(testutil.URL(t, "tcp"))).URL()))
			// The subscription reaches a ZMTP publisher after the
			// connection: send until the first message arrives.
			got := recvAsync(s, testCtx(t))
			for first := false; !first; {
				must(0, p.Send(socket.NewMessageBytes(small(0))))
				select {
				case res := <-got:
					if res.err != nil {
						t.Fatal(res.err)
					}
					first = true
				case <-time.After(10 * time.Millisecond):
				}
			}
			lockstep(t, p, s, 20, small)
			// A burst, every other message unwanted; the receive queue
			// (4) is smaller than what one chunk holds.
			for i := range 400 {
				b := small(i)
				if i%2 == 1 {
					b[0] = 'x'
				}
				must(0, p.Send(socket.NewMessageBytes(b)))
			}
			for i := 0; i < 400; i += 2 {
				m, err := s.RecvContext(testCtx(t))
				if err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
				if !bytes.Equal(m.Body, small(i)) {
					t.Fatalf("got %q, want %q", m.Body, small(i))
				}
				m.Free()
			}
		})
	}
}

// TestReadThroughChunksClose: closing the socket ends a Recv that reads
// a pair's chunks through, and a peer that goes away ends the pipe of one
// that reads through; the next peer's messages arrive.
func TestReadThroughChunksClose(t *testing.T) {
	testutil.CheckGoroutines(t)
	r := must(pair.New())
	defer r.Close()
	url := must(r.Listen(testutil.URL(t, "ipc"))).URL()
	for round := range 2 {
		w := must(pair.New())
		must(w.Dial(url))
		lockstep(t, w, r, 20, small)
		got := recvAsync(r, context.Background())
		time.Sleep(20 * time.Millisecond) // into its read
		if round == 0 {
			w.Close() // the peer goes: the pipe ends, the Recv goes on waiting
			select {
			case res := <-got:
				t.Fatalf("Recv returned %q, %v after the peer left", res.body, res.err)
			case <-time.After(50 * time.Millisecond):
			}
			w = must(pair.New())
			must(w.Dial(url))
			must(0, w.Send(socket.NewMessageBytes([]byte("next"))))
			if res := await(t, got, "next peer"); res.err != nil || res.body != "next" {
				t.Fatalf("got %q, %v", res.body, res.err)
			}
			w.Close()
			continue
		}
		r.Close()
		if res := await(t, got, "Close"); !errors.Is(res.err, socket.ErrClosed) {
			t.Fatalf("Recv: %v", res.err)
		}
		w.Close()
	}
}

// TestReadThroughChunksHostile: a peer that breaks the rules while the
// application reads its pipe's chunks through (a size past MaxRecvSize, a
// message cut short) costs only its own pipe, with the same typed error as
// when the reader goroutine reads; the Recv that was reading goes on
// waiting, and the next peer's message reaches it.
func TestReadThroughChunksHostile(t *testing.T) {
	bad := map[string]func(p *streamtest.Peer) error{
		"size MaxRecvSize+1": func(p *streamtest.Peer) error {
			return p.Write(append(p.Framing.AppendFrameHeader(nil, hostileLimit+1), "and a few bytes"...))
		},
		"truncated message": func(p *streamtest.Peer) error {
			if err := p.Write(append(p.Framing.AppendFrameHeader(nil, 100), "ten bytes."...)); err != nil {
				return err
			}
			return p.CloseWrite()
		},
	}
	want := map[string]error{"size MaxRecvSize+1": socket.ErrTooLarge, "truncated message": socket.ErrProtocol}
	for name, act := range bad {
		t.Run(name, func(t *testing.T) {
			testutil.CheckGoroutines(t)
			r := must(pull.New(socket.MaxRecvSize(hostileLimit)))
			defer r.Close()
			w := streamtest.Watch(r)
			url := must(r.Listen(testutil.URL(t, "tcp"))).URL()
			p, err := streamtest.DialPeer(url, timeout)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			if err := header(p, sp.ProtoPush0); err != nil {
				t.Fatal(err)
			}
			lockstepBy(t, r, 20, small, p.WriteMsg)
			from := w.Len()
			got := recvAsync(r, context.Background())
			time.Sleep(10 * time.Millisecond) // into its read
			if err := act(p); err != nil {
				t.Fatal(err)
			}
			e, err := w.Wait(from, timeout, streamtest.Ends(p.Remote))
			if err != nil {
				t.Fatal(err)
			}
			if e.Type != socket.EventDisconnected || !errors.Is(e.Err, want[name]) {
				t.Fatalf("event %v, want a disconnect matching %v", e, want[name])
			}
			if pe := r.Stats().ProtocolErrors; pe != 1 {
				t.Errorf("ProtocolErrors %d, want 1", pe)
			}
			good := must(push.New())
			defer good.Close()
			must(good.Dial(url))
			must(0, good.Send(socket.NewMessageBytes([]byte("next"))))
			if res := await(t, got, "next peer"); res.err != nil || res.body != "next" {
				t.Fatalf("got %q, %v", res.body, res.err)
			}
		})
	}
}

// TestReadThroughChunksManyReceivers: several goroutines receive from one
// pull with one pipe; whichever reads through, every message arrives
// exactly once and none waits for a reader that went away.
func TestReadThroughChunksManyReceivers(t *testing.T) {
	testutil.CheckGoroutines(t)
	r := must(pull.New(socket.RecvHWM(16)))
	w := must(push.New())
	closeAll(t, w, r)
	must(w.Dial(must(r.Listen(testutil.URL(t, "ipc"))).URL()))
	const receivers, n = 4, 20000
	seen := make([]atomic.Bool, n)
	var wg sync.WaitGroup
	var count atomic.Int64
	errs := make(chan error, receivers)
	for range receivers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for count.Load() < n {
				ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
				m, err := r.RecvContext(ctx)
				cancel()
				if errors.Is(err, socket.ErrTimeout) {
					continue
				}
				if err != nil {
					errs <- err
					return
				}
				i := int(binary.BigEndian.Uint32(m.Body))
				m.Free()
				if seen[i].Swap(true) {
					errs <- fmt.Errorf("message %d twice", i)
					return
				}
				count.Add(1)
			}
		}()
	}
	for i := range n {
		if i%1000 == 0 {
			time.Sleep(2 * time.Millisecond) // let the receivers catch up and read through
		}
		if err := w.SendContext(testCtx(t), socket.NewMessageBytes(binary.BigEndian.AppendUint32(nil, uint32(i)))); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case err := <-errs:
		t.Fatal(err)
	case <-time.After(timeout):
		t.Fatalf("%d of %d messages received", count.Load(), n)
	}
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
}
