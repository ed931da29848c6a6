package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
)

// mqcatBin is the mqcat binary TestMain builds once for the whole run.
var (
	mqcatBin string
	buildErr error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mqcat")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	mqcatBin, buildErr = build(dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// build compiles this package into dir. It leaves the race detector out
// even under go test -race: a race-enabled binary can take over a second to
// start on a busy machine, which upsets the timing the scenarios rely on
// (--delay 1 gives the other side a second to connect). TestRunInProcess
// runs mqcat's code under the race detector instead.
func build(dir string) (string, error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("no go command on PATH: %v", err)
	}
	bin := filepath.Join(dir, "mqcat")
	out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
}

// mqcat returns the path of the built binary.
func mqcat(t testing.TB) string {
	t.Helper()
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return mqcatBin
}

// peer returns the path of an interop peer program (nngcat, nanocat), or
// fails or skips t as testutil.NeedPeer decides.
func peer(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		testutil.NeedPeer(t, name, err)
	}
	return p
}

// syncBuffer is a bytes.Buffer that a process writes while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// proc is a running command whose output is captured.
type proc struct {
	name           string
	args           []string
	cmd            *exec.Cmd // nil for mqcat run in this process
	stdout, stderr syncBuffer
	started        time.Time
	done           chan struct{}
	elapsed        time.Duration
	code           int // exit status; -1 when killed by a signal
	// stop ends mqcat run in this process (closing its socket).
	stop context.CancelFunc
}

// startProc starts bin with args; stdin, when not nil, is its input. The
// process is killed when the test ends if it is still running.
func startProc(t testing.TB, stdin []byte, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{name: filepath.Base(bin), args: args, cmd: exec.Command(bin, args...), done: make(chan struct{})}
	p.cmd.Stdout = &p.stdout
	p.cmd.Stderr = &p.stderr
	if stdin != nil {
		p.cmd.Stdin = bytes.NewReader(stdin)
	}
	p.started = time.Now()
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	go func() {
		err := p.cmd.Wait()
		p.elapsed = time.Since(p.started)
		p.code = p.cmd.ProcessState.ExitCode()
		if err != nil && p.code == 0 {
			p.code = -1
		}
		close(p.done)
	}()
	t.Cleanup(p.kill)
	return p
}

// startInProcess runs mqcat's run function in this process, so that the
// race detector and the goroutine checks see its code. kill closes its
// socket.
func startInProcess(t testing.TB, stdin []byte, args ...string) *proc {
	ctx, stop := context.WithCancel(context.Background())
	p := &proc{name: "mqcat(in-process)", args: args, done: make(chan struct{}), started: time.Now(), stop: stop}
	go func() {
		defer stop()
		p.code = run(ctx, args, bytes.NewReader(stdin), &p.stdout, &p.stderr)
		p.elapsed = time.Since(p.started)
		close(p.done)
	}()
	t.Cleanup(func() { <-p.done })
	return p
}

// String names the process and its arguments, for messages.
func (p *proc) String() string {
	return p.name + " " + strings.Join(p.args, " ")
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// wait waits up to d for the process to end and reports whether it did.
func (p *proc) wait(d time.Duration) bool {
	select {
	case <-p.done:
		return true
	case <-time.After(d):
		return false
	}
}

// kill stops the process if it still runs and waits for it.
func (p *proc) kill() {
	switch {
	case p.exited():
	case p.cmd != nil:
		p.cmd.Process.Kill()
	default:
		p.stop()
	}
	<-p.done
}

// report describes how the process ended and what it printed.
func (p *proc) report() string {
	return fmt.Sprintf("%s\n\texit %d after %v\n\tstdout %q\n\tstderr %q",
		p, p.code, p.elapsed.Round(time.Millisecond), truncate(p.stdout.String()), truncate(p.stderr.String()))
}

// runProc runs bin to its end (at most timeout) and returns the process.
func runProc(t testing.TB, timeout time.Duration, stdin []byte, bin string, args ...string) *proc {
	t.Helper()
	p := startProc(t, stdin, bin, args...)
	if !p.wait(timeout) {
		p.kill()
		t.Fatalf("did not end within %v: %s", timeout, p.report())
	}
	return p
}

// endpoint is an address for one test run.
type endpoint struct {
	transport string // "tcp" or "ipc"
	port      int
	path      string
}

// newEndpoint returns a fresh address: a free TCP port on 127.0.0.1 or a
// socket path in a short temporary directory.
func newEndpoint(t testing.TB, transport string) endpoint {
	t.Helper()
	switch transport {
	case "tcp":
		return endpoint{transport: "tcp", port: freePort(t)}
	case "ipc":
		return endpoint{transport: "ipc", path: filepath.Join(testutil.ShortTempDir(t), "s.sock")}
	}
	t.Fatalf("unknown transport %q", transport)
	return endpoint{}
}

// usedPorts are the ports freePort has handed out: the system may offer a
// port again once it is closed, and two runs must not share one.
var usedPorts = struct {
	sync.Mutex
	m map[int]bool
}{m: map[int]bool{}}

// freePort returns a TCP port on 127.0.0.1 that nothing listens on now and
// that no other test of this run got.
func freePort(t testing.TB) int {
	t.Helper()
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		usedPorts.Lock()
		fresh := !usedPorts.m[port]
		usedPorts.m[port] = true
		usedPorts.Unlock()
		if fresh {
			return port
		}
	}
}

// url is the endpoint as a URL.
func (e endpoint) url() string {
	if e.transport == "tcp" {
		return "tcp://127.0.0.1:" + strconv.Itoa(e.port)
	}
	return "ipc://" + e.path
}

// ngArgs is the address option in nngcat's syntax (mqcat's too). The forms
// vary with the case so that the aliases get used: --listen=URL, --dial URL,
// -X PATH, --connect URL.
func (e endpoint) ngArgs(listen bool) []string {
	switch {
	case e.transport == "tcp" && listen:
		return []string{"--listen=" + e.url()}
	case e.transport == "tcp":
		return []string{"--dial", e.url()}
	case listen:
		return []string{"-X", e.path}
	default:
		return []string{"--connect", e.url()}
	}
}

// nanoArgs is the address option in nanocat's syntax.
func (e endpoint) nanoArgs(listen bool) []string {
	if listen {
		return []string{"--bind", e.url()}
	}
	return []string{"--connect", e.url()}
}

// startListener starts a process that listens at a fresh endpoint of
// transport (start gets the endpoint) and waits until it listens. A TCP port
// is only known to be free when freePort looks at it; if another program
// takes it meanwhile, the listener fails with "in use" and this tries again
// with another port.
func startListener(t testing.TB, transport string, start func(endpoint) *proc) (endpoint, *proc) {
	t.Helper()
	for try := 0; ; try++ {
		e := newEndpoint(t, transport)
		p := start(e)
		if waitListening(t, e, p) {
			return e, p
		}
		if try < 3 && strings.Contains(strings.ToLower(p.stderr.String()), "in use") {
			continue
		}
		t.Fatalf("listener ended before it listened: %s", p.report())
	}
}

// waitListening waits until p listens at e and returns true, or returns
// false if p ends first; it fails t if nothing listens within the time limit.
// On Linux it looks at the kernel's socket tables rather than connecting:
// nng backs off for 100 ms after a connection that closes in its handshake,
// and loses a dial made meanwhile.
func waitListening(t testing.TB, e endpoint, p *proc) bool {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ready, known := listeningNow(e, p)
		if !known {
			// No /proc: connect, then give nng time to get over it.
			ready = probe(e) == nil
			if ready {
				time.Sleep(300 * time.Millisecond)
			}
		}
		if ready {
			return true
		}
		if p.exited() {
			return false
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens at %s: %s", e.url(), p.report())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func probe(e endpoint) error {
	network, addr := "tcp", "127.0.0.1:"+strconv.Itoa(e.port)
	if e.transport == "ipc" {
		network, addr = "unix", e.path
	}
	c, err := net.DialTimeout(network, addr, time.Second)
	if err == nil {
		c.Close()
	}
	return err
}

// listeningNow reads Linux's socket tables: ready says p has a socket
// listening at e, known says the tables could be read. A process that has
// ended holds none, though the test may not have seen it end yet (then a
// socket on the same port, taken between the free-port pick and the bind,
// is another process's).
func listeningNow(e endpoint, p *proc) (ready, known bool) {
	pid := os.Getpid()
	if p.cmd != nil {
		pid = p.cmd.Process.Pid
	}
	network, addr := "unix", e.path
	if e.transport == "tcp" {
		network, addr = "tcp", "127.0.0.1:"+strconv.Itoa(e.port)
	}
	ready, known = testutil.ListeningIn(pid, network, addr)
	return ready && !p.exited(), known
}

// waitOutput waits up to d for p's stdout to match want, and reports
// whether it does.
func waitOutput(p *proc, want *regexp.Regexp, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for !want.MatchString(p.stdout.String()) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

// runLimited runs f for every item, at most n at a time, each in a subtest
// of t named by name. Subtests run by hand this way can overlap more than
// -parallel allows, which suits processes that mostly sleep.
func runLimited[T any](t *testing.T, n int, items []T, name func(T) string, f func(*testing.T, T)) {
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for _, it := range items {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			t.Run(name(it), func(t *testing.T) { f(t, it) })
		}()
	}
	wg.Wait()
}

func itoa(n int) string { return strconv.Itoa(n) }

// An mqcat run in this process that would wait for ever ends when the test
// kills it (its socket closed), so that a stuck case fails rather than
// hanging the package.
func TestInProcessKill(t *testing.T) {
	testutil.CheckGoroutines(t)
	p := startInProcess(t, nil, "--pull0", "--listen", "tcp://127.0.0.1:0", "-Q")
	if p.wait(200 * time.Millisecond) {
		t.Fatalf("ended by itself: %s", p.report())
	}
	p.kill()
	if p.code != 1 {
		t.Errorf("killed: %s", p.report())
	}
}
