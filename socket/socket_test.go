package socket_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/streamtest"
	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/pub"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/pattern/respondent"
	"github.com/mqwire/mqwire/pattern/sub"
	"github.com/mqwire/mqwire/pattern/surveyor"
	"github.com/mqwire/mqwire/socket"
	"github.com/mqwire/mqwire/wire/sp"
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
	if !errors.Is(err, socket.ErrAddrInUse) || !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("Listen on a taken port: %v, want ErrAddrInUse and EADDRINUSE", err)
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

// Listener.Close stops accepting but leaves the pipes it accepted up; the
// address is free again afterwards, and a second Close is harmless. The
// dialer's pipe reports its end (Pipe.Done) once the peer's socket closes,
// with no error (Pipe.Err), as the close was clean.
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
			if err := ln.Close(); err != nil {
				t.Fatalf("Listener.Close: %v", err)
			}
			if err := ln.Close(); err != nil {
				t.Fatalf("second Listener.Close: %v", err)
			}
			send(t, p, "after") // the accepted pipe is still up
			m, err := q.RecvContext(testCtx(t))
			if err != nil || string(m.Body) != "after" {
				t.Fatalf("after Listener.Close: %v %v", m, err)
			}
			// The address can be bound again.
			r := must(pull.New())
			defer r.Close()
			if _, err := r.Listen(ln.URL()); err != nil {
				t.Fatalf("listen again on %s: %v", ln.URL(), err)
			}
			// The pipe the message came on ends when q closes; its sender
			// side (the dialer's pipe) reports it.
			pp := p.PipeStats()
			if len(pp) != 1 {
				t.Fatalf("%d pipes on the dialing side", len(pp))
			}
			pipe := p.Pipe(pp[0].ID)
			if pipe == nil || pipe.Err() != nil {
				t.Fatalf("open pipe %v, Err %v", pipe, pipe.Err())
			}
			q.Close()
			select {
			case <-pipe.Done():
			case <-time.After(timeout):
				t.Fatal("the dialer's pipe did not end with its peer")
			}
			if err := pipe.Err(); err != nil {
				t.Errorf("Err() = %v after the peer closed cleanly", err)
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
	var flat, grown []time.Time
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); flat = attempts(socket.ReconnectInterval(5 * time.Millisecond)) }()
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
	wait := 5 * time.Millisecond
	for i := 1; i < len(grown); i++ {
		if gap := grown[i].Sub(grown[i-1]); gap < wait/2-time.Millisecond {
			t.Errorf("attempt %d came %v after the one before, want at least %v", i, gap, wait/2)
		}
		wait = min(2*wait, 160*time.Millisecond)
	}
}

func TestTimeouts(t *testing.T) {
	testutil.CheckGoroutines(t)
	const d = 30 * time.Millisecond
	q := must(pull.New(socket.RecvTimeout(d)))
	p := must(push.New(socket.SendTimeout(d))) // no peer: Send waits
	closeAll(t, p, q)
	start := time.Now()
	_, rerr := q.Recv()
	if time.Since(start) < d {
		t.Errorf("Recv gave up after %v", time.Since(start))
	}
	start = time.Now()
	serr := p.SendBytes([]byte("x"))
	if time.Since(start) < d {
		t.Errorf("Send gave up after %v", time.Since(start))
	}
	for what, err := range map[string]error{"Recv": rerr, "Send": serr} {
		if !errors.Is(err, socket.ErrTimeout) || !errors.Is(err, os.ErrDeadlineExceeded) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s: %v does not match ErrTimeout, os.ErrDeadlineExceeded and context.DeadlineExceeded", what, err)
		}
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("%s: %v is not a net.Error with Timeout", what, err)
		}
	}
	// A context deadline is a timeout too.
	c, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if _, err := q.RecvContext(c); !errors.Is(err, socket.ErrTimeout) {
		t.Errorf("RecvContext past its deadline: %v", err)
	}
}

func TestContextCancel(t *testing.T) {
	testutil.CheckGoroutines(t)
	q := must(pull.New())
	p := must(push.New())
	closeAll(t, p, q)
	c, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	if _, err := q.RecvContext(c); !errors.Is(err, context.Canceled) || errors.Is(err, socket.ErrTimeout) {
		t.Errorf("RecvContext cancelled: %v", err)
	}
	if err := p.SendContext(c, socket.NewMessageBytes([]byte("x"))); !errors.Is(err, context.Canceled) {
		t.Errorf("SendContext cancelled: %v", err)
	}
	// Cancelled while waiting, too.
	c2, cancel2 := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel2)
	if err := p.SendContext(c2, socket.NewMessageBytes([]byte("x"))); !errors.Is(err, context.Canceled) {
		t.Errorf("SendContext cancelled while waiting: %v", err)
	}
}

func TestCloseUnblocksAndIsIdempotent(t *testing.T) {
	testutil.CheckGoroutines(t)
	q := must(pull.New())
	p := must(push.New(socket.Linger(0)))
	must(q.Listen(testutil.URL(t, "tcp")))
	must(p.Dial(testutil.URL(t, "inproc")))
	errs := make(chan error, 2)
	go func() { _, err := q.Recv(); errs <- err }()
	go func() { errs <- p.SendBytes([]byte("nobody takes this")) }()
	time.Sleep(20 * time.Millisecond) // let both block
	if err := q.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	for range 2 {
		select {
		case err := <-errs:
			if !errors.Is(err, socket.ErrClosed) {
				t.Errorf("blocked call ended with %v, want ErrClosed", err)
			}
		case <-time.After(timeout):
			t.Fatal("Close did not unblock Send and Recv")
		}
	}
	for _, s := range []*socket.Socket{p, q} {
		if err := s.Close(); !errors.Is(err, socket.ErrClosed) {
			t.Errorf("second Close: %v, want ErrClosed", err)
		}
		if _, err := s.Listen(testutil.URL(t, "inproc")); !errors.Is(err, socket.ErrClosed) {
			t.Errorf("Listen after Close: %v", err)
		}
		if _, err := s.Dial(testutil.URL(t, "inproc")); !errors.Is(err, socket.ErrClosed) {
			t.Errorf("Dial after Close: %v", err)
		}
	}
	if err := p.SendBytes([]byte("x")); !errors.Is(err, socket.ErrClosed) {
		t.Errorf("Send after Close: %v", err)
	}
	if _, err := q.Recv(); !errors.Is(err, socket.ErrClosed) {
		t.Errorf("Recv after Close: %v", err)
	}
}

// rawListener listens on tcp for one mqwire dialer and plays the peer by
// hand (speaking protocol proto).
func rawListener(t *testing.T, proto uint16) (string, <-chan *streamtest.Peer) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	ch := make(chan *streamtest.Peer, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		p := streamtest.NewPeer(c, sp.FramingTCP, c.RemoteAddr().String())
		t.Cleanup(func() { p.Close() })
		if _, err := p.Handshake(proto); err != nil {
			t.Errorf("raw peer handshake: %v", err)
		}
		ch <- p
	}()
	return "tcp://" + l.Addr().String(), ch
}

// fillQueue sends body on p until a send times out: the pipe's queue and the
// connection's buffers are then full. It returns how many were taken.
func fillQueue(t *testing.T, p *socket.Socket, body []byte) int {
	t.Helper()
	n := 0
	for {
		c, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		err := p.SendContext(c, socket.NewMessageBytes(body))
		cancel()
		if errors.Is(err, socket.ErrTimeout) {
			return n
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
		if n > 10000 {
			t.Fatal("the queue never fills")
		}
	}
}

func TestLingerZeroDropsQueued(t *testing.T) {
	testutil.CheckGoroutines(t)
	addr, peers := rawListener(t, sp.ProtoPull0)
	p := must(push.New(socket.Linger(0), socket.SendHWM(8)))
	must(p.Dial(addr))
	<-peers // connected; it never reads
	waitPipes(t, p, 1)
	sent := fillQueue(t, p, make([]byte, 256<<10))
	start := time.Now()
	p.Close()
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close with linger 0 took %v", d)
	}
	st := p.Stats()
	dropped := st.Dropped(socket.DropClosed)
	t.Logf("sent %d, written %d, dropped %d", sent, st.MessagesOut, dropped)
	if dropped == 0 {
		t.Errorf("nothing counted as dropped at close (%d sent, %d written)", sent, st.MessagesOut)
	}
	if st.MessagesOut+dropped != uint64(sent) {
		t.Errorf("%d written + %d dropped, want the %d sent", st.MessagesOut, dropped, sent)
	}
}

func TestLingerFlushesQueued(t *testing.T) {
	testutil.CheckGoroutines(t)
	addr, peers := rawListener(t, sp.ProtoPull0)
	p := must(push.New(socket.Linger(10*time.Second), socket.SendHWM(8)))
	must(p.Dial(addr))
	peer := <-peers
	waitPipes(t, p, 1)
	body := bytes.Repeat([]byte("linger"), 40<<10)
	sent := fillQueue(t, p, body)
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		p.Close()
	}()
	for i := range sent {
		m, err := peer.ReadMsg(1 << 30)
		if err != nil {
			t.Fatalf("message %d of %d: %v", i, sent, err)
		}
		if !bytes.Equal(m, body) {
			t.Fatalf("message %d corrupted", i)
		}
	}
	<-closed
	if err := peer.WaitClosed(timeout); err != nil {
		t.Error(err)
	}
	st := p.Stats()
	if st.MessagesOut != uint64(sent) || st.TotalDrops() != 0 {
		t.Errorf("sent %d: written %d, dropped %d", sent, st.MessagesOut, st.TotalDrops())
	}
}

func TestIPCStaleSocketFile(t *testing.T) {
	testutil.CheckGoroutines(t)
	path := filepath.Join(testutil.ShortTempDir(t), "stale.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
	if fi, err := os.Lstat(path); err != nil || fi.Mode()&os.ModeSocket == 0 {
		t.Fatalf("no stale socket file: %v", err)
	}
	q := must(pull.New())
	p := must(push.New())
	closeAll(t, p, q)
	if _, err := q.Listen("ipc://" + path); err != nil {
		t.Fatalf("Listen over a stale socket file: %v", err)
	}
	must(p.Dial("ipc://" + path))
	send(t, p, "fresh")
	if got := recv(t, q); got != "fresh" {
		t.Fatalf("got %q", got)
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

func TestStatsAddUp(t *testing.T) {
	// Checked here: the parallel subtests share the goroutine count.
	testutil.CheckGoroutines(t)
	for _, tr := range testutil.Transports {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			q := must(pull.New())
			closeAll(t, q)
			l := must(q.Listen(testutil.URL(t, tr)))
			var ps []*socket.Socket
			for range 2 {
				p := must(push.New())
				must(p.Dial(l.URL()))
				ps = append(ps, p)
			}
			closeAll(t, ps...)
			waitPipes(t, q, 2)
			var want [2]struct{ n, bytes uint64 }
			for i := range 30 {
				k := i % 2
				body := bytes.Repeat([]byte{'x'}, i*37)
				send(t, ps[k], string(body))
				want[k].n++
				want[k].bytes += uint64(len(body))
			}
			for range 30 {
				recv(t, q)
			}
			var total struct{ n, bytes uint64 }
			for k, p := range ps {
				waitFor(t, "writes", func() bool { return p.Stats().MessagesOut == want[k].n })
				st := p.Stats()
				if st.MessagesOut != want[k].n || st.BytesOut != want[k].bytes || st.MessagesIn != 0 {
					t.Errorf("sender %d: %+v, want %d messages, %d bytes out", k, st.Counters, want[k].n, want[k].bytes)
				}
				pst := p.PipeStats()
				if len(pst) != 1 {
					t.Fatalf("sender %d has %d pipes", k, len(pst))
				}
				if pst[0].Counters != st.Counters {
					t.Errorf("sender %d: pipe %+v, socket %+v", k, pst[0].Counters, st.Counters)
				}
				if !pst[0].Dialed || pst[0].Peer != "pull0" || pst[0].URL != l.URL() {
					t.Errorf("sender %d pipe: %+v", k, pst[0])
				}
				total.n += want[k].n
				total.bytes += want[k].bytes
			}
			st := q.Stats()
			if st.MessagesIn != total.n || st.BytesIn != total.bytes || st.MessagesOut != 0 || st.Pipes != 2 || st.Connects != 2 {
				t.Errorf("receiver: %+v, want %d messages, %d bytes in", st, total.n, total.bytes)
			}
			var sum socket.Counters
			for _, pst := range q.PipeStats() {
				wantDialect := "sp"
				if tr == "inproc" {
					wantDialect = "inproc"
				}
				if pst.Dialed || pst.Peer != "push0" || pst.Dialect != wantDialect || pst.ID == 0 {
					t.Errorf("receiver pipe: %+v", pst)
				}
				sum.MessagesIn += pst.MessagesIn
				sum.BytesIn += pst.BytesIn
			}
			if sum.MessagesIn != total.n || sum.BytesIn != total.bytes {
				t.Errorf("pipes add up to %d messages, %d bytes", sum.MessagesIn, sum.BytesIn)
			}
			// Figures of closed pipes stay in the socket's.
			ps[0].Close()
			waitPipes(t, q, 1)
			if st := q.Stats(); st.MessagesIn != total.n || st.BytesIn != total.bytes {
				t.Errorf("after a pipe closed: %+v", st.Counters)
			}
		})
	}
}

func TestEvents(t *testing.T) {
	testutil.CheckGoroutines(t)
	q := must(pull.New())
	p := must(push.New())
	qe := q.Events(16)
	pe := p.Events(16)
	next := func(ch <-chan socket.Event) socket.Event {
		t.Helper()
		select {
		case e, ok := <-ch:
			if !ok {
				t.Fatal("event channel closed")
			}
			if e.Time.IsZero() {
				t.Errorf("event %v has no time", e)
			}
			return e
		case <-time.After(timeout):
			t.Fatal("no event")
		}
		return socket.Event{}
	}
	l := must(q.Listen(testutil.URL(t, "tcp")))
	if e := next(qe); e.Type != socket.EventListening || e.URL != l.URL() {
		t.Errorf("got %v, want listening on %s", e, l.URL())
	}
	must(p.Dial(l.URL()))
	ec := next(pe)
	if ec.Type != socket.EventConnected || ec.URL != l.URL() || ec.Pipe == 0 || ec.Remote == "" {
		t.Errorf("got %v, want connected", ec)
	}
	ea := next(qe)
	if ea.Type != socket.EventAccepted || ea.Pipe == 0 {
		t.Errorf("got %v, want accepted", ea)
	}
	p.Close()
	if e := next(qe); e.Type != socket.EventDisconnected || e.Pipe != ea.Pipe || e.Err != nil {
		t.Errorf("got %v, want a clean disconnect of pipe %d", e, ea.Pipe)
	}
	if e := next(pe); e.Type != socket.EventDisconnected || e.Pipe != ec.Pipe {
		t.Errorf("got %v, want the dialer's disconnect", e)
	}
	if _, ok := <-pe; ok {
		t.Error("events of a closed socket still open")
	}
	q.Close()
	if _, ok := <-qe; ok {
		t.Error("events of a closed socket still open")
	}
	if _, ok := <-q.Events(1); ok {
		t.Error("Events after Close gives an open channel")
	}
	for _, typ := range []socket.EventType{socket.EventListening, socket.EventConnected, socket.EventAccepted,
		socket.EventDisconnected, socket.EventHandshakeFailed, socket.EventDialFailed, socket.EventPipeRejected} {
		if s := typ.String(); s == "" || strings.HasPrefix(s, "event(") {
			t.Errorf("event type %d has no name", typ)
		}
	}
}

func TestOptionsCheckedWhenSet(t *testing.T) {
	q := must(pull.New())
	p := must(push.New())
	ps := must(pub.New())
	ss := must(sub.New())
	closeAll(t, q, p, ps, ss)
	for _, tc := range []struct {
		s    *socket.Socket
		o    socket.Option
		want error
	}{
		{p, socket.SendHWM(0), socket.ErrBadOption},
		{p, socket.SendHWM(-1), socket.ErrBadOption},
		{p, socket.SendHWM(1 << 30), socket.ErrBadOption},
		{q, socket.RecvHWM(0), socket.ErrBadOption},
		{p, socket.SendTimeout(-time.Second), socket.ErrBadOption},
		{q, socket.RecvTimeout(-time.Second), socket.ErrBadOption},
		{p, socket.ReconnectInterval(0), socket.ErrBadOption},
		{p, socket.ReconnectIntervalMax(-1), socket.ErrBadOption},
		{q, socket.MaxRecvSize(-1), socket.ErrBadOption},
		{q, socket.HandshakeTimeout(0), socket.ErrBadOption},
		{q, socket.Option{}, socket.ErrBadOption},
		{q, socket.SendHWM(10), socket.ErrOptionNotApplicable},
		{p, socket.RecvHWM(10), socket.ErrOptionNotApplicable},
		{ss, socket.SendTimeout(time.Second), socket.ErrOptionNotApplicable},
		{ps, socket.RecvTimeout(time.Second), socket.ErrOptionNotApplicable},
		{p, surveyor.SurveyTime(time.Second), socket.ErrOptionNotApplicable},
		{q, sub.Subscribe(nil), socket.ErrOptionNotApplicable},
	} {
		if err := tc.s.SetOption(tc.o); !errors.Is(err, tc.want) {
			t.Errorf("%s on %s: %v, want %v", tc.o, tc.s.Info().Name, err, tc.want)
		}
	}
	for _, o := range []socket.Option{socket.RecvHWM(5), socket.RecvTimeout(time.Second), socket.Linger(-1),
		socket.ReconnectInterval(time.Millisecond), socket.ReconnectIntervalMax(time.Second),
		socket.MaxRecvSize(0), socket.HandshakeTimeout(time.Second)} {
		if err := q.SetOption(o); err != nil {
			t.Errorf("%s: %v", o, err)
		}
	}
	if q.RecvHWM() != 5 {
		t.Errorf("RecvHWM %d after setting 5", q.RecvHWM())
	}
	must(q.Listen(testutil.URL(t, "inproc")))
	if err := q.SetOption(socket.RecvHWM(10)); !errors.Is(err, socket.ErrBadState) {
		t.Errorf("RecvHWM after Listen: %v, want ErrBadState", err)
	}
	// The first failing option stops the rest.
	if err := p.SetOption(socket.SendHWM(7), socket.SendHWM(0), socket.SendTimeout(-1)); !errors.Is(err, socket.ErrBadOption) {
		t.Errorf("SetOption: %v", err)
	}
	if _, err := push.New(socket.SendHWM(0)); !errors.Is(err, socket.ErrBadOption) {
		t.Errorf("New with a bad option: %v", err)
	}
}

func TestPubDropsForSlowSubscriber(t *testing.T) {
	testutil.CheckGoroutines(t)
	p := must(pub.New(socket.SendHWM(8)))
	good := must(sub.New(sub.Subscribe(nil)))
	closeAll(t, p, good)
	addr := must(p.Listen("tcp://127.0.0.1:0")).URL()
	must(good.Dial(addr))
	waitPipes(t, p, 1)
	goodPipe := p.PipeStats()[0].ID
	slow, err := streamtest.DialPeer(addr, timeout)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	if _, err := slow.Handshake(sp.ProtoSub0); err != nil {
		t.Fatal(err)
	}
	waitPipes(t, p, 2)
	const n = 1500
	body := make([]byte, 16<<10)
	for i := range n {
		copy(body, fmt.Sprintf("%08d", i))
		send(t, p, string(body))
		m, err := good.RecvContext(testCtx(t))
		if err != nil {
			t.Fatalf("good subscriber, message %d: %v", i, err)
		}
		if got := string(m.Body[:8]); got != fmt.Sprintf("%08d", i) {
			t.Fatalf("good subscriber got %q, want %d", got, i)
		}
		m.Free()
	}
	st := p.Stats()
	if st.Dropped(socket.DropQueueFull) == 0 {
		t.Fatalf("no drop counted for the subscriber that does not read: %+v", st.Counters)
	}
	var sum uint64
	for _, ps := range p.PipeStats() {
		sum += ps.Dropped(socket.DropQueueFull)
		if ps.ID == goodPipe && ps.TotalDrops() != 0 {
			t.Errorf("the good subscriber's pipe dropped %d", ps.TotalDrops())
		}
		if ps.ID != goodPipe && ps.Dropped(socket.DropQueueFull) == 0 {
			t.Errorf("the slow subscriber's pipe dropped nothing")
		}
	}
	if sum != st.Dropped(socket.DropQueueFull) {
		t.Errorf("pipes dropped %d, socket counts %d", sum, st.Dropped(socket.DropQueueFull))
	}
	t.Logf("slow subscriber: %d of %d dropped", st.Dropped(socket.DropQueueFull), n)
}

func TestSurveyorLateAnswerCounted(t *testing.T) {
	testutil.CheckGoroutines(t)
	s := must(surveyor.New(surveyor.SurveyTime(50 * time.Millisecond)))
	r := must(respondent.New())
	closeAll(t, s, r)
	l := must(s.Listen(testutil.URL(t, "inproc")))
	must(r.Dial(l.URL()))
	waitPipes(t, s, 1)
	send(t, s, "anyone?")
	if got := recv(t, r); got != "anyone?" {
		t.Fatalf("got %q", got)
	}
	if _, err := s.RecvContext(testCtx(t)); !errors.Is(err, socket.ErrTimeout) {
		t.Fatalf("survey over: %v, want ErrTimeout", err)
	}
	send(t, r, "too late")
	waitFor(t, "late answer counted", func() bool { return s.Stats().Dropped(socket.DropLate) == 1 })
	if st := s.Stats(); st.MessagesIn != 1 || st.TotalDrops() != 1 {
		t.Errorf("stats %+v", st.Counters)
	}
}

// heldPull is a pull0 protocol whose AddPipe waits until release is closed.
type heldPull struct {
	adding  chan struct{} // closed when AddPipe starts
	release chan struct{}
	recvq   *socket.RecvQueue
}

func (p *heldPull) Info() socket.ProtocolInfo {
	return socket.ProtocolInfo{Self: sp.ProtoPull0, Peer: sp.ProtoPush0, Name: "pull0", PeerName: "push0", CanRecv: true}
}
func (p *heldPull) Init(s *socket.Socket) { p.recvq = socket.NewLazyRecvQueue(s) }
func (p *heldPull) AddPipe(*socket.Pipe) error {
	close(p.adding)
	<-p.release
	return nil
}
func (p *heldPull) RemovePipe(*socket.Pipe)                    {}
func (p *heldPull) Deliver(pp *socket.Pipe, m *socket.Message) { p.recvq.Put(pp, m) }
func (p *heldPull) Send(context.Context, *socket.Message) error {
	return socket.ErrNotSupported
}
func (p *heldPull) Recv(ctx context.Context) (*socket.Message, error) { return p.recvq.Get(ctx) }

// TestStatsPipesCountsTakenPipes: Stats counts a pipe as connected only
// once the pattern has taken it (AddPipe returned), so that a program that
// waits for Pipes before sending (a publisher waiting for its subscriber)
// does not send while the pattern cannot yet use the pipe. A PUB whose
// Stats counted the pipe before its AddPipe dropped the first message.
func TestStatsPipesCountsTakenPipes(t *testing.T) {
	testutil.CheckGoroutines(t)
	hp := &heldPull{adding: make(chan struct{}), release: make(chan struct{})}
	q := must(socket.New(hp))
	p := must(push.New())
	closeAll(t, p, q)
	url := testutil.URL(t, "inproc")
	must(q.Listen(url))
	must(p.Dial(url))
	select {
	case <-hp.adding:
	case <-time.After(timeout):
		t.Fatal("AddPipe not called")
	}
	if n := q.Stats().Pipes; n != 0 {
		t.Errorf("Stats().Pipes = %d while AddPipe runs, want 0", n)
	}
	close(hp.release)
	waitPipes(t, q, 1)
	q.Close()
	if n := q.Stats().Pipes; n != 0 {
		t.Errorf("Stats().Pipes = %d after Close, want 0", n)
	}
}
