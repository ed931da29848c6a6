package socket_test

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/neterr"
	"github.com/mqwire/mqwire/internal/streamtest"
	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/socket"
)

func TestListenTCPPortZero(t *testing.T) {
	testutil.CheckGoroutines(t)
	s := must(pull.New())
	defer s.Close()
	w := streamtest.Watch(s)
	l := must(s.Listen("tcp://127.0.0.1:0"))
	u, err := url.Parse(l.URL())
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme != "tcp" || u.Hostname() != "127.0.0.1" {
		t.Fatalf("bound URL %q", l.URL())
	}
	if port, err := strconv.Atoi(u.Port()); err != nil || port == 0 {
		t.Fatalf("bound URL %q has no port", l.URL())
	}
	e, err := w.Wait(0, timeout, streamtest.Is(socket.EventListening, ""))
	if err != nil || e.URL != l.URL() {
		t.Fatalf("listening event %v (%v), want URL %s", e, err, l.URL())
	}
	// The reported address is the one peers reach.
	p := must(push.New())
	defer p.Close()
	must(p.Dial(l.URL()))
	send(t, p, "hi")
	if got := recv(t, s); got != "hi" {
		t.Fatalf("got %q", got)
	}
}

// TestListenTCPInUse: a tcp port another socket holds gives an error that
// matches both ErrAddrInUse and the system's EADDRINUSE, which programs
// ported from libzmq look for.
func TestListenTCPInUse(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows reports WSAEADDRINUSE, not EADDRINUSE")
	}
	testutil.CheckGoroutines(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	s := must(pull.New())
	defer s.Close()
	_, err = s.Listen("tcp://" + l.Addr().String())
	if !errors.Is(err, socket.ErrAddrInUse) || !neterr.AddrInUse(err) {
		t.Fatalf("Listen on a taken port: %v, want ErrAddrInUse and EADDRINUSE", err)
	}
}

// TestListenAddrNotAvailable: an IP address of no local interface, and an
// ipc or shm path whose directory does not exist, give ErrAddrNotAvailable,
// with the system's error still wrapped (EADDRNOTAVAIL, or a missing file).
func TestListenAddrNotAvailable(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows reports WSAEADDRNOTAVAIL, not EADDRNOTAVAIL")
	}
	testutil.CheckGoroutines(t)
	s := must(pull.New())
	defer s.Close()
	missing := filepath.Join(t.TempDir(), "no-such-dir", "a.sock")
	for _, c := range []struct {
		url     string
		missing bool // the system's error is a missing file
	}{
		// 192.0.2.0/24 is TEST-NET-1 (RFC 5737): never a local address.
		{"tcp://192.0.2.1:0", false},
		{"ws://192.0.2.1:0/x", false},
		{"ipc://" + missing, true},
		{"shm://" + missing, true},
	} {
		_, err := s.Listen(c.url)
		if c.url[:3] == "shm" && runtime.GOOS != "linux" {
			if !errors.Is(err, socket.ErrNotSupported) {
				t.Errorf("Listen(%s): %v, want ErrNotSupported", c.url, err)
			}
			continue
		}
		if !errors.Is(err, socket.ErrAddrNotAvailable) || !neterr.AddrNotAvailable(err) || errors.Is(err, fs.ErrNotExist) != c.missing {
			t.Errorf("Listen(%s): %v, want ErrAddrNotAvailable wrapping the system's error", c.url, err)
		}
		if errors.Is(err, socket.ErrAddrInUse) {
			t.Errorf("Listen(%s): %v matches ErrAddrInUse too", c.url, err)
		}
	}
}

func TestTwoListenersTwoDialers(t *testing.T) {
	testutil.CheckGoroutines(t)
	s := must(pull.New())
	closeAll(t, s)
	var peers []*socket.Socket
	for _, tr := range []string{"tcp", "ipc"} {
		l := must(s.Listen(testutil.URL(t, tr)))
		p := must(push.New())
		must(p.Dial(l.URL()))
		peers = append(peers, p)
	}
	for _, tr := range []string{"inproc", "tcp"} {
		p := must(push.New())
		l := must(p.Listen(testutil.URL(t, tr)))
		must(s.Dial(l.URL()))
		peers = append(peers, p)
	}
	closeAll(t, peers...)
	waitPipes(t, s, 4)
	for i, p := range peers {
		send(t, p, fmt.Sprint("from ", i))
	}
	got := map[string]bool{}
	for range peers {
		got[recv(t, s)] = true
	}
	for i := range peers {
		if !got[fmt.Sprint("from ", i)] {
			t.Errorf("nothing from peer %d: %v", i, got)
		}
	}
	dialed := 0
	for _, ps := range s.PipeStats() {
		if ps.Dialed {
			dialed++
		}
	}
	if dialed != 2 {
		t.Errorf("%d dialed pipes, want 2", dialed)
	}
}

func TestReconnectAfterPeerRestart(t *testing.T) {
	// Checked here: the parallel subtests share the goroutine count.
	testutil.CheckGoroutines(t)
	for _, tr := range []string{"tcp", "ipc", "inproc"} {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			p := must(push.New(socket.ReconnectInterval(10 * time.Millisecond)))
			defer p.Close()
			w := streamtest.Watch(p)
			q := must(pull.New())
			addr := must(q.Listen(testutil.URL(t, tr))).URL()
			must(p.Dial(addr))
			if _, err := w.Wait(0, timeout, streamtest.Is(socket.EventConnected, "")); err != nil {
				t.Fatal(err)
			}
			send(t, p, "before")
			if got := recv(t, q); got != "before" {
				t.Fatalf("got %q", got)
			}
			from := w.Len()
			q.Close()
			if _, err := w.Wait(from, timeout, streamtest.Is(socket.EventDisconnected, "")); err != nil {
				t.Fatal(err)
			}
			q = must(pull.New())
			defer q.Close()
			must(q.Listen(addr))
			if _, err := w.Wait(from, timeout, streamtest.Is(socket.EventConnected, "")); err != nil {
				t.Fatal(err)
			}
			send(t, p, "after")
			if got := recv(t, q); got != "after" {
				t.Fatalf("got %q", got)
			}
			// The dialer counts the reconnect just after the pipe is up.
			waitFor(t, "a reconnect counted", func() bool { return p.Stats().Reconnects == 1 })
			if st := p.Stats(); st.Connects != 2 || st.Reconnects != 1 {
				t.Errorf("Connects %d, Reconnects %d; want 2 and 1", st.Connects, st.Reconnects)
			}
		})
	}
}

// freeTCPURL returns a tcp URL that nobody listens on (for a moment).
func freeTCPURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return "tcp://" + l.Addr().String()
}

// Listener.Close stops accepting and closes the pipes it accepted, as
// nng_listener_close and zmq_unbind do; a second Close is harmless. The
// dialer's pipe reports its end (Pipe.Done) with no error (Pipe.Err), as
// the close was clean; the address is free again, and the dialer connects
// to the next listener there.
func TestListenerClose(t *testing.T) {
	testutil.CheckGoroutines(t)
	for _, tr := range []string{"tcp", "ipc", "inproc"} {
		t.Run(tr, func(t *testing.T) {
			q := must(pull.New())
			defer q.Close()
			ln := must(q.Listen(testutil.URL(t, tr)))
			p := must(push.New())
			defer p.Close()
			d := must(p.Dial(ln.URL()))
			if d.URL() != ln.URL() {
				t.Errorf("Dialer.URL() = %q, want %q", d.URL(), ln.URL())
			}
			send(t, p, "before")
			if got := recv(t, q); got != "before" {
				t.Fatalf("got %q", got)
			}
			pp := p.PipeStats()
			if len(pp) != 1 {
				t.Fatalf("%d pipes on the dialing side", len(pp))
			}
			pipe := p.Pipe(pp[0].ID)
			if pipe == nil || pipe.Err() != nil {
				t.Fatalf("open pipe %v, Err %v", pipe, pipe.Err())
			}
			if err := ln.Close(); err != nil {
				t.Fatalf("Listener.Close: %v", err)
			}
			if err := ln.Close(); err != nil {
				t.Fatalf("second Listener.Close: %v", err)
			}
			select {
			case <-pipe.Done():
			case <-time.After(timeout):
				t.Fatal("the dialer's pipe did not end with its listener")
			}
			if err := pipe.Err(); err != nil {
				t.Errorf("Err() = %v after the listener closed cleanly", err)
			}
			// The address can be bound again, and the dialer comes back.
			r := must(pull.New())
			defer r.Close()
			if _, err := r.Listen(ln.URL()); err != nil {
				t.Fatalf("listen again on %s: %v", ln.URL(), err)
			}
			send(t, p, "after")
			m, err := r.RecvContext(testCtx(t))
			if err != nil || string(m.Body) != "after" {
				t.Fatalf("after Listener.Close: %v %v", m, err)
			}
		})
	}
}

// A dialer closed while its connection waits in the handshake for a peer
// that never answers stops at once, not at the handshake timeout, and the
// socket goes on (another dialer still works).
func TestDialerCloseDuringHandshake(t *testing.T) {
	testutil.CheckGoroutines(t)
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		if c, err := silent.Accept(); err == nil {
			accepted <- c
		}
	}()
	p := must(push.New(socket.HandshakeTimeout(time.Minute)))
	defer p.Close()
	d := must(p.Dial("tcp://" + silent.Addr().String()))
	select {
	case c := <-accepted:
		defer c.Close()
	case <-time.After(timeout):
		t.Fatal("the dialer did not connect")
	}
	start := time.Now()
	d.Close()
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("Dialer.Close took %v with a handshake pending (handshake timeout 1 min)", took)
	}
	q := must(pull.New())
	defer q.Close()
	ln := must(q.Listen("tcp://127.0.0.1:0"))
	must(p.Dial(ln.URL()))
	send(t, p, "after")
	if got := recv(t, q); got != "after" {
		t.Fatalf("got %q", got)
	}
}

func TestDialBeforeListen(t *testing.T) {
	// Checked here: the parallel subtests share the goroutine count.
	testutil.CheckGoroutines(t)
	for _, tr := range []string{"tcp", "ipc", "inproc"} {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			addr := testutil.URL(t, tr)
			if tr == "tcp" {
				addr = freeTCPURL(t)
			}
			p := must(push.New(socket.ReconnectInterval(10 * time.Millisecond)))
			defer p.Close()
			w := streamtest.Watch(p)
			if _, err := p.Dial(addr); err != nil {
				t.Fatalf("Dial to a peer that is not up: %v", err)
			}
			e, err := w.Wait(0, timeout, streamtest.Is(socket.EventDialFailed, ""))
			if err != nil {
				t.Fatal(err)
			}
			if e.Err == nil || e.URL != addr {
				t.Errorf("dial failure event %v", e)
			}
			q := must(pull.New())
			defer q.Close()
			must(q.Listen(addr))
			if _, err := w.Wait(0, timeout, streamtest.Is(socket.EventConnected, "")); err != nil {
				t.Fatal(err)
			}
			send(t, p, "late")
			if got := recv(t, q); got != "late" {
				t.Fatalf("got %q", got)
			}
			if st := p.Stats(); st.DialFailures == 0 || st.Connects != 1 || st.Reconnects != 0 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestReconnectBackoff(t *testing.T) {
	testutil.CheckGoroutines(t)
	const window = 600 * time.Millisecond
	attempts := func(opts ...socket.Option) []time.Time {
		s := must(push.New(opts...))
		w := streamtest.Watch(s)
		must(s.Dial(testutil.URL(t, "inproc"))) // nobody listens: every dial fails at once
		time.Sleep(window)
		s.Close()
		<-w.Done()
		var times []time.Time
		for _, e := range w.Events() {
			if e.Type == socket.EventDialFailed {
				times = append(times, e.Time)
			}
		}
		if got := uint64(len(times)); got != s.Stats().DialFailures {
			t.Errorf("%d dial failure events, DialFailures %d", got, s.Stats().DialFailures)
		}
		return times
	}
	var flat, grown, below []time.Time
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); flat = attempts(socket.ReconnectInterval(5 * time.Millisecond)) }()
	go func() {
		// A max below the interval is none: the wait stays 100 ms.
		defer wg.Done()
		below = attempts(socket.ReconnectInterval(100*time.Millisecond), socket.ReconnectIntervalMax(time.Millisecond))
	}()
	go func() {
		defer wg.Done()
		grown = attempts(socket.ReconnectInterval(5*time.Millisecond), socket.ReconnectIntervalMax(160*time.Millisecond))
	}()
	wg.Wait()
	t.Logf("in %v: %d attempts at a fixed 5 ms, %d with backoff to 160 ms", window, len(flat), len(grown))
	// Backoff waits about 5, 10, 20, 40, 80, 160, 160 ms (each jittered to
	// between half and one and a half times that): ten attempts at most in
	// the window, however fast the machine. Timers never fire early, so each
	// gap is at least half its wait: that shows the growth even on a loaded
	// machine, where every gap may be longer.
	if len(grown) < 3 || len(grown) > 13 {
		t.Errorf("%d attempts with backoff in %v", len(grown), window)
	}
	if len(flat) <= len(grown) {
		t.Errorf("%d attempts at a fixed interval, %d with backoff", len(flat), len(grown))
	}
	if len(below) > 13 { // at 100 ms, each wait at least 50 ms
		t.Errorf("%d attempts in %v at 100 ms with a max of 1 ms below it: the max shrank the wait", len(below), window)
	}
	wait := 5 * time.Millisecond
	for i := 1; i < len(grown); i++ {
		if gap := grown[i].Sub(grown[i-1]); gap < wait/2-time.Millisecond {
			t.Errorf("attempt %d came %v after the one before, want at least %v", i, gap, wait/2)
		}
		wait = min(2*wait, 160*time.Millisecond)
	}
}

func TestIPCLiveListener(t *testing.T) {
	testutil.CheckGoroutines(t)
	path := filepath.Join(testutil.ShortTempDir(t), "live.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() { // answer the liveness probe
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	q := must(pull.New())
	closeAll(t, q)
	if _, err := q.Listen("ipc://" + path); !errors.Is(err, socket.ErrAddrInUse) {
		t.Fatalf("Listen on a live foreign listener: %v, want ErrAddrInUse", err)
	}
	// And on one of ours.
	other := must(pull.New())
	closeAll(t, other)
	mine := "ipc://" + filepath.Join(filepath.Dir(path), "mine.sock")
	must(other.Listen(mine))
	if _, err := q.Listen(mine); !errors.Is(err, socket.ErrAddrInUse) {
		t.Fatalf("Listen on a live mqwire listener: %v, want ErrAddrInUse", err)
	}
	// The first listener still works.
	p := must(push.New())
	closeAll(t, p)
	must(p.Dial(mine))
	send(t, p, "still here")
	if got := recv(t, other); got != "still here" {
		t.Fatalf("got %q", got)
	}
}

func TestIPCRegularFileIsNeverRemoved(t *testing.T) {
	path := filepath.Join(testutil.ShortTempDir(t), "data.txt")
	if err := os.WriteFile(path, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	q := must(pull.New())
	closeAll(t, q)
	if _, err := q.Listen("ipc://" + path); err == nil {
		t.Fatal("Listen over a regular file succeeded")
	} else if !strings.Contains(err.Error(), "not a socket") {
		t.Logf("error: %v", err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "precious" {
		t.Fatalf("the regular file was touched: %q, %v", b, err)
	}
}
