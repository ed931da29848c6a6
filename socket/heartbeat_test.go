package socket_test

import (
	"context"
	"encoding/binary"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/socket"
)

// TestHeartbeatsDuringFlood checks that PINGs and PONGs sent while a
// stream floods the connection never land inside a frame. A sender that
// writes its own full queues leaves what the connection does not take to
// its writer goroutine; a command waiting for that writer was written
// before that rest, cutting a frame in two: the receiver closed the
// connection ("reserved frame flag bits set"), messages were lost, and
// this test failed in each of its first runs.
func TestHeartbeatsDuringFlood(t *testing.T) {
	testutil.CheckGoroutines(t)
	hb := []socket.Option{socket.HeartbeatInterval(50 * time.Millisecond), socket.HeartbeatTimeout(10 * time.Second)}
	q := must(pull.New(hb...))
	defer q.Close()
	addr := must(q.Listen(testutil.URL(t, "tcp"))).URL()
	p := must(push.New(append(hb, socket.DialDialect(socket.DialectZMTP))...))
	defer p.Close()
	events := q.Events(16)
	must(p.Dial(addr))
	waitFor(t, "pipe up", func() bool { return q.Stats().Pipes == 1 })
	time.Sleep(70 * time.Millisecond) // PINGs both ways before the flood

	const msgs = 500_000
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
