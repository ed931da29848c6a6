package socket_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/socket"
)

// writerGoroutines counts the stream pipes' writer goroutines running.
func writerGoroutines() int { return goroutinesIn("socket.(*Pipe).writeStream(") }

// TestIdleStreamPipeHasNoWriter checks that a stream pipe's writer
// goroutine ends when it has had nothing to write for a while (writerIdle), so that an idle connection
// keeps none, and that the next message starts one again, in both
// dialects, on every stream transport.
func TestIdleStreamPipeHasNoWriter(t *testing.T) {
	for _, tr := range []string{"tcp", "ipc"} {
		for _, zmtp := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/zmtp=%v", tr, zmtp), func(t *testing.T) {
				testutil.CheckGoroutines(t)
				defer socket.SetWriterIdle(20 * time.Millisecond)()
				const conns = 10
				q := must(pull.New())
				defer q.Close()
				addr := must(q.Listen(testutil.URL(t, tr))).URL()
				var ps []*socket.Socket
				for range conns {
					opts := []socket.Option{}
					if zmtp {
						opts = append(opts, socket.DialDialect(socket.DialectZMTP))
					}
					p := must(push.New(opts...))
					defer p.Close()
					must(p.Dial(addr))
					ps = append(ps, p)
				}
				waitFor(t, "every pipe up", func() bool { return q.Stats().Pipes == conns })
				for round := range 3 {
					// Idle: no writer on either end of any connection.
					waitFor(t, "no writer goroutine while idle", func() bool { return writerGoroutines() == 0 })
					for i, p := range ps {
						if err := p.Send(socket.NewMessageBytes([]byte(fmt.Sprint(round, i)))); err != nil {
							t.Fatal(err)
						}
					}
					ctx, cancel := context.WithTimeout(context.Background(), timeout)
					for range conns {
						m, err := q.RecvContext(ctx)
						if err != nil {
							cancel()
							t.Fatalf("round %d: %v", round, err)
						}
						m.Free()
					}
					cancel()
				}
			})
		}
	}
}

// TestIdleHeartbeatsNeedNoGoroutine checks that ZMTP heartbeats flow on
// an idle connection with no writer goroutine on either end: the dialer
// PINGs every 10 ms from its watchdog timer and drops the connection after
// 60 ms without a word, so it stays up only if the listener, which sends no
// PINGs of its own, answers each with a PONG, written by its reader.
func TestIdleHeartbeatsNeedNoGoroutine(t *testing.T) {
	testutil.CheckGoroutines(t)
	defer socket.SetWriterIdle(50 * time.Millisecond)() // more than the PINGs' interval
	q := must(pull.New())
	defer q.Close()
	addr := must(q.Listen(testutil.URL(t, "tcp"))).URL()
	p := must(push.New(socket.HeartbeatInterval(10*time.Millisecond), socket.HeartbeatTimeout(60*time.Millisecond),
		socket.DialDialect(socket.DialectZMTP)))
	defer p.Close()
	base := runtime.NumGoroutine()
	must(p.Dial(addr))
	waitFor(t, "pipe up", func() bool { return q.Stats().Pipes == 1 && p.Stats().Pipes == 1 })
	waitFor(t, "no writer goroutine", func() bool { return writerGoroutines() == 0 })
	writers, fewest := 0, 1<<30
	for range 30 {
		time.Sleep(10 * time.Millisecond)
		writers += writerGoroutines()
		fewest = min(fewest, runtime.NumGoroutine()-base)
	}
	if fewest > 2 {
		t.Errorf("%d goroutines for an idle connection with heartbeats, want its 2 readers", fewest)
	}
	if r := p.Stats().Reconnects; r != 0 {
		t.Fatalf("%d reconnects: the PINGs were not answered", r)
	}
	if writers > 3 {
		t.Errorf("%d writer goroutines seen in 30 looks at an idle connection with heartbeats", writers)
	}
	if err := p.Send(socket.NewMessageBytes([]byte("still here"))); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	m, err := q.RecvContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m.Free()
}

// TestLingerClosesIdlePipesAtOnce checks that Close with a long linger
// returns at once when nothing is queued, though no writer goroutine runs
// to see the socket close.
func TestLingerClosesIdlePipesAtOnce(t *testing.T) {
	testutil.CheckGoroutines(t)
	defer socket.SetWriterIdle(time.Millisecond)()
	q := must(pull.New())
	defer q.Close()
	addr := must(q.Listen(testutil.URL(t, "tcp"))).URL()
	p := must(push.New(socket.Linger(time.Minute)))
	must(p.Dial(addr))
	waitFor(t, "pipe up", func() bool { return p.Stats().Pipes == 1 })
	waitFor(t, "no writer goroutine while idle", func() bool { return writerGoroutines() == 0 })
	start := time.Now()
	p.Close()
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Close took %v with nothing queued", d)
	}
}

// TestWriterStaysWhileTrafficFlows checks that a pipe with traffic keeps
// its writer goroutine between messages, rather than starting one for each
// message (which costs more than a wake-up), and loses it only once idle.
func TestWriterStaysWhileTrafficFlows(t *testing.T) {
	testutil.CheckGoroutines(t)
	defer socket.SetWriterIdle(300 * time.Millisecond)()
	q := must(pull.New())
	defer q.Close()
	addr := must(q.Listen(testutil.URL(t, "tcp"))).URL()
	p := must(push.New())
	defer p.Close()
	must(p.Dial(addr))
	waitFor(t, "pipe up", func() bool { return q.Stats().Pipes == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for i := range 20 {
		if err := p.Send(socket.NewMessageBytes([]byte("tick"))); err != nil {
			t.Fatal(err)
		}
		m, err := q.RecvContext(ctx)
		if err != nil {
			t.Fatal(err)
		}
		m.Free()
		if i > 0 && writerGoroutines() == 0 {
			t.Fatalf("message %d: no writer between messages 10 ms apart", i)
		}
		time.Sleep(10 * time.Millisecond)
	}
	waitFor(t, "no writer goroutine once idle", func() bool { return writerGoroutines() == 0 })
}
