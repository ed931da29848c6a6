package zmq_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/socket"
)

// floodMsgs is how many messages each flood carries: enough for the
// heartbeats (every 2 ms) to cross many times while it runs.
const floodMsgs = 200_000

// floodWait bounds each send and receive of a flood. The floods check
// order and framing, not speed, and a Python peer on a machine busy with
// the race detector's test binaries has stalled long enough to run out
// the tests' usual 10 s (once in CI, at message 196,648 of 200,000); the
// Python end's own receive timeout (testdata/flood.py) is the same.
const floodWait = 60 * time.Second

// floodCtx is ctx with floodWait.
func floodCtx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), floodWait)
	t.Cleanup(cancel)
	return c
}

// mqwire floods a libzmq PULL while both ends send heartbeats every 2 ms:
// every PING and PONG mqwire writes must fall between frames, and libzmq
// must get every message, in order, on one connection. (The socket
// package's TestHeartbeatsDuringFlood is what caught commands written
// inside a frame; this checks the same against libzmq.)
func TestFloodToLibzmqWithHeartbeats(t *testing.T) {
	testutil.CheckGoroutines(t)
	py, err := testutil.PythonZMQ()
	if err != nil {
		testutil.NeedPeer(t, "python3-zmq (libzmq 4.3.4)", err)
	}
	script, _ := filepath.Abs(filepath.Join("testdata", "flood.py"))
	cmd := exec.Command(py, script, "pull", "200000", "2")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	out := bufio.NewScanner(stdout)
	if !out.Scan() || !strings.HasPrefix(out.Text(), "endpoint ") {
		t.Fatalf("libzmq peer: %q", out.Text())
	}
	url := strings.TrimPrefix(out.Text(), "endpoint ")
	p, _ := push.New(socket.DialDialect(socket.DialectZMTP), socket.HeartbeatInterval(2*time.Millisecond),
		socket.HeartbeatTimeout(10*time.Second), socket.Linger(20*time.Second))
	defer p.Close()
	if _, err := p.Dial(url); err != nil {
		t.Fatal(err)
	}
	// What the peer says comes in as it says it, so that a send that
	// fails can tell what the peer said by then (a timeout of its own, a
	// message out of order).
	saidc := make(chan []string, 1)
	go func() {
		var said []string
		for out.Scan() {
			said = append(said, out.Text())
		}
		saidc <- said
	}()
	for i := range floodMsgs {
		m := socket.NewMessage(8 + i%100)
		clear(m.Body)
		binary.BigEndian.PutUint64(m.Body, uint64(i))
		if err := p.SendContext(floodCtx(t), m); err != nil {
			cmd.Process.Kill()
			t.Fatalf("message %d: %v; pipes %+v; the libzmq peer said %q", i, err, p.PipeStats(), <-saidc)
		}
	}
	said := <-saidc
	if err := cmd.Wait(); err != nil || len(said) == 0 || said[len(said)-1] != "ok" {
		t.Fatalf("libzmq peer: %v %q", err, said)
	}
	if r := p.Stats().Reconnects; r != 0 {
		t.Fatalf("%d reconnects", r)
	}
}

// A libzmq PUSH floods mqwire's PULL while both ends send heartbeats every
// 2 ms: mqwire's pull answers the PINGs between messages where it reads
// them, keeps the one connection, and gets every message, in order.
func TestFloodFromLibzmqWithHeartbeats(t *testing.T) {
	testutil.CheckGoroutines(t)
	py, err := testutil.PythonZMQ()
	if err != nil {
		testutil.NeedPeer(t, "python3-zmq (libzmq 4.3.4)", err)
	}
	s, _ := pull.New(socket.HeartbeatInterval(2*time.Millisecond), socket.HeartbeatTimeout(10*time.Second))
	defer s.Close()
	l, err := s.Listen("tcp://127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	script, _ := filepath.Abs(filepath.Join("testdata", "flood.py"))
	cmd := exec.Command(py, script, "push", l.URL(), "200000", "2")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close() // the peer closes once it reads a line or EOF
	outc := make(chan []byte, 1)
	go func() {
		b, _ := cmd.CombinedOutput()
		outc <- b
	}()
	for i := range floodMsgs {
		m, err := s.RecvContext(floodCtx(t))
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if got := binary.BigEndian.Uint64(m.Body); got != uint64(i) || len(m.Body) != 8+i%100 {
			t.Fatalf("message %d is number %d, of %d bytes", i, got, len(m.Body))
		}
		m.Free()
	}
	stdin.Write([]byte("close\n"))
	if b := <-outc; !strings.Contains(string(b), "done") {
		t.Fatalf("libzmq peer: %s", b)
	}
	if st := s.Stats(); st.Connects != 1 {
		t.Fatalf("%d connections, want 1 (no reconnect)", st.Connects)
	}
}
