package socket_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/socket"
	"github.com/mqwire/mqwire/wire/zmtp"
)

// TestHeartbeatsDuringFlood checks that PINGs and PONGs sent while a
// stream floods the connection never land inside a frame. A sender that
// writes its own full queues leaves what the connection does not take to
// its writer goroutine; a command waiting for that writer was written
// before that rest, cutting a frame in two: the receiver closed the
// connection ("reserved frame flag bits set"), messages were lost, and
// this test failed in each of its first runs.
//
// Over TLS and CURVE the sender seals on its own goroutine what it writes
// through, and what the kernel does not take waits sealed for the writer
// (sealed_through.go): the same must hold.
func TestHeartbeatsDuringFlood(t *testing.T) {
	for _, tr := range []string{"tcp", "tls+tcp", "curve+tcp"} {
		t.Run(tr, func(t *testing.T) { testHeartbeatsDuringFlood(t, tr) })
	}
}

func testHeartbeatsDuringFlood(t *testing.T, tr string) {
	testutil.CheckGoroutines(t)
	hb := []socket.Option{socket.HeartbeatInterval(50 * time.Millisecond), socket.HeartbeatTimeout(10 * time.Second)}
	url, lopts, dopts := pollingEnds(t, tr)
	q := must(pull.New(append(lopts, hb...)...))
	defer q.Close()
	addr := must(q.Listen(url)).URL()
	p := must(push.New(append(append(dopts, hb...), socket.DialDialect(socket.DialectZMTP))...))
	defer p.Close()
	events := q.Events(16)
	must(p.Dial(addr))
	waitFor(t, "pipe up", func() bool { return q.Stats().Pipes == 1 })
	time.Sleep(70 * time.Millisecond) // PINGs both ways before the flood

	msgs := 500_000
	if tr != "tcp" {
		msgs = 200_000
	}
	go func() {
		for i := range msgs {
			m := socket.NewMessage(8 + i%100)
			binary.BigEndian.PutUint64(m.Body, uint64(i))
			if p.Send(m) != nil {
				return
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := range msgs {
		m, err := q.RecvContext(ctx)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if got := binary.BigEndian.Uint64(m.Body); got != uint64(i) || len(m.Body) != 8+i%100 {
			t.Fatalf("message %d: got number %d, %d bytes", i, got, len(m.Body))
		}
		m.Free()
		if i%1024 == 0 {
			// A receiver that falls behind now and then: the sender's
			// writes then leave rests for its writer.
			time.Sleep(300 * time.Microsecond)
		}
		select {
		case e := <-events:
			if e.Type == socket.EventDisconnected {
				t.Fatalf("after %d messages: %v", i, e)
			}
		default:
		}
	}
}

// TestPingsKeepChunkedReading checks that a ZMTP pipe reading in chunks
// answers PINGs between messages itself, each with a PONG carrying its
// context, and goes on reading in chunks: at the first PING it handed the
// stream to the codec for good, and a ZMTP pull fed by a peer with
// heartbeats on received 64 B messages at a third of the rate.
func TestPingsKeepChunkedReading(t *testing.T) {
	testutil.CheckGoroutines(t)
	s := must(pull.New())
	defer s.Close()
	l := must(s.Listen("tcp://127.0.0.1:0"))
	c, err := net.Dial("tcp", strings.TrimPrefix(l.URL(), "tcp://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var got bytes.Buffer
	var mu sync.Mutex
	go func() { // what the socket says: its greeting, READY, and PONGs
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			mu.Lock()
			got.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	// PINGs a few milliseconds apart, each between messages: a pipe
	// answers every one that does not find PONGs already waiting.
	const msgs, every = 1000, 100
	if _, err := c.Write(append(greeting(3, 1, "NULL"), readyPush()...)); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < msgs; i += every {
		var out []byte
		for j := i; j < i+every; j++ {
			out = zmtp.AppendFrame(out, 0, fmt.Appendf(nil, "message %d", j))
			if j == i+every/2 {
				out = zmtp.AppendPing(out, 0, fmt.Appendf(nil, "ctx%d", i))
			}
		}
		if _, err := c.Write(out); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	for i := range msgs {
		m, err := s.RecvContext(testCtx(t))
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if want := fmt.Sprintf("message %d", i); string(m.Body) != want {
			t.Fatalf("got %q, want %q", m.Body, want)
		}
		m.Free()
	}
	if !socket.ReadsChunks(s) {
		t.Error("the pipe left chunked reading at a PING")
	}
	waitFor(t, "a PONG for every PING", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for i := 0; i < msgs; i += every {
			if !bytes.Contains(got.Bytes(), zmtp.AppendPong(nil, fmt.Appendf(nil, "ctx%d", i))) {
				return false
			}
		}
		return true
	})
}

// TestDataCountsAsLifeInChunks checks that messages read in chunks count
// as the peer's life for heartbeats: a peer that sends data every few
// milliseconds but never answers a PING keeps its connection past the
// timeout, and loses it once it falls silent.
func TestDataCountsAsLifeInChunks(t *testing.T) {
	testutil.CheckGoroutines(t)
	s := must(pull.New(socket.HeartbeatInterval(20*time.Millisecond), socket.HeartbeatTimeout(100*time.Millisecond)))
	defer s.Close()
	ev := s.Events(16)
	l := must(s.Listen("tcp://127.0.0.1:0"))
	c, err := net.Dial("tcp", strings.TrimPrefix(l.URL(), "tcp://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go io.Copy(io.Discard, c) // PINGs, not answered
	if _, err := c.Write(append(greeting(3, 1, "NULL"), readyPush()...)); err != nil {
		t.Fatal(err)
	}
	for i := range 100 { // 500 ms of data, five timeouts' worth
		if _, err := c.Write(zmtp.AppendFrame(nil, 0, []byte("tick"))); err != nil {
			t.Fatal(err)
		}
		m, err := s.RecvContext(testCtx(t))
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		m.Free()
		if !socket.ReadsChunks(s) {
			t.Fatal("not reading in chunks")
		}
		time.Sleep(5 * time.Millisecond)
	}
	for len(ev) > 0 {
		if e := <-ev; e.Type == socket.EventDisconnected {
			t.Fatalf("disconnected while data flowed: %v", e)
		}
	}
	deadline := time.After(5 * time.Second) // silent now: the timeout ends it
	for {
		select {
		case e := <-ev:
			if e.Type == socket.EventDisconnected {
				if !errors.Is(e.Err, socket.ErrTimeout) {
					t.Fatalf("disconnected with %v, want a heartbeat timeout", e.Err)
				}
				return
			}
		case <-deadline:
			t.Fatal("a silent peer kept its connection")
		}
	}
}

// HeartbeatTimeout(0), as libzmq's ZMQ_HEARTBEAT_TIMEOUT of 0, sends PINGs
// and never closes the pipe for want of an answer: a peer that answers
// none keeps its connection.
func TestHeartbeatTimeoutZeroNeverCloses(t *testing.T) {
	testutil.CheckGoroutines(t)
	s := must(pull.New(socket.HeartbeatInterval(10*time.Millisecond), socket.HeartbeatTimeout(0)))
	defer s.Close()
	ev := s.Events(16)
	l := must(s.Listen("tcp://127.0.0.1:0"))
	c, err := net.Dial("tcp", strings.TrimPrefix(l.URL(), "tcp://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(append(greeting(3, 1, "NULL"), readyPush()...)); err != nil {
		t.Fatal(err)
	}
	got := make(chan int, 1)
	go func() { // count the PINGs in what comes, answer none
		b, _ := io.ReadAll(c)
		got <- bytes.Count(b, []byte("\x04PING"))
	}()
	time.Sleep(300 * time.Millisecond)
	for len(ev) > 0 {
		if e := <-ev; e.Type == socket.EventDisconnected {
			t.Fatalf("disconnected with a timeout of 0: %v", e)
		}
	}
	s.Close()
	if n := <-got; n < 5 {
		t.Fatalf("%d PINGs in 300 ms at an interval of 10 ms", n)
	}
}

// TestIdleHeartbeatsNoAllocs: an idle ZMTP connection heartbeating both
// ways (PINGs every millisecond from each side, each answered by a PONG)
// allocates nothing per heartbeat, so that a server with many idle
// connections does not feed its garbage collector with them.
func TestIdleHeartbeatsNoAllocs(t *testing.T) {
	hb := []socket.Option{socket.HeartbeatInterval(time.Millisecond), socket.HeartbeatTimeout(10 * time.Second)}
	rx := must(pull.New(hb...))
	tx := must(push.New(append(hb, socket.DialDialect(socket.DialectZMTP))...))
	closeAll(t, tx, rx)
	must(tx.Dial(must(rx.Listen(testutil.URL(t, "tcp"))).URL()))
	waitPipes(t, rx, 1)
	time.Sleep(20 * time.Millisecond) // the watchdogs' first runs
	seen := [2]uint64{socket.ZMTPFramesSeen(rx), socket.ZMTPFramesSeen(tx)}
	// A watchdog runs at most every 10 ms: each run spans a PING or two
	// from each side, and their PONGs.
	testutil.AllocsBelow(t, 20, 1, "per 10 ms of heartbeats", func() { time.Sleep(10 * time.Millisecond) })
	for i, s := range []*socket.Socket{rx, tx} {
		if n := socket.ZMTPFramesSeen(s) - seen[i]; n < 20 {
			t.Errorf("side %d read %d commands in 200 ms of heartbeats", i, n)
		}
	}
}
