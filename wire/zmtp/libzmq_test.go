package zmtp_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/wire/zmtp"
)

// Bytes libzmq 4.3.4 (Debian bookworm, through python3-zmq) sent to a raw
// TCP listener that greeted it as ZMTP 3.1 (and, for the SUB, 3.0) with the
// NULL mechanism. TestLibzmqPeer checks them against the live peer again.
var (
	// The greeting of a socket with no routing id: the padding holds 0 + 1.
	libzmqGreeting = cat(0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 3, 1, "NULL", make([]byte, 16), 0, make([]byte, 31))
	// With routing id "abc" the padding holds 3 + 1.
	libzmqGreetingABC = cat(0xFF, 0, 0, 0, 0, 0, 0, 0, 4, 0x7F, 3, 1, "NULL", make([]byte, 16), 0, make([]byte, 31))
	// The PLAIN client's greeting.
	libzmqGreetingPlain = cat(0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 3, 1, "PLAIN", make([]byte, 15), 0, make([]byte, 31))

	libzmqReadyREQ = cat(0x04, 0x26, 5, "READY", 11, "Socket-Type", 0, 0, 0, 3, "REQ",
		8, "Identity", 0, 0, 0, 0)
	libzmqReadyDEALER = cat(0x04, 0x29, 5, "READY", 11, "Socket-Type", 0, 0, 0, 6, "DEALER",
		8, "Identity", 0, 0, 0, 0)
	libzmqReadyDEALERABC = cat(0x04, 0x2c, 5, "READY", 11, "Socket-Type", 0, 0, 0, 6, "DEALER",
		8, "Identity", 0, 0, 0, 3, "abc")
	libzmqReadySUB = cat(0x04, 0x19, 5, "READY", 11, "Socket-Type", 0, 0, 0, 3, "SUB")

	// SUB with SUBSCRIBE "topic": a command to a 3.1 peer, a data message to 3.0.
	libzmqSubscribe31 = cat(0x04, 0x0f, 9, "SUBSCRIBE", "topic")
	libzmqSubscribe30 = cat(0x00, 0x06, 1, "topic")

	// REQ sending "hello": the empty delimiter (MORE), then the body.
	libzmqRequest = cat(0x01, 0x00, 0x00, 0x05, "hello")

	// PLAIN client (REQ, user admin, password secret): HELLO, then INITIATE
	// with the same metadata as a NULL READY.
	libzmqHello    = cat(0x04, 0x13, 5, "HELLO", 5, "admin", 6, "secret")
	libzmqInitiate = cat(0x04, 0x29, 8, "INITIATE", 11, "Socket-Type", 0, 0, 0, 3, "REQ",
		8, "Identity", 0, 0, 0, 0)

	// PLAIN server (REP with a ZAP handler that knows admin / secret): its
	// greeting (as-server 0 although it is the server), WELCOME, READY, and
	// ERROR for a wrong password, malformed: 5E 'RROR' instead of 05 'ERROR'.
	libzmqWelcome  = cat(0x04, 0x08, 7, "WELCOME")
	libzmqReadyREP = cat(0x04, 0x19, 5, "READY", 11, "Socket-Type", 0, 0, 0, 3, "REP")
	libzmqError400 = cat(0x04, 0x09, 0x5E, "RROR", 3, "400")
)

// TestRecordedLibzmqBytes decodes what libzmq sent and checks that the
// encoders produce the same bytes for the same content.
func TestRecordedLibzmqBytes(t *testing.T) {
	for _, tc := range []struct {
		raw []byte
		g   zmtp.Greeting
	}{
		{libzmqGreeting, zmtp.Greeting{Major: 3, Minor: 1, Mechanism: zmtp.MechanismNull, Padding: 1}},
		{libzmqGreetingABC, zmtp.Greeting{Major: 3, Minor: 1, Mechanism: zmtp.MechanismNull, Padding: 4}},
		{libzmqGreetingPlain, zmtp.Greeting{Major: 3, Minor: 1, Mechanism: zmtp.MechanismPlain, Padding: 1}},
	} {
		checkGreeting(t, tc.raw, tc.g)
	}
	for _, tc := range []struct {
		raw   []byte
		props []zmtp.Property
	}{
		{libzmqReadyREQ, []zmtp.Property{prop(zmtp.PropSocketType, "REQ"), prop(zmtp.PropIdentity, "")}},
		{libzmqReadyDEALER, []zmtp.Property{prop(zmtp.PropSocketType, "DEALER"), prop(zmtp.PropIdentity, "")}},
		{libzmqReadyDEALERABC, []zmtp.Property{prop(zmtp.PropSocketType, "DEALER"), prop(zmtp.PropIdentity, "abc")}},
		{libzmqReadySUB, []zmtp.Property{prop(zmtp.PropSocketType, "SUB")}},
		{libzmqReadyREP, []zmtp.Property{prop(zmtp.PropSocketType, "REP")}},
	} {
		checkReady(t, tc.raw, tc.props)
	}
	checkExact(t, "SUBSCRIBE", libzmqSubscribe31, zmtp.AppendSubscribe(nil, []byte("topic")))
	checkExact(t, "3.0 subscription", libzmqSubscribe30,
		zmtp.AppendFrame(nil, 0, zmtp.AppendSubscription(nil, true, []byte("topic"))))
	checkExact(t, "request", libzmqRequest,
		zmtp.AppendFrame(zmtp.AppendFrame(nil, zmtp.FlagMore, nil), 0, []byte("hello")))
	checkExact(t, "HELLO", libzmqHello, zmtp.AppendHello(nil, "admin", "secret"))
	checkExact(t, "WELCOME", libzmqWelcome, zmtp.AppendWelcome(nil))
	checkExact(t, "ERROR", libzmqError400, zmtp.AppendErrorLibzmqPLAIN(nil, "400"))
	checkExact(t, "INITIATE", libzmqInitiate,
		zmtp.AppendInitiate(nil, prop(zmtp.PropSocketType, "REQ"), prop(zmtp.PropIdentity, "")))

	// And the decoders read them.
	if u, p, err := zmtp.ParseHello(body(t, libzmqHello)); err != nil || string(u) != "admin" || string(p) != "secret" {
		t.Errorf("ParseHello: %q %q %v", u, p, err)
	}
	if r, err := zmtp.ParseError(body(t, libzmqError400)); err != nil || string(r) != "400" {
		t.Errorf("ParseError: %q %v", r, err)
	}
	if name, data, err := zmtp.ParseCommand(body(t, libzmqError400)); err != nil || string(name) != "ERROR" || string(data) != "\x03400" {
		t.Errorf("ParseCommand: %q %q %v", name, data, err)
	}
	if err := zmtp.ParseWelcome(body(t, libzmqWelcome)); err != nil {
		t.Error(err)
	}
	if md, err := zmtp.ParseInitiate(body(t, libzmqInitiate)); err != nil || len(md) != 2 {
		t.Errorf("ParseInitiate: %v %v", md, err)
	}
	if topic, err := zmtp.ParseSubscribe(body(t, libzmqSubscribe31)); err != nil || string(topic) != "topic" {
		t.Errorf("ParseSubscribe: %q %v", topic, err)
	}
	if sub, topic, ok := zmtp.ParseSubscription(libzmqSubscribe30[2:]); !ok || !sub || string(topic) != "topic" {
		t.Errorf("ParseSubscription: %v %q %v", sub, topic, ok)
	}
}

func prop(name, value string) zmtp.Property {
	return zmtp.Property{Name: name, Value: []byte(value)}
}

func checkExact(t *testing.T, what string, libzmq, ours []byte) {
	t.Helper()
	if !bytes.Equal(libzmq, ours) {
		t.Errorf("%s: libzmq sent\n% x\nwe encode\n% x", what, libzmq, ours)
	}
}

// checkGreeting parses raw, compares it with want and re-encodes it.
func checkGreeting(t *testing.T, raw []byte, want zmtp.Greeting) {
	t.Helper()
	if err := zmtp.CheckSignature(raw[:zmtp.SignatureSize]); err != nil {
		t.Errorf("CheckSignature(% x): %v", raw[:zmtp.SignatureSize], err)
	}
	if err := zmtp.CheckRevision(raw[zmtp.RevisionOffset]); err != nil {
		t.Errorf("CheckRevision: %v", err)
	}
	g, err := zmtp.ParseGreeting(raw)
	if err != nil || g != want {
		t.Errorf("ParseGreeting(% x) = %+v, %v; want %+v", raw, g, err, want)
	}
	checkExact(t, "greeting", raw, zmtp.AppendGreeting(nil, want))
}

// checkReady parses a READY frame, compares its metadata with want (names
// exactly) and re-encodes it.
func checkReady(t *testing.T, raw []byte, want []zmtp.Property) {
	t.Helper()
	md, err := zmtp.ParseReady(body(t, raw))
	if err != nil {
		t.Errorf("ParseReady(% x): %v", raw, err)
		return
	}
	if fmt.Sprint(md) != fmt.Sprint(zmtp.Metadata(want)) {
		t.Errorf("ParseReady(% x) = %q, want %q", raw, md, want)
	}
	checkExact(t, "READY", raw, zmtp.AppendReady(nil, want...))
}

func pythonZMQ() (string, error) { return testutil.PythonZMQ() }

// peerScript is the libzmq side: a socket of the given type that connects
// (or binds and prints its port), sends what it is told, and prints what it
// receives as a Python list of byte strings.
const peerScript = `
import sys, zmq
kind, mode, endpoint = sys.argv[1], sys.argv[2], sys.argv[3]
opts = dict(a.split("=", 1) for a in sys.argv[4:])
ctx = zmq.Context()
s = ctx.socket(getattr(zmq, kind))
s.setsockopt(zmq.LINGER, 2000)
s.setsockopt(zmq.RCVTIMEO, 8000)
if "identity" in opts:
    s.setsockopt(zmq.IDENTITY, opts["identity"].encode())
if "plain_user" in opts:
    s.setsockopt(zmq.PLAIN_USERNAME, opts["plain_user"].encode())
    s.setsockopt(zmq.PLAIN_PASSWORD, opts["plain_password"].encode())
auth = None
if "plain_server" in opts:
    from zmq.auth.thread import ThreadAuthenticator
    auth = ThreadAuthenticator(ctx)
    auth.start()
    user, password = opts["plain_server"].split(":")
    auth.configure_plain(domain="*", passwords={user: password})
    s.setsockopt(zmq.PLAIN_SERVER, 1)
if kind == "SUB":
    s.setsockopt(zmq.SUBSCRIBE, opts.get("subscribe", "").encode())
mon = s.get_monitor_socket() if "monitor" in opts else None
if mode == "bind":
    print(s.bind_to_random_port("tcp://127.0.0.1"), flush=True)
else:
    s.connect(endpoint)
if mon:
    # Print how the handshake ended, as libzmq's monitor reports it.
    from zmq.utils.monitor import recv_monitor_message
    mon.setsockopt(zmq.RCVTIMEO, 8000)
    ends = (zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL, zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL,
            zmq.EVENT_HANDSHAKE_FAILED_AUTH, zmq.EVENT_HANDSHAKE_SUCCEEDED)
    try:
        while True:
            m = recv_monitor_message(mon)
            if m["event"] in ends:
                print("event", m["event"], m["value"], flush=True)
                break
    except zmq.Again:
        print("timeout", flush=True)
    s.disable_monitor()
    mon.close(0)
    s.close(0)
    ctx.term()
    sys.exit(0)
if "send" in opts:
    s.send(opts["send"].encode())
try:
    msg = s.recv_multipart()
    print(msg, flush=True)
    if kind == "REP":
        s.send(b"world")
except zmq.Again:
    print("timeout", flush=True)
s.close()
if auth:
    auth.stop()
ctx.term()
`

// peer is a running Python libzmq socket.
type peer struct {
	cmd    *exec.Cmd
	out    *bufio.Reader
	stderr bytes.Buffer
}

func startPeer(t *testing.T, args ...string) *peer {
	t.Helper()
	py, err := pythonZMQ()
	if err != nil {
		testutil.NeedPeer(t, "python3-zmq (libzmq 4.3.4)", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	p := &peer{cmd: exec.CommandContext(ctx, py, append([]string{"-c", peerScript}, args...)...)}
	p.cmd.Stderr = &p.stderr
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.out = bufio.NewReader(stdout)
	if err := p.cmd.Start(); err != nil {
		cancel()
		testutil.NeedPeer(t, "python3-zmq (libzmq 4.3.4)", err)
	}
	t.Cleanup(func() {
		cancel()
		p.cmd.Wait()
	})
	return p
}

// line returns the next line the peer printed.
func (p *peer) line(t *testing.T) string {
	t.Helper()
	s, err := p.out.ReadString('\n')
	if err != nil {
		t.Fatalf("peer output: %v (stderr: %s)", err, p.stderr.String())
	}
	return strings.TrimSpace(s)
}

// conn wraps a TCP connection to libzmq with helpers that fail the test.
type conn struct {
	t *testing.T
	c net.Conn
}

func (c conn) read(n int) []byte {
	c.t.Helper()
	b := make([]byte, n)
	if _, err := io.ReadFull(c.c, b); err != nil {
		c.t.Fatalf("reading %d bytes: %v", n, err)
	}
	return b
}

func (c conn) write(b []byte) {
	c.t.Helper()
	if _, err := c.c.Write(b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// frame reads one frame and returns it whole, with its header and body.
func (c conn) frame() (raw []byte, h zmtp.FrameHeader, body []byte) {
	c.t.Helper()
	raw = c.read(1)
	raw = append(raw, c.read(zmtp.FrameHeaderLen(raw[0])-1)...)
	h, n, err := zmtp.ParseFrameHeader(raw, 1<<20)
	if err != nil || n != len(raw) {
		c.t.Fatalf("frame header % x: %d, %v", raw, n, err)
	}
	raw = append(raw, c.read(int(h.Size))...)
	return raw, h, raw[n:]
}

// greet exchanges greetings the way libzmq expects: read its 10-byte
// signature, send our whole greeting (and more, if extra is given), read
// the rest of its greeting. It returns the peer's 64 bytes.
func (c conn) greet(ours zmtp.Greeting, extra []byte, checkPieces bool) []byte {
	c.t.Helper()
	sig := c.read(zmtp.SignatureSize)
	if err := zmtp.CheckSignature(sig); err != nil {
		c.t.Fatalf("libzmq signature % x: %v", sig, err)
	}
	if checkPieces {
		// libzmq sends nothing more until it has our signature.
		c.c.SetReadDeadline(time.Now().Add(150 * time.Millisecond))
		var one [1]byte
		if n, err := c.c.Read(one[:]); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
			c.t.Fatalf("libzmq sent byte 10 (%d, %v) before our signature", n, err)
		}
		c.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	}
	c.write(append(zmtp.AppendGreeting(nil, ours), extra...))
	return append(sig, c.read(zmtp.GreetingSize-zmtp.SignatureSize)...)
}

// dialLibzmq / acceptLibzmq set up the TCP connection with a deadline.
func acceptLibzmq(t *testing.T, ln net.Listener) conn {
	t.Helper()
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(10 * time.Second))
	c, err := ln.Accept()
	if err != nil {
		t.Fatalf("accept: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return conn{t, c}
}

func dialLibzmq(t *testing.T, port string) conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", port), 10*time.Second)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return conn{t, c}
}

// TestLibzmqPeer connects a real libzmq 4.3.4 socket (through python3-zmq)
// to a raw listener that speaks ZMTP with this package, records what libzmq
// sends, checks it against the recorded bytes and the encoders, and checks
// that libzmq accepts what the encoders produce (it answers, and the Python
// side prints what it received).
func TestLibzmqPeer(t *testing.T) {
	if _, err := pythonZMQ(); err != nil {
		testutil.NeedPeer(t, "python3-zmq (libzmq 4.3.4)", err)
	}
	for _, tc := range []struct {
		name      string
		kind      string
		args      []string
		minor     byte
		us        string // our socket type
		greeting  []byte
		ready     []byte
		exchange  func(t *testing.T, c conn)
		printed   string
		pieceTest bool
	}{
		{
			name: "REQ", kind: "REQ", args: []string{"send=hello"}, minor: 1, us: zmtp.TypeREP,
			greeting: libzmqGreeting, ready: libzmqReadyREQ, pieceTest: true,
			exchange: func(t *testing.T, c conn) {
				request := readMessage(c)
				checkExact(t, "request", libzmqRequest, request)
				c.write(zmtp.AppendFrame(zmtp.AppendFrame(nil, zmtp.FlagMore, nil), 0, []byte("world")))
			},
			printed: "[b'world']",
		},
		{
			name: "DEALER", kind: "DEALER", args: []string{"send=hello"}, minor: 1, us: zmtp.TypeROUTER,
			greeting: libzmqGreeting, ready: libzmqReadyDEALER,
			exchange: func(t *testing.T, c conn) {
				checkExact(t, "message", cat(0, 5, "hello"), readMessage(c))
				c.write(zmtp.AppendFrame(zmtp.AppendFrame(nil, zmtp.FlagMore, []byte("a")), 0, []byte("world")))
			},
			printed: "[b'a', b'world']",
		},
		{
			name: "DEALER identity", kind: "DEALER", args: []string{"send=hello", "identity=abc"}, minor: 1,
			us: zmtp.TypeDEALER, greeting: libzmqGreetingABC, ready: libzmqReadyDEALERABC,
			exchange: func(t *testing.T, c conn) {
				checkExact(t, "message", cat(0, 5, "hello"), readMessage(c))
				c.write(zmtp.AppendFrame(nil, 0, bytes.Repeat([]byte("w"), 300)))
			},
			printed: "[b'" + strings.Repeat("w", 300) + "']",
		},
		{
			name: "SUB 3.1", kind: "SUB", args: []string{"subscribe=topic"}, minor: 1, us: zmtp.TypePUB,
			greeting: libzmqGreeting, ready: libzmqReadySUB,
			exchange: func(t *testing.T, c conn) {
				raw, _, b := c.frame()
				checkExact(t, "SUBSCRIBE", libzmqSubscribe31, raw)
				if topic, err := zmtp.ParseSubscribe(b); err != nil || string(topic) != "topic" {
					t.Errorf("ParseSubscribe: %q, %v", topic, err)
				}
				c.write(zmtp.AppendFrame(nil, 0, []byte("other")))
				c.write(zmtp.AppendFrame(nil, 0, []byte("topic-x")))
			},
			printed: "[b'topic-x']",
		},
		{
			name: "SUB 3.0", kind: "SUB", args: []string{"subscribe=topic"}, minor: 0, us: zmtp.TypeXPUB,
			greeting: libzmqGreeting, ready: libzmqReadySUB,
			exchange: func(t *testing.T, c conn) {
				raw, h, b := c.frame()
				checkExact(t, "3.0 subscription", libzmqSubscribe30, raw)
				if sub, topic, ok := zmtp.ParseSubscription(b); h.Command() || !ok || !sub || string(topic) != "topic" {
					t.Errorf("ParseSubscription: %v %q %v", sub, topic, ok)
				}
				c.write(zmtp.AppendFrame(nil, 0, []byte("topic-y")))
			},
			printed: "[b'topic-y']",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			p := startPeer(t, append([]string{tc.kind, "connect", "tcp://" + ln.Addr().String()}, tc.args...)...)
			c := acceptLibzmq(t, ln)
			ours := zmtp.Greeting{Major: 3, Minor: tc.minor, Mechanism: zmtp.MechanismNull}
			readyOut := zmtp.AppendReady(nil, prop(zmtp.PropSocketType, tc.us))
			g := c.greet(ours, readyOut, tc.pieceTest)
			t.Logf("libzmq %s greeting: % x", tc.name, g)
			checkExact(t, "greeting", tc.greeting, g)
			pg, err := zmtp.ParseGreeting(g)
			if err != nil {
				t.Fatal(err)
			}
			checkExact(t, "re-encoded greeting", g, zmtp.AppendGreeting(nil, pg))

			raw, _, b := c.frame()
			t.Logf("libzmq %s READY: % x", tc.name, raw)
			checkExact(t, "READY", tc.ready, raw)
			md, err := zmtp.ParseReady(b)
			if err != nil {
				t.Fatal(err)
			}
			peerType, _ := md.Get(zmtp.PropSocketType)
			if !zmtp.Compatible(tc.us, string(peerType)) {
				t.Errorf("libzmq %s is not compatible with our %s", peerType, tc.us)
			}
			checkExact(t, "re-encoded READY", raw, zmtp.AppendReady(nil, md...))

			tc.exchange(t, c)
			if got := p.line(t); got != tc.printed {
				t.Errorf("libzmq received %s, want %s (stderr: %s)", got, tc.printed, p.stderr.String())
			}
		})
	}

	t.Run("PLAIN client", func(t *testing.T) {
		t.Parallel()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		p := startPeer(t, "REQ", "connect", "tcp://"+ln.Addr().String(),
			"send=hello", "plain_user=admin", "plain_password=secret")
		c := acceptLibzmq(t, ln)
		g := c.greet(zmtp.Greeting{Major: 3, Minor: 1, Mechanism: zmtp.MechanismPlain, AsServer: true}, nil, false)
		t.Logf("libzmq PLAIN client greeting: % x", g)
		checkExact(t, "greeting", libzmqGreetingPlain, g)

		raw, _, b := c.frame()
		t.Logf("libzmq HELLO: % x", raw)
		checkExact(t, "HELLO", libzmqHello, raw)
		if u, pw, err := zmtp.ParseHello(b); err != nil || string(u) != "admin" || string(pw) != "secret" {
			t.Fatalf("ParseHello: %q %q %v", u, pw, err)
		}
		c.write(zmtp.AppendWelcome(nil))

		raw, _, b = c.frame()
		t.Logf("libzmq INITIATE: % x", raw)
		checkExact(t, "INITIATE", libzmqInitiate, raw)
		md, err := zmtp.ParseInitiate(b)
		if err != nil {
			t.Fatal(err)
		}
		checkExact(t, "re-encoded INITIATE", raw, zmtp.AppendInitiate(nil, md...))
		c.write(zmtp.AppendReady(nil, prop(zmtp.PropSocketType, zmtp.TypeREP)))

		checkExact(t, "request", libzmqRequest, readMessage(c))
		c.write(zmtp.AppendFrame(zmtp.AppendFrame(nil, zmtp.FlagMore, nil), 0, []byte("plain")))
		if got := p.line(t); got != "[b'plain']" {
			t.Errorf("libzmq received %s (stderr: %s)", got, p.stderr.String())
		}
	})

	// What a libzmq PLAIN client makes of our two ERROR forms.
	for _, tc := range []struct {
		name  string
		frame []byte
		event string
	}{
		// ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL, ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND
		{"well-formed", zmtp.AppendError(nil, "400"), "event 8192 268435457"},
		// ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, status code 400
		{"libzmq form", zmtp.AppendErrorLibzmqPLAIN(nil, "400"), "event 16384 400"},
	} {
		t.Run("PLAIN client refused/"+tc.name, func(t *testing.T) {
			t.Parallel()
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			p := startPeer(t, "REQ", "connect", "tcp://"+ln.Addr().String(),
				"plain_user=admin", "plain_password=wrong", "monitor=1")
			c := acceptLibzmq(t, ln)
			c.greet(zmtp.Greeting{Major: 3, Minor: 1, Mechanism: zmtp.MechanismPlain, AsServer: true}, nil, false)
			if _, _, err := zmtp.ParseHello(body(t, readCommand(c))); err != nil {
				t.Fatal(err)
			}
			c.write(tc.frame)
			if got := p.line(t); got != tc.event {
				t.Errorf("libzmq reported %q, want %q (stderr: %s)", got, tc.event, p.stderr.String())
			}
		})
	}

	t.Run("PLAIN server", func(t *testing.T) {
		t.Parallel()
		p := startPeer(t, "REP", "bind", "-", "plain_server=admin:secret")
		port := p.line(t)
		if _, err := strconv.Atoi(port); err != nil {
			t.Fatalf("peer printed %q, want a port", port)
		}
		client := zmtp.Greeting{Major: 3, Minor: 1, Mechanism: zmtp.MechanismPlain}

		// A wrong password: WELCOME never comes, ERROR "400" does.
		c := dialLibzmq(t, port)
		g := c.greet(client, zmtp.AppendHello(nil, "admin", "wrong"), false)
		t.Logf("libzmq PLAIN server greeting: % x", g)
		checkExact(t, "greeting", libzmqGreetingPlain, g)
		raw, _, b := c.frame()
		t.Logf("libzmq ERROR: % x", raw)
		checkExact(t, "ERROR", libzmqError400, raw)
		if r, err := zmtp.ParseError(b); err != nil || string(r) != "400" {
			t.Errorf("ParseError: %q %v", r, err)
		}
		c.c.Close()

		// The right one.
		c = dialLibzmq(t, port)
		c.greet(client, zmtp.AppendHello(nil, "admin", "secret"), false)
		raw, _, b = c.frame()
		t.Logf("libzmq WELCOME: % x", raw)
		checkExact(t, "WELCOME", libzmqWelcome, raw)
		if err := zmtp.ParseWelcome(b); err != nil {
			t.Fatal(err)
		}
		c.write(zmtp.AppendInitiate(nil, prop(zmtp.PropSocketType, zmtp.TypeREQ), prop(zmtp.PropIdentity, "")))
		raw, _, b = c.frame()
		t.Logf("libzmq REP READY: % x", raw)
		checkExact(t, "READY", libzmqReadyREP, raw)
		if _, err := zmtp.ParseReady(b); err != nil {
			t.Fatal(err)
		}
		c.write(zmtp.AppendFrame(zmtp.AppendFrame(nil, zmtp.FlagMore, nil), 0, []byte("hi")))
		if got := p.line(t); got != "[b'hi']" {
			t.Errorf("libzmq received %s (stderr: %s)", got, p.stderr.String())
		}
		checkExact(t, "reply", cat(1, 0, 0, 5, "world"), readMessage(c))
	})
}

// readMessage reads the frames of one data message and returns them as they
// came on the wire.
func readMessage(c conn) []byte {
	c.t.Helper()
	var all []byte
	for {
		raw, h, _ := c.frame()
		if h.Command() {
			c.t.Fatalf("command % x where a message was expected", raw)
		}
		all = append(all, raw...)
		if !h.More() {
			return all
		}
	}
}

// readCommand reads one frame that must be a command and returns it whole.
func readCommand(c conn) []byte {
	c.t.Helper()
	raw, h, _ := c.frame()
	if !h.Command() {
		c.t.Fatalf("data frame % x where a command was expected", raw)
	}
	return raw
}
