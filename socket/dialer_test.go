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

// dialGoroutines counts the goroutines running a dialer's loop: dial, or
// run as it was called when each dialer kept a goroutine for good.
func dialGoroutines() int {
	return goroutinesIn("socket.(*Dialer).dial(", "socket.(*Dialer).run(")
}

// goroutinesIn counts the goroutines whose stack holds any of funcs.
func goroutinesIn(funcs ...string) int {
	buf := make([]byte, 4<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		for _, f := range funcs {
			if strings.Contains(g, f) {
				n++
				break
			}
		}
	}
	return n
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
	over := 0 // samples in a row with more than one dialing goroutine
	for accepted.Load() < 200 && time.Now().Before(deadline) {
		// A goroutine that has just handed its connection over may still
		// be returning when that connection's end starts the next one:
		// only a second goroutine that stays is wrong.
		if g := dialGoroutines(); g > 1 {
			if over++; over == 20 {
				t.Fatalf("%d dialer goroutines at once, for 20 samples in a row", g)
			}
		} else {
			over = 0
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

// TestDialerCloseTwice closes a connected dialer twice, at once from two
// goroutines, and after its socket: each Close returns, none panics.
func TestDialerCloseTwice(t *testing.T) {
	testutil.CheckGoroutines(t)
	q := must(pull.New())
	defer q.Close()
	addr := must(q.Listen(testutil.URL(t, "tcp"))).URL()

	p := must(push.New())
	d := must(p.Dial(addr))
	waitFor(t, "connected", func() bool { return p.Stats().Pipes == 1 })
	done := make(chan struct{})
	for range 2 {
		go func() { d.Close(); done <- struct{}{} }()
	}
	<-done
	<-done
	d.Close()
	p.Close()

	p = must(push.New())
	d = must(p.Dial(addr))
	waitFor(t, "connected again", func() bool { return p.Stats().Pipes == 1 })
	p.Close()
	d.Close() // after the socket: its connection lingered and went
}

// TestDialerCloseWhileConnectionEnds closes a dialer just as its
// connection ends from the other side, many times: whichever comes first,
// the dialer stops once and nothing is left running.
func TestDialerCloseWhileConnectionEnds(t *testing.T) {
	testutil.CheckGoroutines(t)
	for i := range 50 {
		q := must(pull.New())
		addr := must(q.Listen(testutil.URL(t, "tcp"))).URL()
		p := must(push.New(socket.ReconnectInterval(time.Millisecond)))
		d := must(p.Dial(addr))
		waitFor(t, "connected", func() bool { return p.Stats().Pipes == 1 })
		done := make(chan struct{}, 2)
		go func() { q.Close(); done <- struct{}{} }()
		go func() {
			if i%2 == 1 {
				time.Sleep(time.Duration(i%5) * 100 * time.Microsecond)
			}
			d.Close()
			done <- struct{}{}
		}()
		for range 2 {
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatalf("round %d: Close hangs", i)
			}
		}
		p.Close()
	}
}
