// Package interop_test checks mqwire against the C implementations of the SP
// protocols: nng 1.5 (a small C peer built from testdata/c, and nngcat) and
// nanomsg 1.1 (the same, and nanocat). Every pattern pairing runs in both
// directions (mqwire listens and the peer dials, and the reverse) over tcp,
// ipc and ws.
//
// The C peers are compiled with gcc when first needed. When gcc, a library or
// a CLI is missing the tests skip, saying why; under MQWIRE_INTEROP=1 they
// fail instead.
package interop_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/socktest"
	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/bus"
	"github.com/mqwire/mqwire/pattern/pair"
	"github.com/mqwire/mqwire/pattern/pair1"
	"github.com/mqwire/mqwire/pattern/pub"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/pattern/rep"
	"github.com/mqwire/mqwire/pattern/req"
	"github.com/mqwire/mqwire/pattern/respondent"
	"github.com/mqwire/mqwire/pattern/sub"
	"github.com/mqwire/mqwire/pattern/surveyor"
	"github.com/mqwire/mqwire/socket"
)

// timeout bounds every single wait of a test; a healthy run needs a small
// fraction of it.
const timeout = 5 * time.Second

// buildDir holds the compiled C peers for the run.
var buildDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mqinterop")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	buildDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// cPeer is a C peer program built from testdata/c on first use.
type cPeer struct {
	lib  string // the library it links, as the tests name it: "nng", "nanomsg"
	src  string // its source file under testdata/c
	link string // the linker flag for the library

	once sync.Once
	bin  string
	err  error
}

var (
	nngPeer = &cPeer{lib: "nng", src: "nngpeer.c", link: "-lnng"}
	nnPeer  = &cPeer{lib: "nanomsg", src: "nnpeer.c", link: "-lnanomsg"}
)

// path returns the peer's binary, building it first; when it cannot be
// built, t skips or fails (testutil.NeedPeer).
func (c *cPeer) path(t testing.TB) string {
	t.Helper()
	c.once.Do(func() { c.bin, c.err = c.build() })
	if c.err != nil {
		testutil.NeedPeer(t, c.lib+" C peer ("+c.src+")", c.err)
	}
	return c.bin
}

func (c *cPeer) build() (string, error) {
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		return "", err
	}
	out := filepath.Join(buildDir, strings.TrimSuffix(c.src, ".c"))
	cmd := exec.Command(gcc, "-O1", "-o", out, filepath.Join("testdata", "c", c.src), c.link, "-pthread")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, msg)
	}
	return out, nil
}

// needTool returns the path of a CLI peer (nngcat, nanocat), or skips or
// fails t when it is not installed.
func needTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		testutil.NeedPeer(t, name, err)
	}
	return p
}

// proc is a running peer process whose standard output is read line by
// line.
type proc struct {
	t      testing.TB
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string
	quit   chan struct{}
	read   chan struct{} // closed when standard output has ended
	stderr bytes.Buffer
	// killAtStop: the process does not end by itself (a CLI peer), so
	// stop kills it rather than wait.
	killAtStop bool

	stopOnce sync.Once
	waitOnce sync.Once
	werr     error
}

// startProc starts a process and stops it when t ends.
func startProc(t testing.TB, killAtStop bool, path string, args ...string) *proc {
	t.Helper()
	p := &proc{
		t:          t,
		killAtStop: killAtStop,
		name:       filepath.Base(path) + " " + strings.Join(args, " "),
		cmd:        exec.Command(path, args...),
		lines:      make(chan string, 64),
		quit:       make(chan struct{}),
		read:       make(chan struct{}),
	}
	p.cmd.Stderr = &p.stderr
	var err error
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", p.name, err)
	}
	go p.readLines(out)
	t.Cleanup(p.stop)
	return p
}

func (p *proc) readLines(out io.Reader) {
	defer close(p.read)
	r := bufio.NewReader(out)
	for {
		line, err := r.ReadString('\n')
		if line != "" {
			select {
			case p.lines <- strings.TrimRight(line, "\r\n"):
			case <-p.quit:
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// line returns the next line of output, waiting at most d; ok is false when
// none came (the process is silent, or has ended).
func (p *proc) line(d time.Duration) (string, bool) {
	select {
	case l := <-p.lines:
		return l, true
	default:
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case l := <-p.lines:
		return l, true
	case <-p.read:
		select {
		case l := <-p.lines:
			return l, true
		default:
			return "", false
		}
	case <-t.C:
		return "", false
	}
}

// state says whether the process still runs, for failure messages.
func (p *proc) state() string {
	select {
	case <-p.read:
		return p.name + " has ended"
	default:
		return p.name + " runs"
	}
}

// wait waits for the process to exit and returns how it ended. Call it
// only once the process is known to end (its standard output has closed,
// or it has been killed): it must not race the reading of its output.
func (p *proc) wait() error {
	p.waitOnce.Do(func() { p.werr = p.cmd.Wait() })
	return p.werr
}

// stop ends the process: it closes standard input (the C peers quit at the
// end of their input), waits a moment for the process to exit, then kills it.
func (p *proc) stop() {
	p.stopOnce.Do(func() {
		p.stdin.Close()
		if p.killAtStop {
			p.cmd.Process.Kill()
		}
		close(p.quit)
		exited := make(chan struct{})
		go func() {
			p.wait()
			close(exited)
		}()
		select {
		case <-exited:
		case <-time.After(timeout):
			p.cmd.Process.Kill()
			<-exited
		}
		<-p.read
		if p.werr != nil && !p.killAtStop {
			p.t.Logf("%s: %v", p.name, p.werr)
		}
		if s := strings.TrimSpace(p.stderr.String()); s != "" {
			p.t.Logf("%s: stderr:\n%s", p.name, s)
		}
	})
}

// peer drives a C peer (see testdata/c/peer.h) over its standard input.
type peer struct{ *proc }

// startPeer starts a C peer and waits for it to report that it is ready.
func startPeer(t testing.TB, c *cPeer, args ...string) (*peer, error) {
	t.Helper()
	p := &peer{startProc(t, false, c.path(t), args...)}
	l, ok := p.line(timeout)
	switch {
	case !ok:
		p.stop()
		return nil, fmt.Errorf("%s: no answer (stderr: %s)", p.name, p.stderr.String())
	case l != "ready":
		p.stop()
		return nil, fmt.Errorf("%s: %s", p.name, l)
	}
	return p, nil
}

// do sends a command and returns the peer's answer.
func (p *peer) do(cmd string) string {
	p.t.Helper()
	if _, err := io.WriteString(p.stdin, cmd+"\n"); err != nil {
		p.t.Fatalf("%s: %s: %v", p.name, cmd, err)
	}
	l, ok := p.line(2 * timeout)
	if !ok {
		p.t.Fatalf("%s: %s: no answer", p.name, short(cmd))
	}
	return l
}

// send makes the peer send body.
func (p *peer) send(body []byte) {
	p.t.Helper()
	if a := p.do("send " + hex.EncodeToString(body)); a != "ok" {
		p.t.Fatalf("%s: send %q: %s", p.name, short(string(body)), a)
	}
}

// subscribe makes a sub0 peer subscribe to prefix.
func (p *peer) subscribe(prefix string) {
	p.t.Helper()
	if a := p.do("sub " + hex.EncodeToString([]byte(prefix))); a != "ok" {
		p.t.Fatalf("%s: subscribe %q: %s", p.name, prefix, a)
	}
}

// recv makes the peer receive a message, waiting at most d; ok is false when
// none came in time.
func (p *peer) recv(d time.Duration) (body []byte, ok bool) {
	p.t.Helper()
	a := p.do(fmt.Sprintf("recv %d", d.Milliseconds()))
	if a == "timeout" {
		return nil, false
	}
	h, found := strings.CutPrefix(a, "msg ")
	if !found {
		p.t.Fatalf("%s: recv: %s", p.name, a)
	}
	b, err := hex.DecodeString(h)
	if err != nil {
		p.t.Fatalf("%s: recv: %v", p.name, err)
	}
	return b, true
}

// expect makes the peer receive a message and checks it is want, skipping
// warm-up messages.
func (p *peer) expect(want []byte) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		got, ok := p.recv(time.Until(deadline))
		if !ok {
			break
		}
		if isWarm(got) {
			continue
		}
		if !bytes.Equal(got, want) {
			p.t.Fatalf("%s received %q, want %q", p.name, short(string(got)), short(string(want)))
		}
		return
	}
	p.t.Fatalf("%s received nothing, want %q", p.name, short(string(want)))
}

// expectNothing checks the peer receives no message but warm-ups for d.
func (p *peer) expectNothing(d time.Duration) {
	p.t.Helper()
	for {
		got, ok := p.recv(d)
		if !ok {
			return
		}
		if !isWarm(got) {
			p.t.Fatalf("%s received %q, want nothing", p.name, short(string(got)))
		}
	}
}

// warmPrefix starts the messages a test sends until the other side is
// surely connected: over broadcast patterns (pub, bus, surveyor) a message
// sent before the sender has attached the pipe is lost, by design.
const warmPrefix = "warm"

func isWarm(b []byte) bool { return bytes.HasPrefix(b, []byte(warmPrefix)) }

// body returns the i-th test message with the given prefix: text, then
// bytes that are not text (a zero, the high bit), so that nothing is
// mangled on the way.
func body(prefix string, i int) []byte {
	return fmt.Appendf(nil, "%s-%d:\x00\x01\x7f\x80\xfe\xff", prefix, i)
}

func short(s string) string {
	if len(s) > 40 {
		return fmt.Sprintf("%s... (%d bytes)", s[:40], len(s))
	}
	return s
}

// newSocket makes a cooked (or raw) mqwire socket of protocol name, closed
// when t ends. A cooked sub0 subscribes to "msg" and to the warm-ups.
func newSocket(t testing.TB, name string, raw bool) *socket.Socket {
	t.Helper()
	type ctor func(...socket.Option) (*socket.Socket, error)
	ctors := map[string][2]ctor{
		"req0":        {req.New, req.NewRaw},
		"rep0":        {rep.New, rep.NewRaw},
		"pub0":        {pub.New, pub.NewRaw},
		"sub0":        {sub.New, sub.NewRaw},
		"push0":       {push.New, push.NewRaw},
		"pull0":       {pull.New, pull.NewRaw},
		"pair0":       {pair.New, pair.NewRaw},
		"pair1":       {pair1.New, pair1.NewRaw},
		"bus0":        {bus.New, bus.NewRaw},
		"surveyor0":   {surveyor.New, surveyor.NewRaw},
		"respondent0": {respondent.New, respondent.NewRaw},
	}
	c, ok := ctors[name]
	if !ok {
		t.Fatalf("no mqwire pattern %q", name)
	}
	opts := []socket.Option{socket.ReconnectInterval(10 * time.Millisecond), socket.Linger(time.Second)}
	if name == "sub0" && !raw {
		opts = append(opts, sub.Subscribe([]byte("msg")), sub.Subscribe([]byte(warmPrefix)))
	}
	if name == "surveyor0" && !raw {
		opts = append(opts, surveyor.SurveyTime(2*time.Second))
	}
	f := c[0]
	if raw {
		f = c[1]
	}
	s, err := f(opts...)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// mqSend sends body on s.
func mqSend(t testing.TB, s *socket.Socket, body []byte) {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	m := socket.NewMessageBytes(body)
	if err := s.SendContext(c, m); err != nil {
		m.Free()
		t.Fatalf("mqwire %s: send %q: %v", s.Info().Name, short(string(body)), err)
	}
}

// mqRecv receives a message on s, waiting at most d.
func mqRecv(s *socket.Socket, d time.Duration) ([]byte, error) {
	c, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	m, err := s.RecvContext(c)
	if err != nil {
		return nil, err
	}
	b := bytes.Clone(m.Body)
	m.Free()
	return b, nil
}

// mqExpect receives a message on s, skipping warm-ups, and checks it is
// want.
func mqExpect(t testing.TB, s *socket.Socket, want []byte) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got, err := mqRecv(s, time.Until(deadline))
		if err != nil {
			t.Fatalf("mqwire %s: recv, want %q: %v", s.Info().Name, short(string(want)), err)
		}
		if isWarm(got) {
			continue
		}
		if !bytes.Equal(got, want) {
			st := s.Stats()
			t.Fatalf("mqwire %s received %q, want %q (%d messages in, drops %v)",
				s.Info().Name, short(string(got)), short(string(want)), st.MessagesIn, st.Drops)
		}
		return
	}
}

// mqExpectNothing checks s receives nothing but warm-ups for d.
func mqExpectNothing(t testing.TB, s *socket.Socket, d time.Duration) {
	t.Helper()
	for {
		got, err := mqRecv(s, d)
		if errors.Is(err, socket.ErrTimeout) {
			return
		}
		if err != nil {
			t.Fatalf("mqwire %s: recv: %v", s.Info().Name, err)
		}
		if !isWarm(got) {
			t.Fatalf("mqwire %s received %q, want nothing", s.Info().Name, short(string(got)))
		}
	}
}

// warmToMQ has the peer send warm-ups until s receives one: until then the
// peer may not have attached its pipe, and a broadcast would be lost.
func warmToMQ(t testing.TB, p *peer, s *socket.Socket) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for i := 0; time.Now().Before(deadline); i++ {
		p.send(fmt.Appendf(nil, "%s-%d", warmPrefix, i))
		if _, err := mqRecv(s, 20*time.Millisecond); err == nil {
			return
		}
	}
	t.Fatalf("mqwire %s received none of the peer's warm-up messages", s.Info().Name)
}

// Directions of a connection.
const (
	mqListens   = "mqwire-listens"
	peerListens = "peer-listens"
)

var (
	transports = []string{"tcp", "ipc", "ws"}
	directions = []string{mqListens, peerListens}
)

// freeURL returns an address of transport tr for a peer to listen on. A tcp
// (or ws) port is picked below the system's ephemeral range, so that no port-0
// listener or outgoing connection of a parallel test can take it, and never
// twice in a run. Another process may still hold it: callers that can, retry.
func freeURL(t testing.TB, tr string) string {
	t.Helper()
	switch tr {
	case "ipc":
		return testutil.URL(t, "ipc")
	case "abstract":
		return abstractURL()
	case "ws":
		// A free tcp port, and a path: a ws listener serves one.
		return "ws" + strings.TrimPrefix(freeURL(t, "tcp"), "tcp") + "/test"
	case "tcp":
		lo := ephemeralLow()
		for range 1000 {
			// The upper half of the 10,000 ports under the ephemeral range;
			// bench/perfpeer, whose tests may run beside these, takes the
			// lower half.
			port := lo - 5000 + rand.IntN(5000)
			if _, taken := usedPorts.LoadOrStore(port, true); taken {
				continue
			}
			addr := fmt.Sprintf("127.0.0.1:%d", port)
			l, err := net.Listen("tcp", addr)
			if err != nil {
				continue
			}
			l.Close()
			return "tcp://" + addr
		}
		t.Fatal("no free tcp port")
	}
	t.Fatalf("unknown transport %q", tr)
	return ""
}

var usedPorts sync.Map // int -> true: ports freeURL has handed out

// listenAddr is url as a peer of library lib ("nng", "nanomsg") takes it
// to listen on. nanomsg 1.1's ws listener takes no path (nn_bind reads all
// after the last colon as the port, so "ws://host:port/test" is EINVAL) and
// serves every path: it listens at the address without one, and mqwire
// dials the whole url.
func listenAddr(lib, url string) string {
	if lib == "nanomsg" && strings.HasPrefix(url, "ws://") {
		return "ws://" + hostPort(url)
	}
	return url
}

// hostPort returns the host and port of a tcp or ws url.
func hostPort(url string) string {
	_, rest, _ := strings.Cut(url, "://")
	hp, _, _ := strings.Cut(rest, "/")
	return hp
}

// ephemeralLow returns the lowest port the system hands out for port 0 (on
// Linux, from /proc; elsewhere the IANA range's start).
func ephemeralLow() int {
	lo := 49152
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		var hi int
		if n, _ := fmt.Sscan(string(b), &lo, &hi); n < 1 {
			lo = 49152
		}
	}
	if lo < 11024 {
		lo = 11024
	}
	return lo
}

// listenURL returns an address of transport tr for mqwire to listen on.
func listenURL(t testing.TB, tr string) string {
	if tr == "abstract" {
		return abstractURL()
	}
	return testutil.URL(t, tr)
}

// abstractURL returns a fresh name in Linux's abstract namespace, as nng
// writes it.
func abstractURL() string {
	return fmt.Sprintf("abstract://mqwire-interop-%d-%d", os.Getpid(), abstractNames.Add(1))
}

var abstractNames atomic.Int64

// peerListen starts a peer that listens on a fresh address of transport tr
// and returns it with the address. args come before the address.
func peerListen(t testing.TB, c *cPeer, tr string, args ...string) (*peer, string) {
	t.Helper()
	var err error
	for range 5 {
		url := freeURL(t, tr)
		var p *peer
		if p, err = startPeer(t, c, append(args, listenAddr(c.lib, url))...); err == nil {
			return p, url
		}
	}
	t.Fatalf("peer cannot listen: %v", err)
	return nil, ""
}

// connectPeer connects s to a C peer of protocol proto in direction dir over
// transport tr and waits until mqwire has the pipe.
func connectPeer(t testing.TB, c *cPeer, tr, dir string, s *socket.Socket, proto string) *peer {
	t.Helper()
	var p *peer
	switch dir {
	case mqListens:
		ln, err := s.Listen(listenURL(t, tr))
		if err != nil {
			t.Fatal(err)
		}
		if p, err = startPeer(t, c, proto, "dial", ln.URL()); err != nil {
			t.Fatal(err)
		}
	case peerListens:
		var url string
		p, url = peerListen(t, c, tr, proto, "listen")
		if _, err := s.Dial(url); err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatalf("unknown direction %q", dir)
	}
	socktest.WaitPipes(t, s, 1)
	return p
}
