package socket_test

import (
	"fmt"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/neterr"
	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/pair"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/socket"
)

// hookLog records what a pipe hook saw, one line a call.
type hookLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *hookLog) add(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *hookLog) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// TestPipeHookSeesEveryPipe checks the hook's three calls for each pipe, in
// order, with the pipe's URL, side and addresses, on both ends, over every
// transport that has addresses and inproc.
func TestPipeHookSeesEveryPipe(t *testing.T) {
	testutil.CheckGoroutines(t)
	for _, tr := range []string{"inproc", "ipc", "tcp"} {
		t.Run(tr, func(t *testing.T) {
			var ll, dl hookLog
			hook := func(l *hookLog) socket.Option {
				return socket.PipeHook(func(ev socket.PipeHookEvent, p *socket.Pipe) {
					l.add("%v dialed=%v url-ok=%v", ev, p.Dialed(), p.URL() != "")
					if tr == "tcp" {
						if _, _, err := net.SplitHostPort(p.RemoteAddr()); err != nil {
							t.Errorf("%v: remote address %q: %v", ev, p.RemoteAddr(), err)
						}
						if _, _, err := net.SplitHostPort(p.LocalAddr()); err != nil {
							t.Errorf("%v: local address %q: %v", ev, p.LocalAddr(), err)
						}
					}
				})
			}
			q := must(pull.New(hook(&ll)))
			defer q.Close()
			url := must(q.Listen(testutil.URL(t, tr))).URL()
			p := must(push.New(hook(&dl)))
			d := must(p.Dial(url, socket.SynchronousDial()))
			send(t, p, "hello")
			if got := recv(t, q); got != "hello" {
				t.Fatalf("got %q", got)
			}
			d.Close()
			waitPipes(t, q, 0)
			waitFor(t, "both ends removed", func() bool { return len(ll.get()) == 3 && len(dl.get()) == 3 })
			want := func(dialed bool) []string {
				var w []string
				for _, ev := range []string{"adding", "added", "removed"} {
					w = append(w, fmt.Sprintf("%s dialed=%v url-ok=true", ev, dialed))
				}
				return w
			}
			if got := ll.get(); !slices.Equal(got, want(false)) {
				t.Errorf("listener's hook saw %q, want %q", got, want(false))
			}
			if got := dl.get(); !slices.Equal(got, want(true)) {
				t.Errorf("dialer's hook saw %q, want %q", got, want(true))
			}
			p.Close()
		})
	}
}

// TestPipeHookRefuses checks that a pipe closed in PipeAdding is never
// added (PipeRemoved follows, PipeAdded does not), that the peer's dialer
// tries again, and that the pipe the hook lets in works.
func TestPipeHookRefuses(t *testing.T) {
	testutil.CheckGoroutines(t)
	var mu sync.Mutex
	refuse, refused, added, removed := 2, 0, 0, 0
	q := must(pull.New(socket.PipeHook(func(ev socket.PipeHookEvent, p *socket.Pipe) {
		mu.Lock()
		defer mu.Unlock()
		switch ev {
		case socket.PipeAdding:
			if refuse > 0 {
				refuse--
				refused++
				p.Close(nil)
			}
		case socket.PipeAdded:
			added++
		case socket.PipeRemoved:
			removed++
		}
	})))
	defer q.Close()
	url := must(q.Listen(testutil.URL(t, "tcp"))).URL()
	p := must(push.New(socket.ReconnectInterval(10 * time.Millisecond)))
	defer p.Close()
	must(p.Dial(url))
	waitPipes(t, q, 1)
	send(t, p, "after two refusals")
	if got := recv(t, q); got != "after two refusals" {
		t.Fatalf("got %q", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if refused != 2 || added != 1 || removed != 2 {
		t.Errorf("refused %d, added %d, removed %d; want 2, 1 and 2", refused, added, removed)
	}
}

// TestSynchronousDial checks that such a Dial fails at once, with the
// attempt's error, when nobody listens, and leaves no dialer behind; that
// it returns with the connection up when the peer is there; and that a
// handshake that fails (a peer of another protocol) fails it too.
func TestSynchronousDial(t *testing.T) {
	testutil.CheckGoroutines(t)
	p := must(push.New())
	defer p.Close()
	url := testutil.URL(t, "tcp")
	if _, err := p.Dial(url, socket.SynchronousDial()); !neterr.ConnRefused(err) {
		t.Fatalf("dial with no listener: %v, want ECONNREFUSED", err)
	}
	if _, err := p.Dial(testutil.URL(t, "inproc"), socket.SynchronousDial()); err == nil {
		t.Fatal("inproc dial with no listener succeeded")
	}
	if n := p.Stats().Pipes; n != 0 {
		t.Fatalf("%d pipes after failed dials", n)
	}

	q := must(pull.New())
	defer q.Close()
	url = must(q.Listen(url)).URL()
	must(p.Dial(url, socket.SynchronousDial()))
	if n := p.Stats().Pipes; n != 1 {
		t.Fatalf("%d pipes after Dial returned, want 1", n)
	}

	// A peer of the wrong protocol fails the handshake.
	c := must(pair.New())
	defer c.Close()
	if _, err := c.Dial(url, socket.SynchronousDial()); err == nil {
		t.Error("pair dialing a pull: Dial succeeded")
	} else {
		t.Logf("pair dialing a pull: %v", err)
	}
}
