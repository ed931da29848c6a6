// Package zmq_test proves mqwire's ZMTP dialect against libzmq 4.3.4, driven
// through Debian's python3-zmq: push/pull and pair in both directions over
// tcp and ipc, multipart messages, and one listener serving a libzmq client
// and an SP client at once.
package zmq_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/pair"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/socket"
)

const count = 20

// peer is a running pyzmq peer.
type peer struct {
	cmd *exec.Cmd
	out *bufio.Scanner
	url string // where a bound peer listens, as libzmq reports it
}

func startPeer(t *testing.T, args ...string) *peer {
	t.Helper()
	py, err := testutil.PythonZMQ()
	if err != nil {
		testutil.NeedPeer(t, "python3-zmq (libzmq 4.3.4)", err)
	}
	script, _ := filepath.Abs(filepath.Join("testdata", "peer.py"))
	cmd := exec.Command(py, append([]string{script}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() && stderr.Len() > 0 {
			t.Logf("libzmq peer stderr:\n%s", stderr.String())
		}
	})
	p := &peer{cmd: cmd, out: bufio.NewScanner(stdout)}
	p.out.Buffer(nil, 1<<20)
	got := p.line(t)
	word, url, _ := strings.Cut(got, " ")
	if word != "ready" {
		t.Fatalf("peer said %q, want ready", got)
	}
	p.url = url
	return p
}

func (p *peer) line(t *testing.T) string {
	t.Helper()
	lines := make(chan string, 1)
	go func() {
		if p.out.Scan() {
			lines <- p.out.Text()
		} else {
			lines <- fmt.Sprintf("(peer output ended: %v)", p.out.Err())
		}
	}()
	select {
	case l := <-lines:
		return l
	case <-time.After(15 * time.Second):
		t.Fatal("no line from the libzmq peer in 15 s")
		return ""
	}
}

// frames renders a message the way the peer prints one.
var frames = testutil.Frames

// endpoint returns a listening URL for transport and the URL a peer dials.
// transports are those libzmq and mqwire share as streams: tcp, ipc and
// ws (ZMTP over WebSocket, RFC 45's ZWS 2.0, which libzmq 4.3.4 has).
var transports = []string{"tcp", "ipc", "ws"}

func endpoint(t *testing.T, transport string) string {
	switch transport {
	case "tcp":
		return "tcp://127.0.0.1:0"
	case "ws":
		return "ws://127.0.0.1:0/zmq"
	case "ipc-abstract":
		return abstractEndpoint()
	}
	return testutil.URL(t, "ipc")
}

// abstractEndpoint returns a fresh name in Linux's abstract namespace, as
// libzmq writes it ("ipc://@name").
func abstractEndpoint() string {
	return fmt.Sprintf("ipc://@mqwire-zmq-%d-%d", os.Getpid(), abstractNames.Add(1))
}

var abstractNames atomic.Int64

// peerEndpoint is a URL for the libzmq peer to bind; dial the one it
// reports (peer.url). Over tcp libzmq picks the port as it binds: a port
// picked in advance could be taken by another process before the bind.
func peerEndpoint(t *testing.T, transport string) string {
	switch transport {
	case "tcp":
		return "tcp://127.0.0.1:*"
	case "ws":
		return "ws://127.0.0.1:*/zmq"
	case "ipc-abstract":
		return abstractEndpoint()
	}
	return testutil.URL(t, "ipc")
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// mqwireToLibzmq sends count multipart messages from an mqwire socket to a
// libzmq peer that prints them.
func mqwireToLibzmq(t *testing.T, s *socket.Socket, p *peer) {
	for i := range count {
		m := socket.NewMessageBytes(fmt.Appendf(nil, "msg-%d", i))
		m.Frames = [][]byte{[]byte("second"), {}}
		if err := s.SendContext(ctx(t), m); err != nil {
			t.Fatal(err)
		}
	}
	for i := range count {
		want := frames(fmt.Appendf(nil, "msg-%d", i), []byte("second"), nil)
		if got := p.line(t); got != want {
			t.Fatalf("libzmq got %q, want %q", got, want)
		}
	}
}

// libzmqToMqwire receives count multipart messages a libzmq peer sends.
func libzmqToMqwire(t *testing.T, s *socket.Socket) {
	for i := range count {
		m, err := s.RecvContext(ctx(t))
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		got := frames(append([][]byte{m.Body}, m.Frames...)...)
		want := frames(fmt.Appendf(nil, "msg-%d", i), []byte("second"), nil)
		if got != want {
			t.Fatalf("mqwire got %q, want %q", got, want)
		}
	}
}

// TestPushPull runs over Linux's abstract namespace too ("ipc://@name"),
// as libzmq names its sockets there.
func TestPushPull(t *testing.T) {
	trs := append([]string(nil), transports...)
	if runtime.GOOS == "linux" {
		trs = append(trs, "ipc-abstract")
	}
	for _, tr := range trs {
		t.Run(tr+"/mqwire-push-listens", func(t *testing.T) {
			testutil.CheckGoroutines(t)
			s, _ := push.New()
			defer s.Close()
			l, err := s.Listen(endpoint(t, tr))
			if err != nil {
				t.Fatal(err)
			}
			p := startPeer(t, "PULL", "connect", l.URL(), "recv", fmt.Sprint(count))
			mqwireToLibzmq(t, s, p)
		})
		t.Run(tr+"/mqwire-push-dials", func(t *testing.T) {
			testutil.CheckGoroutines(t)
			p := startPeer(t, "PULL", "bind", peerEndpoint(t, tr), "recv", fmt.Sprint(count))
			s, _ := push.New(socket.DialDialect(socket.DialectZMTP))
			defer s.Close()
			if _, err := s.Dial(p.url); err != nil {
				t.Fatal(err)
			}
			mqwireToLibzmq(t, s, p)
		})
		t.Run(tr+"/mqwire-pull-listens", func(t *testing.T) {
			testutil.CheckGoroutines(t)
			s, _ := pull.New()
			defer s.Close()
			l, err := s.Listen(endpoint(t, tr))
			if err != nil {
				t.Fatal(err)
			}
			startPeer(t, "PUSH", "connect", l.URL(), "send", fmt.Sprint(count))
			libzmqToMqwire(t, s)
		})
		t.Run(tr+"/mqwire-pull-dials", func(t *testing.T) {
			testutil.CheckGoroutines(t)
			p := startPeer(t, "PUSH", "bind", peerEndpoint(t, tr), "send", fmt.Sprint(count))
			s, _ := pull.New(socket.DialDialect(socket.DialectZMTP))
			defer s.Close()
			if _, err := s.Dial(p.url); err != nil {
				t.Fatal(err)
			}
			libzmqToMqwire(t, s)
		})
	}
}

func TestPair(t *testing.T) {
	for _, tr := range transports {
		for _, listen := range []bool{true, false} {
			name := tr + "/mqwire-dials"
			if listen {
				name = tr + "/mqwire-listens"
			}
			t.Run(name, func(t *testing.T) {
				testutil.CheckGoroutines(t)
				s, _ := pair.New(socket.DialDialect(socket.DialectZMTP))
				defer s.Close()
				if listen {
					l, err := s.Listen(endpoint(t, tr))
					if err != nil {
						t.Fatal(err)
					}
					startPeer(t, "PAIR", "connect", l.URL(), "echo", fmt.Sprint(count))
				} else {
					p := startPeer(t, "PAIR", "bind", peerEndpoint(t, tr), "echo", fmt.Sprint(count))
					if _, err := s.Dial(p.url); err != nil {
						t.Fatal(err)
					}
				}
				for i := range count {
					m := socket.NewMessageBytes(fmt.Appendf(nil, "ping %d", i))
					m.Frames = [][]byte{[]byte("frame two")}
					if err := s.SendContext(ctx(t), m); err != nil {
						t.Fatal(err)
					}
					r, err := s.RecvContext(ctx(t))
					if err != nil {
						t.Fatal(err)
					}
					if string(r.Body) != fmt.Sprintf("ping %d", i) || len(r.Frames) != 1 || string(r.Frames[0]) != "frame two" {
						t.Fatalf("echo %q %q", r.Body, r.Frames)
					}
				}
			})
		}
	}
}

// One mqwire pull listener serves a libzmq PUSH and an SP push (mqwire
// dialing in SP) at the same time.
func TestOneListenerBothDialects(t *testing.T) {
	testutil.CheckGoroutines(t)
	s, _ := pull.New()
	defer s.Close()
	l, err := s.Listen("tcp://127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	startPeer(t, "PUSH", "connect", l.URL(), "send", fmt.Sprint(count))
	sp, _ := push.New()
	defer sp.Close()
	if _, err := sp.Dial(l.URL()); err != nil {
		t.Fatal(err)
	}
	for i := range count {
		if err := sp.SendContext(ctx(t), socket.NewMessageBytes(fmt.Appendf(nil, "sp-%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	var zmtpN, spN int
	for zmtpN+spN < 2*count {
		m, err := s.RecvContext(ctx(t))
		if err != nil {
			t.Fatalf("after %d zmtp and %d sp messages: %v", zmtpN, spN, err)
		}
		switch {
		case strings.HasPrefix(string(m.Body), "msg-"):
			zmtpN++
		case strings.HasPrefix(string(m.Body), "sp-"):
			spN++
		}
	}
	dialects := map[string]bool{}
	for _, ps := range s.PipeStats() {
		dialects[ps.Dialect+"/"+ps.Peer] = true
	}
	if !dialects["sp/push0"] {
		t.Errorf("pipes %v: no SP push0 peer", dialects)
	}
}

// A libzmq socket of the wrong type is refused with ErrPeerMismatch.
func TestWrongType(t *testing.T) {
	testutil.CheckGoroutines(t)
	s, _ := pull.New()
	defer s.Close()
	ev := s.Events(16)
	l, err := s.Listen("tcp://127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	startPeer(t, "PULL", "connect", l.URL(), "recv", "1")
	deadline := time.After(10 * time.Second)
	for {
		select {
		case e := <-ev:
			if e.Type == socket.EventHandshakeFailed {
				// Either side may refuse first: libzmq reads our READY
				// before it sends its own when both come in one read, and
				// then closes without a word.
				if msg := e.Err.Error(); !strings.Contains(msg, `ZMTP peer is "PULL"`) && !strings.Contains(msg, "closed the connection before its READY") {
					t.Errorf("error %v neither names the peer's type nor says it refused us", e.Err)
				}
				return
			}
		case <-deadline:
			t.Fatal("no handshake failure for a libzmq PULL talking to a pull")
		}
	}
}

// eachWay runs f over tcp and ipc, with mqwire listening and with mqwire
// dialing; the subtests are named like "tcp/mqwire-listens".
func eachWay(t *testing.T, f func(t *testing.T, transport string, listen bool)) {
	for _, tr := range transports {
		for _, listen := range []bool{true, false} {
			name := tr + "/mqwire-dials"
			if listen {
				name = tr + "/mqwire-listens"
			}
			t.Run(name, func(t *testing.T) {
				testutil.CheckGoroutines(t)
				f(t, tr, listen)
			})
		}
	}
}

// attach connects s to a libzmq peer of type kind running role: s listens
// and the peer connects, or the peer binds and s dials.
func attach(t *testing.T, s *socket.Socket, transport string, listen bool, kind, role string, args ...string) *peer {
	t.Helper()
	if listen {
		l, err := s.Listen(endpoint(t, transport))
		if err != nil {
			t.Fatal(err)
		}
		return startPeer(t, append([]string{kind, "connect", l.URL(), role}, args...)...)
	}
	p := startPeer(t, append([]string{kind, "bind", peerEndpoint(t, transport), role}, args...)...)
	if _, err := s.Dial(p.url); err != nil {
		t.Fatal(err)
	}
	return p
}
