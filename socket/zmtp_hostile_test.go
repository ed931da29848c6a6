package socket_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/socket"
	"github.com/mqwire/mqwire/wire/zmtp"
)

func greeting(major, minor byte, mechanism string) []byte {
	g := zmtp.AppendGreeting(nil, zmtp.Greeting{Major: zmtp.Major, Minor: zmtp.Minor31, Mechanism: zmtp.MechanismNull})
	g[10], g[11] = major, minor
	clear(g[12:32])
	copy(g[12:32], mechanism)
	return g
}

// zmtp20 is a ZMTP 2.0 peer's greeting, announcing socket type number
// typ, followed by then.
func zmtp20(typ byte, then ...byte) []byte {
	return append([]byte{0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, zmtp.Revision20, typ}, then...)
}

// pullAndRawPeer returns a PULL listening on tcp and a raw connection to
// it, for a hand-written peer; both closed when the test ends.
func pullAndRawPeer(t *testing.T) (*socket.Socket, net.Conn) {
	t.Helper()
	s, _ := pull.New()
	t.Cleanup(func() { s.Close() })
	l, err := s.Listen("tcp://127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", strings.TrimPrefix(l.URL(), "tcp://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return s, c
}

func readyPush() []byte {
	return zmtp.AppendReady(nil, zmtp.Property{Name: zmtp.PropSocketType, Value: []byte(zmtp.TypePUSH)})
}

// zmtpHostileCases are ZMTP peers that break the protocol, each losing only
// its own connection with a typed error.
var zmtpHostileCases = []struct {
	name     string
	send     []byte
	event    socket.EventType
	want     error
	says     string
	maxRecvs int64
}{
	{name: "bad signature", send: append([]byte{0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x00}, make([]byte, 54)...),
		event: socket.EventHandshakeFailed, want: socket.ErrProtocol},
	{name: "ZMTP 1.0 with a revision", send: greeting(0, 0, "NULL"), event: socket.EventHandshakeFailed, want: socket.ErrProtocol, says: "1.0"},
	{name: "ZMTP 2.0 PAIR", send: zmtp20(0), event: socket.EventHandshakeFailed, want: socket.ErrPeerMismatch, says: "PAIR"},
	{name: "ZMTP 2.0 unknown socket type", send: zmtp20(11), event: socket.EventHandshakeFailed, want: socket.ErrProtocol, says: "socket type 11"},
	{name: "ZMTP 2.0 identity with MORE", send: zmtp20(8, zmtp.FlagMore, 1, 'x'), event: socket.EventHandshakeFailed, want: socket.ErrProtocol, says: "identity"},
	{name: "ZMTP 2.0 long identity", send: zmtp20(8, zmtp.FlagLong, 0, 0, 0, 0, 0, 0, 1, 0), event: socket.EventHandshakeFailed, want: socket.ErrProtocol, says: "identity"},
	{name: "ZMTP 2.0 command frame", send: zmtp20(8, 0, 0, zmtp.FlagCommand, 5, 4, 'P', 'I', 'N', 'G'), event: socket.EventDisconnected, want: socket.ErrProtocol, says: "2.0"},
	{name: "unknown mechanism", send: greeting(3, 1, "FOO"), event: socket.EventHandshakeFailed, want: socket.ErrProtocol, says: "FOO"},
	{name: "data frame instead of READY", send: append(greeting(3, 1, "NULL"), 0, 1, 'x'),
		event: socket.EventHandshakeFailed, want: socket.ErrProtocol},
	{name: "property overruns READY", send: append(greeting(3, 1, "NULL"),
		zmtp.AppendCommand(nil, "READY", append([]byte{11}, append([]byte("Socket-Type"), 0, 0, 0, 200, 'P')...))...),
		event: socket.EventHandshakeFailed, want: socket.ErrProtocol},
	{name: "oversized frame", send: append(append(greeting(3, 1, "NULL"), readyPush()...),
		zmtp.AppendFrameHeader(nil, 0, 1<<40)...),
		event: socket.EventDisconnected, want: socket.ErrTooLarge},
	{name: "multipart sum over the limit", send: append(append(append(greeting(3, 1, "NULL"), readyPush()...),
		zmtp.AppendFrame(nil, zmtp.FlagMore, make([]byte, 800))...), zmtp.AppendFrameHeader(nil, 0, 800)...),
		event: socket.EventDisconnected, want: socket.ErrTooLarge, maxRecvs: 1024},
	{name: "endless empty frames", send: append(append(greeting(3, 1, "NULL"), readyPush()...),
		bytes.Repeat([]byte{zmtp.FlagMore, 0}, 40000)...),
		event: socket.EventDisconnected, want: socket.ErrProtocol, says: "frames", maxRecvs: 64 << 10},
	{name: "reserved flag bits", send: append(append(greeting(3, 1, "NULL"), readyPush()...), 0x80, 1, 'x'),
		event: socket.EventDisconnected, want: socket.ErrProtocol},
	{name: "command with MORE", send: append(append(greeting(3, 1, "NULL"), readyPush()...), zmtp.FlagCommand|zmtp.FlagMore, 5, 4, 'P', 'I', 'N', 'G'),
		event: socket.EventDisconnected, want: socket.ErrProtocol},
	{name: "command without a name", send: append(append(greeting(3, 1, "NULL"), readyPush()...), zmtp.FlagCommand, 1, 0),
		event: socket.EventDisconnected, want: socket.ErrProtocol},
	{name: "ERROR after the handshake", send: append(append(greeting(3, 1, "NULL"), readyPush()...), zmtp.AppendError(nil, "go away")...),
		event: socket.EventDisconnected, want: socket.ErrProtocol, says: "go away"},
}

// Each hostile ZMTP peer loses its connection with a typed error and an
// event, while a good ZMTP client of the same listener keeps being served.
func TestZMTPHostilePeers(t *testing.T) {
	testutil.CheckGoroutines(t)
	for _, tc := range zmtpHostileCases {
		t.Run(tc.name, func(t *testing.T) {
			limit := tc.maxRecvs
			if limit == 0 {
				limit = socket.DefaultMaxRecvSize
			}
			s, _ := pull.New(socket.MaxRecvSize(limit), socket.HandshakeTimeout(2*time.Second))
			defer s.Close()
			ev := s.Events(64)
			l, err := s.Listen("tcp://127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			good, _ := push.New(socket.DialDialect(socket.DialectZMTP))
			defer good.Close()
			if _, err := good.Dial(l.URL()); err != nil {
				t.Fatal(err)
			}
			c, err := net.Dial("tcp", strings.TrimPrefix(l.URL(), "tcp://"))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			go func() { // take what the socket says
				buf := make([]byte, 4096)
				for {
					if _, err := c.Read(buf); err != nil {
						return
					}
				}
			}()
			c.Write(tc.send)
			local := c.LocalAddr().String()
			deadline := time.After(5 * time.Second)
		wait:
			for {
				select {
				case e := <-ev:
					if e.Remote != local || e.Type != tc.event {
						continue
					}
					if !errors.Is(e.Err, tc.want) {
						t.Fatalf("%v: error %v does not match %v", e.Type, e.Err, tc.want)
					}
					if tc.says != "" && !strings.Contains(e.Err.Error(), tc.says) {
						t.Fatalf("error %q does not say %q", e.Err, tc.says)
					}
					break wait
				case <-deadline:
					t.Fatalf("no %v for the hostile peer", tc.event)
				}
			}
			st := s.Stats()
			if st.HandshakeFailures+st.ProtocolErrors != 1 {
				t.Fatalf("handshake failures %d + protocol errors %d, want 1", st.HandshakeFailures, st.ProtocolErrors)
			}
			for i := range 5 {
				body := fmt.Sprint("good ", i)
				if err := good.SendBytes([]byte(body)); err != nil {
					t.Fatal(err)
				}
				m, err := s.RecvContext(testCtx(t))
				if err != nil || string(m.Body) != body {
					t.Fatalf("good client: %v %v", m, err)
				}
			}
		})
	}
}

// A ZMTP 2.0 peer (libzmq 3.x, JeroMQ 0.3) is spoken to as libzmq 4.3.4
// speaks to it: our signature and revision, then, once its revision says
// 2.0, our socket type's number and an identity frame, and nothing else
// (no READY); its messages, after its identity frame, arrive whole.
func TestZMTP20Peer(t *testing.T) {
	testutil.CheckGoroutines(t)
	s, c := pullAndRawPeer(t)
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(zmtp20(8, 0, 4, 'j', 'a', 'v', 'a')); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 14)
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	// FF, 8 padding bytes, 7F, revision 3; PULL is 7; an empty identity.
	want := []byte{0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3, 7, 0, 0}
	if string(got[:1]) != string(want[:1]) || string(got[9:]) != string(want[9:]) {
		t.Fatalf("mqwire sent % x, want % x (padding aside)", got, want)
	}
	c.Write(zmtp.AppendFrame(zmtp.AppendFrame(nil, zmtp.FlagMore, []byte("one")), 0, []byte("two")))
	m, err := s.RecvContext(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Body) != "one" || len(m.Frames) != 1 || string(m.Frames[0]) != "two" {
		t.Fatalf("got %q %q", m.Body, m.Frames)
	}
	for _, ps := range s.PipeStats() {
		if ps.Dialect != "zmtp" || ps.Peer != zmtp.TypePUSH || ps.Revision != "2.0" || ps.Mechanism != zmtp.MechanismNull {
			t.Fatalf("pipe %+v, want a zmtp 2.0 PUSH peer", ps)
		}
	}
	c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if n, _ := c.Read(got); n != 0 {
		t.Fatalf("mqwire sent % x after its identity frame", got[:n])
	}
}

// PipeStats tells the revision a ZMTP pipe speaks, the lower of the two
// sides', and its mechanism.
func TestPipeStatsRevision(t *testing.T) {
	for _, tc := range []struct {
		hello    []byte
		revision string
	}{
		{append(greeting(3, 0, "NULL"), readyPush()...), "3.0"},
		{append(greeting(3, 1, "NULL"), readyPush()...), "3.1"},
		{append(greeting(3, 7, "NULL"), readyPush()...), "3.1"},
		{zmtp20(8, 0, 0), "2.0"},
	} {
		t.Run(tc.revision, func(t *testing.T) {
			s, c := pullAndRawPeer(t)
			c.Write(append(tc.hello, zmtp.AppendFrame(nil, 0, []byte("hi"))...))
			m, err := s.RecvContext(testCtx(t))
			if err != nil {
				t.Fatal(err)
			}
			m.Free()
			ps := s.PipeStats()
			if len(ps) != 1 || ps[0].Revision != tc.revision || ps[0].Mechanism != zmtp.MechanismNull {
				t.Fatalf("pipes %+v, want one speaking ZMTP %s with NULL", ps, tc.revision)
			}
		})
	}
}
