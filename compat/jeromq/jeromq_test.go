// Package jeromq_test proves mqwire's ZMTP 2.0 against JeroMQ 0.3.6
// (Debian's libjeromq-java), a Java ZeroMQ that speaks ZMTP 2.0, as libzmq
// 3.x does: every socket type pairing over tcp, mqwire listening and
// dialing, with identities, subscriptions and the REQ envelope. The peer is
// testdata/Peer.java, compiled with javac when the tests start.
package jeromq_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/socket"
)

const count = 10

// jeromqJar is where Debian's libjeromq-java puts the library;
// MQWIRE_JEROMQ_JAR names another.
func jeromqJar() string {
	if p := os.Getenv("MQWIRE_JEROMQ_JAR"); p != "" {
		return p
	}
	return "/usr/share/java/jeromq.jar"
}

// classpath is the peer's: the library and the compiled Peer; classErr says
// why there is none.
var classpath string
var classErr error

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "jeromq-peer")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	classErr = buildPeer(dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildPeer compiles testdata/Peer.java into dir against the library.
func buildPeer(dir string) error {
	jar := jeromqJar()
	if _, err := os.Stat(jar); err != nil {
		return fmt.Errorf("JeroMQ (libjeromq-java): %w", err)
	}
	for _, tool := range []string{"javac", "java"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("a JDK (%s): %w", tool, err)
		}
	}
	out, err := exec.Command("javac", "-cp", jar, "-d", dir, filepath.Join("testdata", "Peer.java")).CombinedOutput()
	if err != nil {
		return fmt.Errorf("javac Peer.java: %v: %s", err, out)
	}
	classpath = jar + string(os.PathListSeparator) + dir
	return nil
}

// peer is a running JeroMQ peer.
type peer struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
	url   string // where a bound peer listens
}

// startPeer runs Peer KIND HOW URL ROLE COUNT ARGS... and waits for its
// "ready" line. Closing its standard input (at the test's end) ends it.
func startPeer(t *testing.T, args ...string) *peer {
	t.Helper()
	if classErr != nil {
		testutil.NeedPeer(t, "JeroMQ 0.3.6 with a JDK", classErr)
	}
	cmd := exec.Command("java", append([]string{"-cp", classpath, "Peer"}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &peer{cmd: cmd, stdin: stdin, lines: make(chan string, 64)}
	go func() {
		defer close(p.lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		stdin.Close()
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() && stderr.Len() > 0 {
			t.Logf("JeroMQ peer stderr:\n%s", stderr.String())
		}
	})
	word, url, _ := strings.Cut(p.line(t), " ")
	if word != "ready" {
		t.Fatalf("peer said %q, want ready", word)
	}
	p.url = url
	return p
}

// line returns the peer's next line of output.
func (p *peer) line(t *testing.T) string {
	t.Helper()
	select {
	case l, ok := <-p.lines:
		if !ok {
			t.Fatal("the JeroMQ peer ended")
		}
		return l
	case <-time.After(20 * time.Second): // the JVM starts slowly
		t.Fatal("no line from the JeroMQ peer in 20 s")
		return ""
	}
}

// frames renders a message the way the peer prints one.
var frames = testutil.Frames

func parts(m *socket.Message) [][]byte { return append([][]byte{m.Body}, m.Frames...) }

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

// connect starts a JeroMQ peer of kind playing role against s: the peer
// connects when listen is true, else it binds and s dials it.
func connect(t *testing.T, s *socket.Socket, listen bool, kind, role string, n int, extra ...string) *peer {
	t.Helper()
	if listen {
		l, err := s.Listen("tcp://127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		return startPeer(t, append([]string{kind, "connect", l.URL(), role, fmt.Sprint(n)}, extra...)...)
	}
	p := startPeer(t, append([]string{kind, "bind", "tcp://127.0.0.1:*", role, fmt.Sprint(n)}, extra...)...)
	if _, err := s.Dial(p.url); err != nil {
		t.Fatal(err)
	}
	return p
}

// bothWays runs f with mqwire listening and with mqwire dialing.
func bothWays(t *testing.T, f func(t *testing.T, listen bool)) {
	for _, listen := range []bool{true, false} {
		name := "mqwire-dials"
		if listen {
			name = "mqwire-listens"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f(t, listen)
		})
	}
}

// newSocket makes an mqwire socket that dials in ZMTP where it can speak
// SP too.
func newSocket(t *testing.T, make func(...socket.Option) (*socket.Socket, error), opts ...socket.Option) *socket.Socket {
	t.Helper()
	s, err := make(opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetOption(socket.DialDialect(socket.DialectZMTP)); err != nil && !errors.Is(err, socket.ErrOptionNotApplicable) {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// recvParts receives one message and renders it as Peer.java would.
func recvParts(t *testing.T, s *socket.Socket) string {
	t.Helper()
	m, err := s.RecvContext(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Free()
	return frames(parts(m)...)
}

// sendParts sends a message of the given frames.
func sendParts(t *testing.T, s *socket.Socket, frames ...[]byte) {
	t.Helper()
	m := socket.NewMessageBytes(frames[0])
	m.Frames = frames[1:]
	if err := s.SendContext(ctx(t), m); err != nil {
		t.Fatal(err)
	}
}
