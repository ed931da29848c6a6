package socket_test

import (
	"io"
	"net"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/socket"
)

// dialGoroutines counts the goroutines running a dialer's loop.
func dialGoroutines() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Count(string(buf), "socket.(*Dialer).dial(")
}

// TestIdleDialerHasNoGoroutine checks that a dialer whose connection is up
// holds no goroutine (an idle connection costs one less), and that it gets
// one again, and reconnects, when the connection ends.
func TestIdleDialerHasNoGoroutine(t *testing.T) {
	testutil.CheckGoroutines(t)
	const n = 20
	q := must(pull.New())
	addr := must(q.Listen(testutil.URL(t, "tcp"))).URL()
	base := dialGoroutines() // other tests' sockets, if any
	g0 := runtime.NumGoroutine()
	var dialers []*socket.Socket
	for range n {
		p := must(push.New(socket.ReconnectInterval(5 * time.Millisecond)))
		defer p.Close()
		must(p.Dial(addr))
		dialers = append(dialers, p)
	}
	up := func() bool {
		for _, p := range dialers {
			if p.Stats().Pipes != 1 {
				return false
			}
		}
		return true
	}
	waitFor(t, "every dialer connected", up)
	waitFor(t, "no dialer goroutine while connected", func() bool { return dialGoroutines() <= base })
	// What is left is a reader and a writer per end of each connection.
	waitFor(t, "four goroutines per connection", func() bool { return runtime.NumGoroutine()-g0 == 4*n })

	// The listener goes: every dialer dials again, with a goroutine each.
	q.Close()
	waitFor(t, "dialers dialing again", func() bool { return dialGoroutines() >= base+n })

	q = must(pull.New())
	defer q.Close()
	must(q.Listen(addr))
	waitFor(t, "every dialer reconnected", up)
	waitFor(t, "no dialer goroutine once reconnected", func() bool { return dialGoroutines() <= base })
	for _, p := range dialers {
		if st := p.Stats(); st.Reconnects != 1 {
			t.Errorf("Reconnects %d, want 1", st.Reconnects)
		}
	}
	send(t, dialers[0], "after")
	if got := recv(t, q); got != "after" {
		t.Fatalf("got %q", got)
	}
}

// TestDialerConnectionEndsAtOnce has a peer that completes the SP handshake
// and hangs up at once, again and again: a connection may end before the
// dialer that made it has taken it as its own. The dialer must go on
// reconnecting, with one goroutine at a time, and close cleanly.
func TestDialerConnectionEndsAtOnce(t *testing.T) {
	testutil.CheckGoroutines(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var accepted atomic.Int64
	go func() {
		pullHeader := []byte{0, 'S', 'P', 0, 0x00, 0x51, 0, 0}
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Write(pullHeader)
			io.ReadFull(c, make([]byte, 8)) // the push's header
			accepted.Add(1)
			c.Close()
		}
	}()
	p := must(push.New(socket.ReconnectInterval(time.Millisecond)))
	must(p.Dial("tcp://" + l.Addr().String()))
	deadline := time.Now().Add(10 * time.Second)
	for accepted.Load() < 200 && time.Now().Before(deadline) {
		if g := dialGoroutines(); g > 1 {
			t.Fatalf("%d dialer goroutines at once", g)
		}
		time.Sleep(time.Millisecond)
	}
	if got := accepted.Load(); got < 200 {
		t.Fatalf("only %d connections in 10 s", got)
	}
	if st := p.Stats(); st.Connects < 100 || st.Reconnects == 0 {
		t.Errorf("Connects %d, Reconnects %d", st.Connects, st.Reconnects)
	}
	done := make(chan struct{})
	go func() { p.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close hangs")
	}
}
