package shm_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/bus"
	"github.com/mqwire/mqwire/pattern/dealer"
	"github.com/mqwire/mqwire/pattern/pair"
	"github.com/mqwire/mqwire/pattern/pair1"
	"github.com/mqwire/mqwire/pattern/pub"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/pattern/rep"
	"github.com/mqwire/mqwire/pattern/req"
	"github.com/mqwire/mqwire/pattern/respondent"
	"github.com/mqwire/mqwire/pattern/router"
	"github.com/mqwire/mqwire/pattern/sub"
	"github.com/mqwire/mqwire/pattern/surveyor"
	"github.com/mqwire/mqwire/socket"
	"github.com/mqwire/mqwire/transport/shm"
)

const timeout = 10 * time.Second

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func shmURL(t testing.TB) string {
	return "shm://" + filepath.Join(testutil.ShortTempDir(t), "s.sock")
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	return c
}

// Environment of the helper process.
const (
	envRole    = "MQWIRE_SHM_ROLE"
	envURL     = "MQWIRE_SHM_URL"
	envDialect = "MQWIRE_SHM_DIALECT"
	envCount   = "MQWIRE_SHM_COUNT"
)

// peer runs this test binary as the peer process in role, dialing url. It
// runs until it has done its work or its stdin closes (at the test's end).
type peer struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bytes.Buffer
	done  chan struct{}
}

func startPeer(t testing.TB, role, url, dialect string, count int) *peer {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), envRole+"="+role, envURL+"="+url, envDialect+"="+dialect, envCount+"="+strconv.Itoa(count))
	p := &peer{cmd: cmd, out: new(bytes.Buffer), done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	p.stdin = must(cmd.StdinPipe())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.stdin.Close()
		select {
		case <-p.done:
		case <-time.After(timeout):
			cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("peer %s output:\n%s", role, p.out)
		}
	})
	return p
}

func (p *peer) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// TestHelperProcess is the peer process of the cross-process tests; it does
// nothing when run as a test.
func TestHelperProcess(t *testing.T) {
	role := os.Getenv(envRole)
	if role == "" {
		return
	}
	if err := helper(role, os.Getenv(envURL), os.Getenv(envDialect), must(strconv.Atoi(os.Getenv(envCount)))); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// stdinClosed is closed when the parent closes our stdin.
func stdinClosed() <-chan struct{} {
	c := make(chan struct{})
	go func() { io.Copy(io.Discard, os.Stdin); close(c) }()
	return c
}

func helper(role, url, dialect string, count int) error {
	quit := stdinClosed()
	var opts []socket.Option
	if dialect == "zmtp" {
		opts = append(opts, socket.DialDialect(socket.DialectZMTP))
	}
	opts = append(opts, socket.ReconnectInterval(10*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	go func() { <-quit; cancel() }()
	echo := func(s *socket.Socket) error {
		defer s.Close()
		if _, err := s.Dial(url); err != nil {
			return err
		}
		if role == "dealer" {
			// A DEALER speaks first: its ROUTER peer cannot know its id.
			if err := s.SendContext(ctx, socket.NewMessageBytes([]byte("hi"))); err != nil {
				return err
			}
		}
		for {
			m, err := s.RecvContext(ctx)
			if err != nil {
				return nil
			}
			if err := s.SendContext(ctx, m); err != nil {
				return nil
			}
		}
	}
	switch role {
	case "push", "pushforever":
		s := must(push.New(opts...))
		defer s.Close()
		if _, err := s.Dial(url); err != nil {
			return err
		}
		for i := 0; role == "pushforever" || i < count; i++ {
			if err := s.SendContext(ctx, socket.NewMessageBytes(fmt.Appendf(nil, "%d", i))); err != nil {
				return err
			}
		}
		<-quit // linger until the parent has what it needs
	case "rawecho":
		// Echo bytes on the bare stream (no socket): the peer of the
		// cross-process stream benchmarks. url is shm://path or
		// unix://path.
		var c net.Conn
		var err error
		if path, ok := strings.CutPrefix(url, "unix://"); ok {
			c, err = net.Dial("unix", path)
		} else {
			c, err = shm.DialRaw(ctx, strings.TrimPrefix(url, "shm://"))
		}
		if err != nil {
			return err
		}
		go func() { <-quit; c.Close() }()
		buf := make([]byte, 64)
		for {
			if _, err := io.ReadFull(c, buf); err != nil {
				return nil
			}
			if _, err := c.Write(buf); err != nil {
				return nil
			}
		}
	case "listenpull":
		// Listen, take count messages, and exit.
		s := must(pull.New())
		defer s.Close()
		if _, err := s.Listen(url); err != nil {
			return err
		}
		for range count {
			m, err := s.RecvContext(ctx)
			if err != nil {
				return err
			}
			m.Free()
		}
	case "pushbig":
		s := must(push.New(opts...))
		defer s.Close()
		if _, err := s.Dial(url); err != nil {
			return err
		}
		body := make([]byte, 10000)
		for i := range count {
			copy(body, fmt.Appendf(nil, "%08d", i))
			if err := s.SendContext(ctx, socket.NewMessageBytes(body)); err != nil {
				return err
			}
		}
		<-quit
	case "manypush":
		var wg sync.WaitGroup
		errs := make(chan error, 20)
		for k := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s := must(push.New(opts...))
				defer func() { <-quit; s.Close() }()
				if _, err := s.Dial(url); err != nil {
					errs <- err
					return
				}
				for i := range count {
					if err := s.SendContext(ctx, socket.NewMessageBytes(fmt.Appendf(nil, "%d/%d", k, i))); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		return <-errs
	case "rep":
		return echo(must(rep.New(opts...)))
	case "pair":
		return echo(must(pair.New(opts...)))
	case "pair1":
		return echo(must(pair1.New(opts...)))
	case "bus":
		return echo(must(bus.New(opts...)))
	case "respondent":
		return echo(must(respondent.New(opts...)))
	case "dealer":
		return echo(must(dealer.New(opts...)))
	case "pub":
		s := must(pub.New(opts...))
		defer s.Close()
		if _, err := s.Dial(url); err != nil {
			return err
		}
		for i := 0; ctx.Err() == nil; i++ {
			topic := "a"
			if i%2 == 1 {
				topic = "b"
			}
			s.SendContext(ctx, socket.NewMessageBytes(fmt.Appendf(nil, "%s%d", topic, i)))
			time.Sleep(time.Millisecond)
		}
	case "loanwrite", "loanhold", "badloan", "badrelease", "loanbench":
		return loanHelper(ctx, quit, role, url, count)
	case "scribble":
		c, err := shm.DialRaw(ctx, strings.TrimPrefix(url, "shm://"))
		if err != nil {
			return err
		}
		defer c.Close()
		// Speak the SP header of a PUSH socket so that the pipe is up,
		// then scribble over the ring.
		if _, err := c.Write([]byte{0, 'S', 'P', 0, 0, 0x50, 0, 0}); err != nil {
			return err
		}
		time.Sleep(50 * time.Millisecond)
		shm.Scribble(c, uint64(count))
		<-quit
	default:
		return fmt.Errorf("unknown role %q", role)
	}
	return nil
}

func recvString(t testing.TB, s *socket.Socket) string {
	t.Helper()
	m, err := s.RecvContext(ctx(t))
	if err != nil {
		t.Fatalf("recv: %v", err)
	}
	defer m.Free()
	return string(m.Body)
}

func sendString(t testing.TB, s *socket.Socket, body string) {
	t.Helper()
	if err := s.SendContext(ctx(t), socket.NewMessageBytes([]byte(body))); err != nil {
		t.Fatalf("send %q: %v", body, err)
	}
}

func listen(t testing.TB, s *socket.Socket) string {
	t.Helper()
	t.Cleanup(func() { s.Close() })
	return must(s.Listen(shmURL(t))).URL()
}

var dialects = []string{"sp", "zmtp"}

func TestPushPullCrossProcess(t *testing.T) {
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			s := must(pull.New())
			url := listen(t, s)
			const n = 2000
			startPeer(t, "push", url, d, n)
			for i := range n {
				if got := recvString(t, s); got != strconv.Itoa(i) {
					t.Fatalf("message %d is %q", i, got)
				}
			}
		})
	}
}

// TestBackPressureCrossProcess: a peer sends 5 MB into a 16 KiB ring
// while nobody reads; what arrives stays bounded by the ring and the
// queues, and everything comes, in order, once the receiver reads.
func TestBackPressureCrossProcess(t *testing.T) {
	t.Parallel()
	s := must(pull.New(socket.RecvHWM(2)))
	t.Cleanup(func() { s.Close() })
	url := must(s.Listen(shmURL(t) + "?ring=16384")).URL()
	const n = 500
	startPeer(t, "pushbig", url, "sp", n)
	waitPipes(t, s, 1)
	time.Sleep(300 * time.Millisecond)
	in := s.Stats().BytesIn
	t.Logf("%d bytes taken in while nobody reads", in)
	if in > 200<<10 {
		t.Fatalf("%d bytes taken in with nobody reading", in)
	}
	for i := range n {
		m := must(s.RecvContext(ctx(t)))
		if len(m.Body) != 10000 || binaryGet(m.Body) != i {
			t.Fatalf("message %d: %d bytes, number %d", i, len(m.Body), binaryGet(m.Body))
		}
		m.Free()
	}
}

func TestReqRepCrossProcess(t *testing.T) {
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			s := must(req.New())
			url := listen(t, s)
			startPeer(t, "rep", url, d, 0)
			for i := range 200 {
				body := fmt.Sprintf("q%d", i)
				sendString(t, s, body)
				if got := recvString(t, s); got != body {
					t.Fatalf("reply %q to %q", got, body)
				}
			}
			// A large one goes through the rings in many records.
			big := bytes.Repeat([]byte("0123456789abcdef"), 32<<10)
			if err := s.SendContext(ctx(t), socket.NewMessageBytes(big)); err != nil {
				t.Fatal(err)
			}
			m := must(s.RecvContext(ctx(t)))
			if !bytes.Equal(m.Body, big) {
				t.Fatalf("512 KiB reply differs (%d bytes)", len(m.Body))
			}
			m.Free()
		})
	}
}

func TestPatternsCrossProcess(t *testing.T) {
	echo := func(name, dialect string, mk func(...socket.Option) (*socket.Socket, error)) {
		t.Run(name+"/"+dialect, func(t *testing.T) {
			t.Parallel()
			s := must(mk())
			url := listen(t, s)
			startPeer(t, name, url, dialect, 0)
			waitPipes(t, s, 1)
			for i := range 50 {
				body := fmt.Sprintf("%s%d", name, i)
				sendString(t, s, body)
				if got := recvString(t, s); got != body {
					t.Fatalf("echo %q of %q", got, body)
				}
			}
		})
	}
	echo("pair", "sp", pair.New)
	echo("pair", "zmtp", pair.New)
	echo("pair1", "sp", pair1.New)
	echo("bus", "sp", bus.New)
	t.Run("surveyor", func(t *testing.T) {
		t.Parallel()
		s := must(surveyor.New(surveyor.SurveyTime(2 * time.Second)))
		url := listen(t, s)
		startPeer(t, "respondent", url, "sp", 0)
		waitPipes(t, s, 1)
		for i := range 20 {
			body := fmt.Sprintf("survey%d", i)
			sendString(t, s, body)
			if got := recvString(t, s); got != body {
				t.Fatalf("answer %q to %q", got, body)
			}
		}
	})
	t.Run("router-dealer", func(t *testing.T) {
		t.Parallel()
		s := must(router.New())
		url := listen(t, s)
		startPeer(t, "dealer", url, "zmtp", 0)
		for i := range 20 {
			m := must(s.RecvContext(ctx(t)))
			if len(m.Frames) != 1 || string(m.Frames[0]) != "hi" {
				t.Fatalf("round %d: frames %q", i, m.Frames)
			}
			// Body is the dealer's routing id: the message goes back.
			if err := s.SendContext(ctx(t), m); err != nil {
				t.Fatal(err)
			}
		}
	})
	for _, d := range dialects {
		t.Run("pubsub/"+d, func(t *testing.T) {
			t.Parallel()
			s := must(sub.New(sub.Subscribe([]byte("a"))))
			url := listen(t, s)
			startPeer(t, "pub", url, d, 0)
			for range 20 {
				if got := recvString(t, s); !strings.HasPrefix(got, "a") {
					t.Fatalf("subscribed to a, got %q", got)
				}
			}
		})
	}
}

// waitPipes waits until s has n pipes.
func waitPipes(t testing.TB, s *socket.Socket, n int) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for s.Stats().Pipes != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d pipes, want %d", s.Stats().Pipes, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitEvent waits for an event of type typ that satisfies ok.
func waitEvent(t testing.TB, ev <-chan socket.Event, typ socket.EventType, ok func(socket.Event) bool) socket.Event {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case e := <-ev:
			if e.Type == typ && (ok == nil || ok(e)) {
				return e
			}
		case <-deadline:
			t.Fatalf("no %v event", typ)
		}
	}
}

func TestPeerKilled(t *testing.T) {
	t.Parallel()
	s := must(pull.New())
	ev := s.Events(256)
	url := listen(t, s)
	p := startPeer(t, "pushforever", url, "sp", 0)
	for range 1000 {
		recvString(t, s)
	}
	p.kill()
	// Keep reading: the pipe's reader sees the end once it gets back to
	// the ring.
	deadline := time.Now().Add(timeout)
	for gone := false; !gone; {
		select {
		case e := <-ev:
			gone = e.Type == socket.EventDisconnected
			continue
		default:
		}
		c, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		if m, err := s.RecvContext(c); err == nil {
			m.Free()
		}
		cancel()
		if time.Now().After(deadline) {
			t.Fatal("no disconnected event after the peer was killed")
		}
	}
	// Drain what the dead peer left in the ring, then a new peer is served.
	startPeer(t, "push", url, "sp", 100)
	for {
		if recvString(t, s) == "0" {
			break
		}
	}
	for i := 1; i < 100; i++ {
		if got := recvString(t, s); got != strconv.Itoa(i) {
			t.Fatalf("message %d from the new peer is %q", i, got)
		}
	}
}

// TestListenerKilled: the peer that dies is the listener. The dialer sees
// the disconnect, and reconnects to a new listener at the same path (which
// removes the socket file the dead one left).
func TestListenerKilled(t *testing.T) {
	t.Parallel()
	s := must(push.New(socket.ReconnectInterval(10 * time.Millisecond)))
	t.Cleanup(func() { s.Close() })
	ev := s.Events(256)
	url := shmURL(t)
	p := startPeer(t, "listenpull", url, "sp", 1<<30)
	must(s.Dial(url))
	for i := range 100 {
		sendString(t, s, strconv.Itoa(i))
	}
	p.kill()
	waitEvent(t, ev, socket.EventDisconnected, nil)
	p2 := startPeer(t, "listenpull", url, "sp", 50)
	deadline := time.After(timeout)
	for {
		select {
		case <-p2.done:
			if !p2.cmd.ProcessState.Success() {
				t.Fatalf("new listener: %v", p2.cmd.ProcessState)
			}
			return
		case <-deadline:
			t.Fatal("the new listener did not get 50 messages")
		default:
		}
		c, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		s.SendContext(c, socket.NewMessageBytes([]byte("again")))
		cancel()
	}
}

func TestPeerScribbles(t *testing.T) {
	t.Parallel()
	s := must(pull.New())
	ev := s.Events(256)
	url := listen(t, s)
	startPeer(t, "push", url, "sp", 1)
	if got := recvString(t, s); got != "0" {
		t.Fatalf("got %q", got)
	}
	startPeer(t, "scribble", url, "sp", 7)
	e := waitEvent(t, ev, socket.EventDisconnected, func(e socket.Event) bool { return e.Err != nil })
	var ce *shm.CorruptError
	if !errors.As(e.Err, &ce) || !errors.Is(e.Err, socket.ErrProtocol) {
		t.Fatalf("disconnect error %v, want a *shm.CorruptError", e.Err)
	}
	if s.Stats().ProtocolErrors == 0 {
		t.Error("no protocol error counted")
	}
	// The good peer's pipe is still up, and a new peer is served too.
	startPeer(t, "push", url, "zmtp", 10)
	waitPipes(t, s, 2)
	for i := range 10 {
		if got := recvString(t, s); got != strconv.Itoa(i) {
			t.Fatalf("message %d is %q", i, got)
		}
	}
}

func TestManyPipes(t *testing.T) {
	t.Parallel()
	s := must(pull.New())
	url := listen(t, s)
	const per = 200
	startPeer(t, "manypush", url, "sp", per)
	next := map[string]int{}
	for range 20 * per {
		k, i, _ := strings.Cut(recvString(t, s), "/")
		if n := must(strconv.Atoi(i)); n != next[k] {
			t.Fatalf("pipe %s: message %d, want %d", k, n, next[k])
		}
		next[k]++
	}
	if len(next) != 20 || s.Stats().Pipes != 20 {
		t.Fatalf("%d senders, %d pipes", len(next), s.Stats().Pipes)
	}
}

// mappings counts this process's connection mappings and open memfds.
func mappings(t testing.TB) (maps, fds int) {
	b := must(os.ReadFile("/proc/self/maps"))
	maps = bytes.Count(b, []byte("memfd:"+shm.MemfdName))
	ents := must(os.ReadDir("/proc/self/fd"))
	for _, e := range ents {
		if l, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && strings.Contains(l, shm.MemfdName) {
			fds++
		}
	}
	return maps, fds
}

func TestNothingLeftAfterClose(t *testing.T) {
	testutil.CheckGoroutines(t)
	shmBefore, _ := os.ReadDir("/dev/shm")
	dir := testutil.ShortTempDir(t)
	path := filepath.Join(dir, "x.sock")
	a, b := must(pull.New()), must(push.New())
	must(a.Listen("shm://" + path))
	must(b.Dial("shm://" + path))
	for i := range 100 {
		sendString(t, b, strconv.Itoa(i))
		recvString(t, a)
	}
	if m, _ := mappings(t); m != 2 {
		t.Fatalf("%d mappings while connected, want 2", m)
	}
	b.Close()
	a.Close()
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket file left after Close: %v", err)
	}
	deadline := time.Now().Add(timeout)
	for {
		m, f := mappings(t)
		if m == 0 && f == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d mappings and %d memfds left after Close", m, f)
		}
		time.Sleep(5 * time.Millisecond)
	}
	shmAfter, _ := os.ReadDir("/dev/shm")
	if len(shmAfter) > len(shmBefore) {
		t.Errorf("/dev/shm grew from %d to %d entries", len(shmBefore), len(shmAfter))
	}
}

// TestBackPressure fills a small ring with nobody reading: the sender
// blocks (its sends time out) instead of losing anything, and all arrives, in
// order, once the receiver reads.
func TestBackPressure(t *testing.T) {
	testutil.CheckGoroutines(t)
	a := must(pull.New(socket.RecvHWM(1)))
	b := must(push.New(socket.SendHWM(1)))
	defer a.Close()
	defer b.Close()
	l := must(a.Listen(shmURL(t) + "?ring=4096&spin=0"))
	must(b.Dial(l.URL()))
	body := make([]byte, 1000)
	sent := 0
	for {
		c, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		binaryPut(body, sent)
		err := b.SendContext(c, socket.NewMessageBytes(body))
		cancel()
		if errors.Is(err, socket.ErrTimeout) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		sent++
		if sent > 200 {
			t.Fatalf("%d KB sent into a 4 KiB ring with nobody reading", sent)
		}
	}
	if sent < 3 {
		t.Fatalf("only %d sent before the ring was full", sent)
	}
	for i := range sent {
		m := must(a.RecvContext(ctx(t)))
		if len(m.Body) != len(body) || binaryGet(m.Body) != i {
			t.Fatalf("message %d: %d bytes, number %d", i, len(m.Body), binaryGet(m.Body))
		}
		m.Free()
	}
}

func binaryPut(b []byte, n int) { copy(b, fmt.Appendf(nil, "%08d", n)) }
func binaryGet(b []byte) int    { return must(strconv.Atoi(string(b[:8]))) }

// rawConns connects two bare shm streams (listener end, dialer end).
func rawConns(t *testing.T, params string) (net.Conn, net.Conn) {
	path := filepath.Join(testutil.ShortTempDir(t), "r.sock") + params
	l := must(shm.ListenRaw(path))
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() { c, _ := l.Accept(); accepted <- c }()
	d := must(shm.DialRaw(ctx(t), path))
	a := <-accepted
	if a == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { a.Close(); d.Close() })
	return a, d
}

// eventfds counts this process's open eventfds.
func eventfds() int {
	n := 0
	ents, _ := os.ReadDir("/proc/self/fd")
	for _, e := range ents {
		if l, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && l == "anon_inode:[eventfd]" {
			n++
		}
	}
	return n
}

// TestConnSemantics checks the net.Conn behaviour the socket core relies
// on: deadlines on a parked Read and Write, Close waking both on this side,
// the peer's Close giving EOF after the bytes it wrote, and nothing left
// open afterwards.
func TestConnSemantics(t *testing.T) {
	testutil.CheckGoroutines(t)
	efdBefore := eventfds()
	for _, params := range []string{"", "?spin=0"} {
		t.Run("spin"+params, func(t *testing.T) {
			a, d := rawConns(t, "?ring=4096"+strings.Replace(params, "?", "&", 1))
			buf := make([]byte, 100)

			// A read deadline in the future ends a parked Read.
			d.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
			if _, err := d.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("read past its deadline: %v", err)
			}
			// A deadline set while Read is parked is seen.
			d.SetReadDeadline(time.Time{})
			go func() { time.Sleep(30 * time.Millisecond); d.SetReadDeadline(time.Now()) }()
			if _, err := d.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("read with a deadline set while parked: %v", err)
			}
			d.SetReadDeadline(time.Time{})

			// A full ring makes Write wait; its deadline ends the wait.
			a.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
			n, err := a.Write(make([]byte, 10000))
			if !errors.Is(err, os.ErrDeadlineExceeded) || n == 0 || n >= 4096 {
				t.Fatalf("write into a full ring: %d, %v", n, err)
			}
			a.SetWriteDeadline(time.Time{})
			got := 0
			for got < n {
				k, err := d.Read(buf)
				if err != nil {
					t.Fatal(err)
				}
				got += k
			}

			// Close wakes a parked Read and a parked Write on this side.
			errs := make(chan error, 2)
			go func() { _, err := d.Read(buf); errs <- err }()
			a2, d2 := rawConns(t, "?ring=4096")
			go func() { _, err := a2.Write(make([]byte, 10000)); errs <- err }()
			time.Sleep(30 * time.Millisecond)
			d.Close()
			a2.Close()
			for range 2 {
				if err := <-errs; !errors.Is(err, net.ErrClosed) {
					t.Fatalf("parked call after Close: %v", err)
				}
			}
			// The peer of a closed end reads the end of the stream.
			if _, err := a.Read(buf); err != io.EOF {
				t.Fatalf("read from a closed peer: %v", err)
			}
			if _, err := d2.Read(buf); err != nil {
				t.Fatalf("bytes written before Close: %v", err)
			}
			if _, err := a.Write(buf); !errors.Is(err, syscall.EPIPE) {
				t.Fatalf("write to a closed peer: %v", err)
			}
		})
	}
	t.Cleanup(func() {
		if n := eventfds(); n > efdBefore {
			t.Errorf("%d eventfds open after Close, %d before", n, efdBefore)
		}
		if m, f := mappings(t); m != 0 || f != 0 {
			t.Errorf("%d mappings and %d memfds left after Close", m, f)
		}
	})
}

// TestCloseRaces closes connections while reads, writes and deadline
// changes run on both ends: every call returns, nothing touches the mapping
// after it is gone (the race detector and the fault handler would say), and
// nothing is left open.
func TestCloseRaces(t *testing.T) {
	testutil.CheckGoroutines(t)
	efdBefore := eventfds()
	for i := range 30 {
		a, d := rawConns(t, "?ring=4096&spin="+[]string{"0", "50us"}[i%2])
		var wg sync.WaitGroup
		for _, c := range []net.Conn{a, d} {
			wg.Add(3)
			go func() {
				defer wg.Done()
				buf := make([]byte, 700)
				for {
					if _, err := c.Write(buf); err != nil {
						return
					}
				}
			}()
			go func() {
				defer wg.Done()
				buf := make([]byte, 300)
				for {
					if _, err := c.Read(buf); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
						return
					}
				}
			}()
			go func() {
				defer wg.Done()
				for {
					if c.SetDeadline(time.Now().Add(time.Millisecond)) != nil {
						return
					}
					time.Sleep(100 * time.Microsecond)
				}
			}()
		}
		time.Sleep(time.Duration(i%5) * time.Millisecond)
		[]net.Conn{a, d}[i%2].Close()
		[]net.Conn{a, d}[(i+1)%2].Close()
		wg.Wait()
	}
	t.Cleanup(func() {
		if n := eventfds(); n > efdBefore {
			t.Errorf("%d eventfds open after Close, %d before", n, efdBefore)
		}
		if m, f := mappings(t); m != 0 || f != 0 {
			t.Errorf("%d mappings and %d memfds left after Close", m, f)
		}
	})
}

// TestSelfFlush: a sender that keeps its send queue full writes it into
// the ring itself (socket's Pipe.flushFull), through a ring smaller than
// its batches; every message arrives in order, and the last ones without
// another send or a Close (the tail timer wakes the writer).
func TestSelfFlush(t *testing.T) {
	testutil.CheckGoroutines(t)
	r := must(pull.New(socket.RecvHWM(16)))
	w := must(push.New(socket.SendHWM(16)))
	defer r.Close()
	defer w.Close()
	must(w.Dial(must(r.Listen(shmURL(t) + "?ring=16384")).URL()))
	const n = 20000
	errc := make(chan error, 1)
	go func() {
		body := make([]byte, 40)
		for i := range n {
			binaryPut(body, i)
			if err := w.SendContext(ctx(t), socket.NewMessageBytes(body)); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	for i := range n {
		m := must(r.RecvContext(ctx(t)))
		if len(m.Body) != 40 || binaryGet(m.Body) != i {
			t.Fatalf("message %d: %d bytes, number %d", i, len(m.Body), binaryGet(m.Body))
		}
		m.Free()
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// SetDefaultSpin applies to connections set up afterwards whose URL names
// no spin, returns the value it replaces, and takes a negative time as 0;
// a URL's "spin" still wins.
func TestSetDefaultSpin(t *testing.T) {
	old := shm.SetDefaultSpin(0)
	defer shm.SetDefaultSpin(old)
	if old != 200*time.Microsecond {
		t.Errorf("default spin %v, want 200us", old)
	}
	a, d := rawConns(t, "")
	if shm.Spin(a) != 0 || shm.Spin(d) != 0 {
		t.Errorf("spin %v and %v after SetDefaultSpin(0)", shm.Spin(a), shm.Spin(d))
	}
	// Parking at once still carries bytes both ways.
	go d.Write([]byte("ping"))
	buf := make([]byte, 4)
	if _, err := io.ReadFull(a, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("read %q, %v", buf, err)
	}
	if prev := shm.SetDefaultSpin(-time.Second); prev != 0 {
		t.Errorf("SetDefaultSpin returned %v, want the 0 set before", prev)
	}
	if prev := shm.SetDefaultSpin(30 * time.Microsecond); prev != 0 {
		t.Errorf("a negative spin was kept as %v, want 0", prev)
	}
	a, d = rawConns(t, "")
	if shm.Spin(a) != 30*time.Microsecond || shm.Spin(d) != 30*time.Microsecond {
		t.Errorf("spin %v and %v after SetDefaultSpin(30us)", shm.Spin(a), shm.Spin(d))
	}
	a, _ = rawConns(t, "?spin=5us")
	if shm.Spin(a) != 5*time.Microsecond {
		t.Errorf("the URL's spin gave %v, want 5us", shm.Spin(a))
	}
}
