package socket_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/pattern/rep"
	"github.com/mqwire/mqwire/pattern/req"
	"github.com/mqwire/mqwire/socket"
)

// inprocPushPull returns a PULL and a PUSH connected over inproc, closed
// when the test ends.
func inprocPushPull(t *testing.T) (in, out *socket.Socket) {
	t.Helper()
	return pushPullOver(t, "inproc")
}

// TestInprocHandOverVisible checks that messages an inproc sender hands
// over are seen at once, whatever the receive queue reads ahead: a receiver
// that does not wait gets the first of a burst, one that waits the rest,
// and one already waiting a lone message.
func TestInprocHandOverVisible(t *testing.T) {
	testutil.CheckGoroutines(t)
	in, out := inprocPushPull(t)
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	for burst := 1; burst <= 40; burst += 13 {
		for i := range burst {
			send(t, out, fmt.Sprint(i))
		}
		// The first of the burst without waiting: it was queued before
		// this Recv began, so it must be there.
		m, err := in.RecvContext(canceled)
		if err != nil {
			t.Fatalf("burst of %d: a receive that does not wait: %v", burst, err)
		}
		if got := string(m.Body); got != "0" {
			t.Fatalf("burst of %d: got %q first", burst, got)
		}
		m.Free()
		for i := 1; i < burst; i++ {
			if got := recv(t, in); got != fmt.Sprint(i) {
				t.Fatalf("burst of %d: got %q, want %d", burst, got, i)
			}
		}
	}
	// A receiver already waiting when the message comes.
	done := make(chan string, 1)
	go func() { done <- recv(t, in) }()
	time.Sleep(20 * time.Millisecond)
	send(t, out, "late")
	select {
	case got := <-done:
		if got != "late" {
			t.Fatalf("got %q", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a waiting receiver never got a lone message")
	}
}

// TestInprocManySendersManyReceivers sends from several goroutines on
// several inproc pipes to one PULL read by several goroutines: every message
// arrives exactly once (run under -race, this also checks the queue's
// locking).
func TestInprocManySendersManyReceivers(t *testing.T) {
	testutil.CheckGoroutines(t)
	const senders, receivers, each = 4, 3, 5000
	url := testutil.URL(t, "inproc")
	in := must(pull.New(socket.RecvHWM(64)))
	must(in.Listen(url))
	outs := make([]*socket.Socket, senders)
	for i := range outs {
		outs[i] = must(push.New(socket.SendHWM(16)))
		must(outs[i].Dial(url))
		waitPipes(t, outs[i], 1)
	}
	defer closeAll(t, append(outs, in)...)

	var wg sync.WaitGroup
	for i, out := range outs {
		wg.Go(func() {
			for j := range each {
				m := socket.NewMessageBytes(fmt.Appendf(nil, "%d/%d", i, j))
				if err := out.SendContext(testCtx(t), m); err != nil {
					m.Free()
					t.Error(err)
					return
				}
			}
		})
	}
	var mu sync.Mutex
	seen := make(map[string]bool)
	var rg sync.WaitGroup
	ctx := testCtx(t)
	for range receivers {
		rg.Go(func() {
			for {
				m, err := in.RecvContext(ctx)
				if err != nil {
					return
				}
				mu.Lock()
				if seen[string(m.Body)] {
					t.Errorf("%s arrived twice", m.Body)
				}
				seen[string(m.Body)] = true
				n := len(seen)
				mu.Unlock()
				m.Free()
				if n == senders*each {
					in.Close()
				}
			}
		})
	}
	wg.Wait()
	rg.Wait()
	if len(seen) != senders*each {
		t.Fatalf("%d of %d messages arrived", len(seen), senders*each)
	}
}

// TestEmptyMessagesInChunks streams many empty messages over tcp, so that
// the reader's chunks fill up exactly and a queued empty span starts at its
// chunk's very end (the receive queue reads ahead into each span).
func TestEmptyMessagesInChunks(t *testing.T) {
	testutil.CheckGoroutines(t)
	const n = 50000
	in := must(pull.New(socket.RecvHWM(n)))
	l := must(in.Listen("tcp://127.0.0.1:0"))
	out := must(push.New(socket.SendHWM(n)))
	defer closeAll(t, out, in)
	must(out.Dial(l.URL()))
	waitPipes(t, out, 1)
	for range n {
		if err := out.SendContext(testCtx(t), socket.NewMessage(0)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		m, err := in.RecvContext(testCtx(t))
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if len(m.Body) != 0 {
			t.Fatalf("message %d has %d bytes", i, len(m.Body))
		}
		m.Free()
	}
}

// TestSharedMessageOverInproc: a shared message (Message.Share) sent over
// inproc, whose peer would own the very message it is handed, arrives as a
// copy; the sender's share stays intact and is freed on its own.
func TestSharedMessageOverInproc(t *testing.T) {
	testutil.CheckGoroutines(t)
	in, out := inprocPushPull(t)
	m := socket.NewMessageBytes([]byte("kept for resending"))
	m.Share()
	if err := out.SendContext(testCtx(t), m); err != nil {
		t.Fatal(err)
	}
	got, err := in.RecvContext(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if got == m {
		t.Fatal("the receiver was handed the shared message itself")
	}
	clear(got.Body)
	got.Free()
	if string(m.Body) != "kept for resending" {
		t.Fatalf("the sender's share now holds %q", m.Body)
	}
	m.Free()
}

// TestTimeoutsFastPath: with a send and a receive timeout set, a send that
// finds room and a receive that finds a message make no timeout context
// (socket.TrySender, socket.TryReceiver): no allocations, where a context
// with its timer cost 8 per message, and 14 times the time.
func TestTimeoutsFastPath(t *testing.T) {
	testutil.CheckGoroutines(t)
	in, out := inprocPushPull(t)
	if err := in.SetOption(socket.RecvTimeout(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := out.SetOption(socket.SendTimeout(time.Second)); err != nil {
		t.Fatal(err)
	}
	roundTrip := func() {
		if err := out.Send(socket.NewMessage(64)); err != nil {
			t.Fatal(err)
		}
		m, err := in.Recv()
		if err != nil {
			t.Fatal(err)
		}
		m.Free()
	}
	noAllocs(t, "message sent and received with timeouts set", roundTrip)
}

// noAllocs fails the test if f allocates, once the queues and pools it
// uses are made. Under the race detector, whose pools drop items, it only
// logs the count.
func noAllocs(t *testing.T, what string, f func()) {
	t.Helper()
	f()
	testutil.AllocsBelow(t, 1000, 1, "per "+what, f)
}

// TestTimeoutsFastPathReqRep: a REP with a send timeout answers with no
// timeout context and so no allocation when its requester's pipe has room;
// one with a receive timeout takes a request that already waits, without
// one, and answers it to the right requester.
func TestTimeoutsFastPathReqRep(t *testing.T) {
	testutil.CheckGoroutines(t)
	pair := func(opts ...socket.Option) (rq, rp *socket.Socket) {
		url := testutil.URL(t, "inproc")
		rp = must(rep.New(opts...))
		rq = must(req.New())
		closeAll(t, rq, rp)
		must(rp.Listen(url))
		must(rq.Dial(url))
		waitPipes(t, rq, 1)
		return rq, rp
	}
	t.Run("send", func(t *testing.T) {
		rq, rp := pair(socket.SendTimeout(time.Second))
		roundTrip := func() {
			if err := rq.Send(socket.NewMessage(64)); err != nil {
				t.Fatal(err)
			}
			m, err := rp.Recv()
			if err != nil {
				t.Fatal(err)
			}
			if err := rp.Send(m); err != nil {
				t.Fatal(err)
			}
			if m, err = rq.Recv(); err != nil {
				t.Fatal(err)
			}
			m.Free()
		}
		noAllocs(t, "round trip with the REP's send timeout set", roundTrip)
	})
	t.Run("recv", func(t *testing.T) {
		rq, rp := pair(socket.RecvTimeout(time.Second))
		for i := range 3 {
			send(t, rq, fmt.Sprint("request ", i))
			time.Sleep(10 * time.Millisecond) // queued at the REP before its Recv
			if got := recv(t, rp); got != fmt.Sprint("request ", i) {
				t.Fatalf("REP got %q", got)
			}
			send(t, rp, fmt.Sprint("reply ", i))
			if got := recv(t, rq); got != fmt.Sprint("reply ", i) {
				t.Fatalf("REQ got %q", got)
			}
		}
	})
}

// TestInprocSenderWaitsForRoom: an inproc sender whose peer's receive
// queue is full waits for room there instead of queueing on its own side:
// the two high-water marks still add up (RecvHWM plus SendHWM messages go
// before Send waits), a Send with a deadline times out, and senders
// waiting for room (small queues, one or several senders) are woken as
// the receiver makes room, every message arriving once and in each
// sender's order.
func TestInprocSenderWaitsForRoom(t *testing.T) {
	testutil.CheckGoroutines(t)
	t.Run("capacity", func(t *testing.T) {
		url := testutil.URL(t, "inproc")
		in := must(pull.New(socket.RecvHWM(8)))
		out := must(push.New(socket.SendHWM(5), socket.SendTimeout(20*time.Millisecond)))
		closeAll(t, in, out)
		must(in.Listen(url))
		must(out.Dial(url))
		waitPipes(t, out, 1)
		sent := 0
		for ; sent < 100; sent++ {
			if err := out.Send(socket.NewMessageBytes([]byte{byte(sent)})); err != nil {
				if !errors.Is(err, socket.ErrTimeout) {
					t.Fatal(err)
				}
				break
			}
		}
		if sent != 8+5 {
			t.Errorf("%d messages went before Send waited, want 13", sent)
		}
		for i := range sent {
			m := must(in.RecvContext(testCtx(t)))
			if m.Body[0] != byte(i) {
				t.Fatalf("message %d is %d", i, m.Body[0])
			}
			m.Free()
		}
	})
	for _, senders := range []int{1, 4} {
		t.Run(fmt.Sprint("senders=", senders), func(t *testing.T) {
			const each = 5000
			url := testutil.URL(t, "inproc")
			in := must(pull.New(socket.RecvHWM(4)))
			must(in.Listen(url))
			outs := make([]*socket.Socket, senders)
			for i := range outs {
				outs[i] = must(push.New(socket.SendHWM(2)))
				must(outs[i].Dial(url))
				waitPipes(t, outs[i], 1)
			}
			defer closeAll(t, append(outs, in)...)
			for i, out := range outs {
				go func() {
					for j := range each {
						m := socket.NewMessageBytes(binary.BigEndian.AppendUint32([]byte{byte(i)}, uint32(j)))
						if out.SendContext(testCtx(t), m) != nil {
							m.Free()
							return
						}
					}
				}()
			}
			next := make([]uint32, senders)
			for k := range senders * each {
				m, err := in.RecvContext(testCtx(t))
				if err != nil {
					t.Fatalf("message %d: %v (next %v)", k, err, next)
				}
				i, j := m.Body[0], binary.BigEndian.Uint32(m.Body[1:])
				if j != next[i] {
					t.Fatalf("sender %d: message %d, want %d", i, j, next[i])
				}
				next[i]++
				m.Free()
				if k%1000 == 0 {
					time.Sleep(time.Millisecond) // let the senders wait
				}
			}
		})
	}
}

// TestStreamRecvNoAllocs: a message received over a stream, made from the
// read chunk by the receive queue (from its stash of pooled messages), and
// freed by the application costs no allocation, for bodies in the stashed
// classes and above them.
func TestStreamRecvNoAllocs(t *testing.T) {
	for _, size := range []int{10, 200, 1000} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			testutil.CheckGoroutines(t)
			in, out := pushPullOver(t, "ipc")
			op := func() {
				if err := out.Send(socket.NewMessage(size)); err != nil {
					t.Fatal(err)
				}
				m, err := in.Recv()
				if err != nil {
					t.Fatal(err)
				}
				if len(m.Body) != size {
					t.Fatalf("received %d bytes, sent %d", len(m.Body), size)
				}
				m.Free()
			}
			for range 1000 { // pools and buffers made
				op()
			}
			noAllocs(t, "message sent, received and freed", op)
		})
	}
}

// TestInprocStartUpVisible checks that a message sent over inproc right
// after connecting is seen by a receive that does not wait, as libzmq's
// ZMQ_DONTWAIT sees it: at start-up the message may still be on its way
// through the receiving pipe's goroutine, and the receive waits for that
// hand-over rather than report nothing.
func TestInprocStartUpVisible(t *testing.T) {
	testutil.CheckGoroutines(t)
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	for try := range 200 {
		func() {
			in := must(pull.New())
			defer in.Close()
			out := must(push.New())
			defer out.Close()
			url := must(in.Listen(testutil.URL(t, "inproc"))).URL()
			must(out.Dial(url))
			waitPipes(t, out, 1)
			send(t, out, "first")
			m, err := in.RecvContext(canceled)
			if err != nil {
				t.Fatalf("try %d: a receive that does not wait, right after the send: %v", try, err)
			}
			if string(m.Body) != "first" {
				t.Fatalf("try %d: got %q", try, m.Body)
			}
			m.Free()
		}()
	}
}

// TestInprocQueuedCountEnds closes a PULL's inproc pipes, just after they
// connect, while a PUSH floods them: what the senders queued for a pipe that
// closed comes off the socket's count of messages on their way, so that a
// receive that does not wait afterwards returns at once rather than wait
// for them.
func TestInprocQueuedCountEnds(t *testing.T) {
	testutil.CheckGoroutines(t)
	in := must(pull.New(socket.RecvHWM(4)))
	out := must(push.New(socket.SendHWM(4), socket.ReconnectInterval(time.Millisecond)))
	closeAll(t, out, in)
	url := must(in.Listen(testutil.URL(t, "inproc"))).URL()
	must(out.Dial(url))
	stop := make(chan struct{})
	flooded := make(chan struct{})
	go func() {
		defer close(flooded)
		ctx, cancel := context.WithCancel(context.Background())
		go func() { <-stop; cancel() }()
		for ctx.Err() == nil {
			_ = out.SendContext(ctx, socket.NewMessageBytes([]byte("flood")))
		}
	}()
	for range 100 {
		for _, ps := range in.PipeStats() {
			if p := in.Pipe(ps.ID); p != nil {
				p.Close(errors.New("closed by the test"))
			}
		}
		time.Sleep(time.Duration(rand.IntN(200)) * time.Microsecond)
	}
	close(stop)
	<-flooded
	out.Close()
	waitFor(t, "the count of messages on their way to drop to 0", func() bool { return socket.InprocQueued(in) == 0 })
	for {
		m, err := in.RecvContext(canceledCtx())
		if err != nil {
			break
		}
		m.Free()
	}
	start := time.Now()
	if _, err := in.RecvContext(canceledCtx()); err == nil {
		t.Fatal("a message after the sender closed and the queue drained")
	}
	if d := time.Since(start); d > 10*time.Millisecond {
		t.Fatalf("a receive that does not wait, with nothing on its way, took %v", d)
	}
}

// canceledCtx returns a context that has ended.
func canceledCtx() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// TestClosingPipeLeavesNoGap checks that a pipe closed while its reader
// waits for room in the receive queue drops only the tail of what it read:
// what the application then receives from it is an unbroken run. The
// reader went on putting the rest of its batch as room came, so that one
// message was dropped and the next delivered.
func TestClosingPipeLeavesNoGap(t *testing.T) {
	testutil.CheckGoroutines(t)
	for _, tr := range []string{"tcp", "ipc"} {
		t.Run(tr, func(t *testing.T) {
			in := must(pull.New(socket.RecvHWM(4)))
			out := must(push.New(socket.SendHWM(5000)))
			closeAll(t, in, out)
			must(out.Dial(must(in.Listen(testutil.URL(t, tr))).URL()))
			const msgs = 2000
			for i := range msgs {
				m := socket.NewMessage(8)
				binary.BigEndian.PutUint64(m.Body, uint64(i))
				if err := out.Send(m); err != nil {
					t.Fatal(err)
				}
			}
			time.Sleep(50 * time.Millisecond) // the reader waits for room
			m, err := in.RecvContext(testCtx(t))
			if err != nil {
				t.Fatal(err)
			}
			in.Pipe(m.Pipe).Close(errors.New("closed by the test"))
			next := binary.BigEndian.Uint64(m.Body) + 1
			m.Free()
			for {
				ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
				m, err := in.RecvContext(ctx)
				cancel()
				if err != nil {
					break
				}
				if got := binary.BigEndian.Uint64(m.Body); got != next {
					t.Fatalf("got message %d after %d", got, next-1)
				}
				next++
				m.Free()
			}
			t.Logf("%d of %d messages before the close", next, msgs)
		})
	}
}
