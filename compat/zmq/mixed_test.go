package zmq_test

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/socket"
)

// One mqwire pull listener serves a libzmq PUSH (ZMTP) and an nng push0
// (nngcat, SP) at the same time.
func TestLibzmqAndNNGOnOneListener(t *testing.T) {
	testutil.CheckGoroutines(t)
	nngcat, err := exec.LookPath("nngcat")
	if err != nil {
		testutil.NeedPeer(t, "nngcat (nng-utils 1.5.2)", err)
	}
	s, _ := pull.New()
	defer s.Close()
	l, err := s.Listen("tcp://127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	startPeer(t, "PUSH", "connect", l.URL(), "send", "20")
	nng := exec.Command(nngcat, "--push0", "--dial", l.URL(), "--data", "nng-msg", "--count", "20", "--interval", "0")
	out, err := nng.CombinedOutput()
	if err != nil {
		t.Fatalf("nngcat: %v\n%s", err, out)
	}
	// A libzmq message has three frames, an nng one a single body: which
	// dialect each came in proves itself.
	var fromZMQ, fromNNG int
	for fromZMQ+fromNNG < 40 {
		m, err := s.RecvContext(ctx(t))
		if err != nil {
			t.Fatalf("after %d libzmq and %d nng messages: %v", fromZMQ, fromNNG, err)
		}
		switch {
		case string(m.Body) == "nng-msg" && len(m.Frames) == 0:
			fromNNG++
		case strings.HasPrefix(string(m.Body), "msg-") && len(m.Frames) == 2:
			fromZMQ++
		default:
			t.Fatalf("unexpected message %q %q", m.Body, m.Frames)
		}
	}
	if fromZMQ != 20 || fromNNG != 20 {
		t.Fatalf("%d from libzmq, %d from nng", fromZMQ, fromNNG)
	}
}

// A libzmq PULL that restarts mid-stream: the mqwire PUSH reconnects and the
// messages sent after the restart all arrive.
func TestLibzmqRestart(t *testing.T) {
	testutil.CheckGoroutines(t)
	// The restarted peer binds the port libzmq picked for the first one.
	first := startPeer(t, "PULL", "bind", peerEndpoint(t, "tcp"), "recv", "20")
	url := first.url
	s, _ := push.New(socket.DialDialect(socket.DialectZMTP), socket.ReconnectInterval(20*time.Millisecond))
	defer s.Close()
	if _, err := s.Dial(url); err != nil {
		t.Fatal(err)
	}
	mqwireToLibzmq(t, s, first)
	first.cmd.Process.Kill() // the peer dies
	first.cmd.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for s.Stats().Pipes > 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	second := startPeer(t, "PULL", "bind", url, "recv", "20")
	mqwireToLibzmq(t, s, second)
	if r := s.Stats().Reconnects; r < 1 {
		t.Fatalf("Reconnects = %d", r)
	}
}
