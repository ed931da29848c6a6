package zmq_test

import (
	"errors"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/socket"
	"github.com/mqwire/mqwire/wire/zmtp"
)

// A libzmq peer with heartbeats every 100 ms (timeout 300 ms, TTL 500 ms)
// stays connected through 1.5 s in which only heartbeats cross: mqwire
// answers every PING (over ws, every WebSocket ping), so libzmq never drops
// the connection.
func TestLibzmqHeartbeats(t *testing.T) {
	py, err := testutil.PythonZMQ()
	if err != nil {
		testutil.NeedPeer(t, "python3-zmq (libzmq 4.3.4)", err)
	}
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			testutil.CheckGoroutines(t)
			s, _ := pull.New()
			defer s.Close()
			l, err := s.Listen(endpoint(t, tr))
			if err != nil {
				t.Fatal(err)
			}
			script, _ := filepath.Abs(filepath.Join("testdata", "heartbeat.py"))
			out, err := exec.Command(py, script, l.URL(), "100", "300", "500", "1500").CombinedOutput()
			if err != nil || !strings.Contains(string(out), "done") {
				t.Fatalf("libzmq peer: %v\n%s", err, out)
			}
			var pipes []socket.PipeID
			for _, want := range []string{"one", "two"} {
				m, err := s.RecvContext(ctx(t))
				if err != nil {
					t.Fatal(err)
				}
				if string(m.Body) != want {
					t.Fatalf("got %q, want %q", m.Body, want)
				}
				pipes = append(pipes, m.Pipe)
			}
			if pipes[0] != pipes[1] {
				t.Fatalf("the two messages came on pipes %v: the connection was dropped in between", pipes)
			}
			if st := s.Stats(); st.Connects != 1 {
				t.Fatalf("%d connections, want 1 (no reconnect)", st.Connects)
			}
		})
	}
}

// mqwire's heartbeats, with the timeout left at its default (the
// interval), keep an idle connection to a libzmq peer that has none of its
// own: libzmq answers each PING (over ws, each WebSocket ping, which is how
// libzmq's ws transport heartbeats), and the answer is life.
func TestHeartbeatsToIdleLibzmq(t *testing.T) {
	eachWay(t, func(t *testing.T, tr string, listen bool) {
		s, _ := push.New(socket.HeartbeatInterval(100*time.Millisecond), socket.DialDialect(socket.DialectZMTP))
		defer s.Close()
		ev := s.Events(16)
		p := attach(t, s, tr, listen, "PULL", "recv", "2")
		for i, body := range []string{"one", "two"} {
			if i == 1 {
				time.Sleep(600 * time.Millisecond) // idle: only heartbeats cross
				// Looked at before the last message: once the peer has it,
				// it ends, and its connection with it.
				for len(ev) > 0 {
					if e := <-ev; e.Type == socket.EventDisconnected {
						t.Fatalf("the idle pipe was dropped: %v", e.Err)
					}
				}
				if st := s.Stats(); st.Connects != 1 {
					t.Fatalf("%d connections, want 1", st.Connects)
				}
			}
			if err := s.SendContext(ctx(t), socket.NewMessageBytes([]byte(body))); err != nil {
				t.Fatal(err)
			}
			if got, want := p.line(t), frames([]byte(body)); got != want {
				t.Fatalf("libzmq got %q, want %q", got, want)
			}
		}
	})
}

// A ZMTP peer that completes its handshake and then never speaks again is
// dropped after the heartbeat timeout, with an error matching ErrTimeout.
func TestHeartbeatTimeout(t *testing.T) {
	testutil.CheckGoroutines(t)
	s, _ := pull.New(socket.HeartbeatInterval(30*time.Millisecond), socket.HeartbeatTimeout(100*time.Millisecond))
	defer s.Close()
	ev := s.Events(16)
	l, err := s.Listen("tcp://127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", strings.TrimPrefix(l.URL(), "tcp://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	hello := zmtp.AppendGreeting(nil, zmtp.Greeting{Major: zmtp.Major, Minor: zmtp.Minor31, Mechanism: zmtp.MechanismNull})
	hello = zmtp.AppendReady(hello, zmtp.Property{Name: zmtp.PropSocketType, Value: []byte(zmtp.TypePUSH)})
	if _, err := c.Write(hello); err != nil {
		t.Fatal(err)
	}
	go func() { // read what mqwire sends (greeting, READY, PINGs), answer nothing
		buf := make([]byte, 4096)
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
		}
	}()
	start := time.Now()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case e := <-ev:
			if e.Type != socket.EventDisconnected {
				continue
			}
			if !errors.Is(e.Err, socket.ErrTimeout) {
				t.Fatalf("disconnected with %v, want a heartbeat timeout", e.Err)
			}
			if d := time.Since(start); d < 100*time.Millisecond {
				t.Fatalf("dropped after %v, before the timeout", d)
			}
			return
		case <-deadline:
			t.Fatal("a silent peer was not dropped")
		}
	}
}

// Two mqwire sockets with heartbeats on stay connected while idle: each
// answers the other's PINGs, and the PONGs count as life.
func TestHeartbeatsKeepIdlePipe(t *testing.T) {
	testutil.CheckGoroutines(t)
	opts := []socket.Option{socket.HeartbeatInterval(20 * time.Millisecond), socket.HeartbeatTimeout(60 * time.Millisecond), socket.HeartbeatTTL(200 * time.Millisecond)}
	a, _ := pull.New(opts...)
	defer a.Close()
	b, _ := push.New(append(opts, socket.DialDialect(socket.DialectZMTP))...)
	defer b.Close()
	l, err := a.Listen("tcp://127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Dial(l.URL()); err != nil {
		t.Fatal(err)
	}
	if err := b.SendContext(ctx(t), socket.NewMessageBytes([]byte("first"))); err != nil {
		t.Fatal(err)
	}
	m1, err := a.RecvContext(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(400 * time.Millisecond) // idle: only heartbeats cross
	if err := b.SendContext(ctx(t), socket.NewMessageBytes([]byte("second"))); err != nil {
		t.Fatal(err)
	}
	m2, err := a.RecvContext(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if m1.Pipe != m2.Pipe || a.Stats().Connects != 1 {
		t.Fatalf("pipes %d and %d, %d connects: the idle pipe was dropped", m1.Pipe, m2.Pipe, a.Stats().Connects)
	}
}
