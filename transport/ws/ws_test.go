package ws_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/socktest"
	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/dealer"
	"github.com/mqwire/mqwire/pattern/pair"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/pattern/rep"
	"github.com/mqwire/mqwire/pattern/req"
	"github.com/mqwire/mqwire/pattern/router"
	"github.com/mqwire/mqwire/pattern/xpub"
	"github.com/mqwire/mqwire/pattern/xsub"
	"github.com/mqwire/mqwire/socket"
	_ "github.com/mqwire/mqwire/transport/ws"
	"github.com/mqwire/mqwire/wire"
	"github.com/mqwire/mqwire/wire/ws"
	"github.com/mqwire/mqwire/wire/zmtp"
)

const timeout = 5 * time.Second

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// rawPeer is a WebSocket client written by hand: nothing of mqwire runs
// on its side.
type rawPeer struct {
	net.Conn
	br   *bufio.Reader
	head map[string]string // the answer's header fields
}

// dialRaw connects to a ws:// URL and sends head, the opening handshake
// (with %s for the path), returning the peer and the status line of the
// answer.
func dialRaw(t *testing.T, url, head string) (*rawPeer, string) {
	t.Helper()
	hostPort, path, _ := strings.Cut(strings.TrimPrefix(url, "ws://"), "/")
	c, err := net.DialTimeout("tcp", hostPort, timeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(timeout))
	if _, err := fmt.Fprintf(c, head, "/"+path); err != nil {
		t.Fatal(err)
	}
	p := &rawPeer{Conn: c, br: bufio.NewReader(c), head: map[string]string{}}
	status, err := p.br.ReadString('\n')
	if err != nil {
		return p, ""
	}
	for { // the rest of the head
		l, err := p.br.ReadString('\n')
		if err != nil || l == "\r\n" {
			break
		}
		k, v, _ := strings.Cut(strings.TrimSpace(l), ":")
		p.head[k] = strings.TrimSpace(v)
	}
	return p, strings.TrimSpace(status)
}

// goodHead is a correct opening handshake of a push peer.
const goodHead = "GET %s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: pull.sp.nanomsg.org\r\n\r\n"

func (p *rawPeer) frame(op ws.Opcode, fin, masked bool, payload []byte) []byte {
	h := ws.Header{Fin: fin, Op: op, Masked: masked, Key: [4]byte{0x11, 0x22, 0x33, 0x44}, Len: uint64(len(payload))}
	b := ws.AppendHeader(nil, h)
	at := len(b)
	b = append(b, payload...)
	if masked {
		ws.Mask(h.Key, 0, b[at:])
	}
	return b
}

func (p *rawPeer) send(t *testing.T, b []byte) {
	t.Helper()
	if _, err := p.Write(b); err != nil {
		t.Fatal(err)
	}
}

// readFrame reads one frame from the listener.
func (p *rawPeer) readFrame() (ws.Header, []byte, error) {
	b, err := p.br.Peek(2)
	if err != nil {
		return ws.Header{}, nil, err
	}
	size := map[byte]int{126: 4, 127: 10}[b[1]&0x7F]
	if size == 0 {
		size = 2
	}
	if b[1]&0x80 != 0 {
		size += 4 // the mask key
	}
	if b, err = p.br.Peek(size); err != nil {
		return ws.Header{}, nil, err
	}
	h, n, err := ws.ParseHeader(b, 0)
	if err != nil {
		return h, nil, err
	}
	p.br.Discard(n)
	payload := make([]byte, h.Len)
	_, err = io.ReadFull(p.br, payload)
	return h, payload, err
}

// listenPull listens on ws with a pull socket whose receive limit is 64 KiB
// and returns it, its URL and its events.
func listenPull(t *testing.T) (*socket.Socket, string, <-chan socket.Event) {
	t.Helper()
	s := must(pull.New(socket.MaxRecvSize(64 << 10)))
	t.Cleanup(func() { s.Close() })
	ev := s.Events(64)
	l, err := s.Listen("ws://127.0.0.1:0/hostile")
	if err != nil {
		t.Fatal(err)
	}
	return s, l.URL(), ev
}

// stillServes checks that a well-behaved mqwire peer gets a message through.
func stillServes(t *testing.T, s *socket.Socket, url string) {
	t.Helper()
	p := must(push.New())
	defer p.Close()
	must(p.Dial(url))
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := p.SendContext(ctx, socket.NewMessageBytes([]byte("good"))); err != nil {
		t.Fatal(err)
	}
	m, err := s.RecvContext(ctx)
	if err != nil || string(m.Body) != "good" {
		t.Fatalf("good peer's message: %v %v", m, err)
	}
}

// ZMTP over ws (ZWS 2.0): ZeroMQ-only types, multipart messages,
// subscriptions going up, and the PLAIN and CURVE mechanisms; a listener
// refuses (ErrPeerMismatch) an offer it cannot take: SP to a ZeroMQ-only
// type or to a socket with a security mechanism, and another mechanism.
// Bad URLs are refused.
func TestZMTPOverWS(t *testing.T) {
	testutil.CheckGoroutines(t)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	link := func(l, d *socket.Socket) {
		t.Helper()
		must(d.Dial(must(l.Listen("ws://127.0.0.1:0/z")).URL()))
	}

	r, d := must(router.New()), must(dealer.New(socket.Identity([]byte("d1"))))
	defer r.Close()
	defer d.Close()
	link(r, d)
	m := socket.NewMessageBytes([]byte("one"))
	m.Frames = [][]byte{[]byte("two"), {}}
	if err := d.SendContext(ctx, m); err != nil {
		t.Fatal(err)
	}
	if got, err := r.RecvContext(ctx); err != nil || string(got.Body) != "d1" || fmt.Sprintf("%q", got.Frames) != `["one" "two" ""]` {
		t.Fatalf("router got %v %v", got, err)
	}

	xp, xs := must(xpub.New()), must(xsub.New())
	defer xp.Close()
	defer xs.Close()
	link(xs, xp) // the publisher dials, the subscriber listens
	socktest.WaitPipes(t, xs, 1)
	if err := xs.SendContext(ctx, socket.NewMessageBytes([]byte("\x01a-"))); err != nil {
		t.Fatal(err)
	}
	if got, err := xp.RecvContext(ctx); err != nil || string(got.Body) != "\x01a-" {
		t.Fatalf("the subscription: %v %v", got, err)
	}

	keys := func() (pub, sec zmtp.CurveKey) { return must2(zmtp.NewCurveKeyPair()) }
	sp, ss := keys()
	cp, cs := keys()
	for _, sec := range []struct {
		name           string
		server, client socket.Option
	}{
		{"PLAIN", socket.PlainServer(func(_ context.Context, req socket.ZAPRequest) socket.ZAPReply {
			return socket.ZAPReply{StatusCode: socket.ZAPOK}
		}), socket.PlainClient("u", "p")},
		{"CURVE", socket.CurveServer(ss, nil), socket.CurveClient(sp, cp, cs)},
	} {
		srv, cli := must(pull.New(sec.server)), must(push.New(sec.client))
		link(srv, cli)
		if err := cli.SendContext(ctx, socket.NewMessageBytes([]byte(sec.name))); err != nil {
			t.Fatal(err)
		}
		if got, err := srv.RecvContext(ctx); err != nil || string(got.Body) != sec.name {
			t.Errorf("%s: %v %v", sec.name, got, err)
		}
		if st := cli.PipeStats(); len(st) != 1 || st[0].Mechanism != sec.name {
			t.Errorf("%s: pipe %+v", sec.name, st)
		}
		cli.Close()
		srv.Close()
	}

	for _, c := range []struct {
		name             string
		listener, dialer *socket.Socket
	}{
		{"sp to a dealer", must(dealer.New()), must(pair.New())},
		{"sp to a curve server", must(pair.New(socket.CurveServer(ss, nil))), must(pair.New())},
		{"plain to a null listener", must(pull.New()), must(push.New(socket.PlainClient("u", "p")))},
	} {
		ev := c.listener.Events(16)
		link(c.listener, c.dialer)
		if e := socktest.WaitEvent(t, ev, socket.EventHandshakeFailed); !errors.Is(e.Err, socket.ErrPeerMismatch) {
			t.Errorf("%s: %v, want ErrPeerMismatch", c.name, e.Err)
		}
		c.listener.Close()
		c.dialer.Close()
	}

	p := must(pair.New())
	defer p.Close()
	for _, url := range []string{"ws://127.0.0.1/x", "ws://:5555/x", "ws://*:5555/x", "ws://127.0.0.1:5555/a b", "ws://127.0.0.1:99999/x", "ws://127.0.0.1:http/x", "ws://127.0.0.1:*/x"} {
		if _, err := p.Dial(url); !errors.Is(err, socket.ErrBadURL) {
			t.Errorf("Dial(%q): %v, want ErrBadURL", url, err)
		}
	}
	if _, err := p.Listen("ws://127.0.0.1:65536/x"); !errors.Is(err, socket.ErrBadURL) {
		t.Errorf("Listen on port 65536: %v, want ErrBadURL", err)
	}
	l := must(p.Listen("ws://*:0"))
	if !strings.HasSuffix(l.URL(), "/") {
		t.Errorf("a URL with no path serves %q", l.URL())
	}
	l.Close()
	l = must(p.Listen("ws://127.0.0.1:*/any")) // "*": a free port, as over tcp
	if strings.Contains(l.URL(), ":*") || strings.Contains(l.URL(), ":0/") {
		t.Errorf("listening on port * gave %q", l.URL())
	}
}

func must2[A, B any](a A, b B, err error) (A, B) {
	if err != nil {
		panic(err)
	}
	return a, b
}

// A dialer that asks for the wrong path, protocol or version is answered
// with an HTTP error and no pipe: a peer of the wrong protocol with
// ErrPeerMismatch, as over tcp, anything else with a protocol error. The
// listener goes on serving.
func TestHandshakeRefused(t *testing.T) {
	cases := []struct {
		name, head, status string
		want               error
	}{
		{"wrong path", strings.Replace(goodHead, "GET %s", "GET %s/other", 1), "HTTP/1.1 404 Not Found", wire.ErrProtocol},
		{"wrong protocol", strings.Replace(goodHead, "pull.sp", "rep.sp", 1), "HTTP/1.1 400 Bad Request", socket.ErrPeerMismatch},
		{"no protocol", strings.Replace(goodHead, "Sec-WebSocket-Protocol: pull.sp.nanomsg.org\r\n", "", 1), "HTTP/1.1 400 Bad Request", socket.ErrPeerMismatch},
		{"old version", strings.Replace(goodHead, "Version: 13", "Version: 8", 1), "HTTP/1.1 426 Upgrade Required", wire.ErrProtocol},
		{"no key", strings.Replace(goodHead, "dGhlIHNhbXBsZSBub25jZQ==", "short", 1), "HTTP/1.1 400 Bad Request", wire.ErrProtocol},
		{"not an upgrade", strings.Replace(goodHead, "Upgrade: websocket\r\n", "", 1), "HTTP/1.1 400 Bad Request", wire.ErrProtocol},
		{"POST", strings.Replace(goodHead, "GET", "POST", 1), "HTTP/1.1 400 Bad Request", wire.ErrProtocol},
		{"endless head", "GET %s HTTP/1.1\r\n" + strings.Repeat("X-Filler: "+strings.Repeat("x", 100)+"\r\n", 100), "", wire.ErrProtocol},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			testutil.CheckGoroutines(t)
			s, url, ev := listenPull(t)
			_, status := dialRaw(t, url, c.head)
			if status != c.status {
				t.Errorf("answered %q, want %q", status, c.status)
			}
			e := socktest.WaitEvent(t, ev, socket.EventHandshakeFailed)
			if !errors.Is(e.Err, c.want) {
				t.Errorf("handshake error %v, want %v", e.Err, c.want)
			}
			stillServes(t, s, url)
		})
	}
}

// A listener that refuses our offer: 400 (nng's, mangos' and our answer to
// a protocol not theirs) is ErrPeerMismatch; any other status fails at once,
// without waiting for a head that may never end (nanomsg's refusal has no
// empty line).
func TestDialRefused(t *testing.T) {
	for _, c := range []struct {
		answer string
		want   error
	}{
		{"HTTP/1.1 400 Bad Request\r\n\r\n", socket.ErrPeerMismatch},
		{"HTTP/1.1 400 Incompatible Socket Type\r\nSec-WebSocket-Version: 13\r\n", socket.ErrPeerMismatch},
		{"HTTP/1.1 404 Not Found\r\n", wire.ErrProtocol},
		{"SSH-2.0-OpenSSH_9.2\r\n", wire.ErrProtocol},
	} {
		t.Run(c.answer[:12], func(t *testing.T) {
			testutil.CheckGoroutines(t)
			ln := must(net.Listen("tcp", "127.0.0.1:0"))
			defer ln.Close()
			d := must(push.New(socket.HandshakeTimeout(timeout)))
			defer d.Close()
			ev := d.Events(16)
			must(d.Dial("ws://" + ln.Addr().String() + "/x"))
			conn := must(ln.Accept())
			defer conn.Close()
			br := bufio.NewReader(conn)
			for { // the request's head
				l, err := br.ReadString('\n')
				if err != nil || l == "\r\n" {
					break
				}
			}
			conn.Write([]byte(c.answer)) // and nothing more
			start := time.Now()
			e := socktest.WaitEvent(t, ev, socket.EventHandshakeFailed)
			if !errors.Is(e.Err, c.want) {
				t.Errorf("%v, want %v", e.Err, c.want)
			}
			if time.Since(start) > timeout/2 {
				t.Errorf("the refusal took %v to see", time.Since(start))
			}
		})
	}
}

// Frames no peer of ours may send close that peer's pipe with a typed
// error; the listener goes on serving.
func TestHostileFrames(t *testing.T) {
	big := make([]byte, 8)
	binary.BigEndian.PutUint64(big, 1<<40)
	cases := []struct {
		name  string
		bytes func(p *rawPeer) []byte
		want  error
	}{
		{"unmasked from a client", func(p *rawPeer) []byte { return p.frame(ws.OpBinary, true, false, []byte("x")) }, wire.ErrProtocol},
		{"reserved bits", func(p *rawPeer) []byte { return []byte{0xC2, 0x80, 0, 0, 0, 0} }, wire.ErrProtocol},
		{"unknown opcode", func(p *rawPeer) []byte { return []byte{0x83, 0x80, 0, 0, 0, 0} }, wire.ErrProtocol},
		{"length 2^40", func(p *rawPeer) []byte { return append(append([]byte{0x82, 0xFF}, big...), 0, 0, 0, 0) }, wire.ErrTooLarge},
		{"whole message above the limit", func(p *rawPeer) []byte {
			return p.frame(ws.OpBinary, true, true, make([]byte, 64<<10+1))
		}, wire.ErrTooLarge},
		{"fragments above the limit", func(p *rawPeer) []byte {
			b := p.frame(ws.OpBinary, false, true, make([]byte, 40<<10))
			return append(b, p.frame(ws.OpContinuation, true, true, make([]byte, 40<<10))...)
		}, wire.ErrTooLarge},
		{"continuation first", func(p *rawPeer) []byte { return p.frame(ws.OpContinuation, true, true, []byte("x")) }, wire.ErrProtocol},
		{"message inside a fragmented one", func(p *rawPeer) []byte {
			return append(p.frame(ws.OpBinary, false, true, []byte("a")), p.frame(ws.OpBinary, true, true, []byte("b"))...)
		}, wire.ErrProtocol},
		{"long ping", func(p *rawPeer) []byte { return p.frame(ws.OpPing, true, true, make([]byte, 126)) }, wire.ErrProtocol},
		{"truncated message", func(p *rawPeer) []byte { return p.frame(ws.OpBinary, true, true, make([]byte, 100))[:50] }, socket.ErrProtocol},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			testutil.CheckGoroutines(t)
			s, url, ev := listenPull(t)
			p, status := dialRaw(t, url, goodHead)
			if status != "HTTP/1.1 101 Switching Protocols" {
				t.Fatalf("answered %q", status)
			}
			socktest.WaitEvent(t, ev, socket.EventAccepted)
			p.send(t, c.bytes(p))
			if strings.HasPrefix(c.name, "truncated") {
				p.Close()
			}
			e := socktest.WaitEvent(t, ev, socket.EventDisconnected)
			if !errors.Is(e.Err, c.want) {
				t.Errorf("pipe closed with %v, want %v", e.Err, c.want)
			}
			if !strings.HasPrefix(c.name, "truncated") {
				// The peer is told why: 1009 for too large, 1002 else.
				code := uint16(1002)
				if c.want == wire.ErrTooLarge {
					code = 1009
				}
				h, payload, err := p.readFrame()
				if err != nil || h.Op != ws.OpClose || len(payload) != 2 || binary.BigEndian.Uint16(payload) != code {
					t.Errorf("close frame %+v % x %v, want code %d", h, payload, err, code)
				}
			}
			stillServes(t, s, url)
		})
	}
}

// A hand-written peer sends a message in fragments with a ping between
// them, and an empty one: they arrive whole; the ping is answered with a
// pong carrying its payload, and a close with a close.
func TestFragmentsAndControl(t *testing.T) {
	testutil.CheckGoroutines(t)
	s, url, _ := listenPull(t)
	p, status := dialRaw(t, url, goodHead)
	if status != "HTTP/1.1 101 Switching Protocols" {
		t.Fatalf("answered %q", status)
	}
	var b []byte
	b = append(b, p.frame(ws.OpBinary, false, true, []byte("frag"))...)
	b = append(b, p.frame(ws.OpPing, true, true, []byte("are you there"))...)
	b = append(b, p.frame(ws.OpContinuation, false, true, []byte("men"))...)
	b = append(b, p.frame(ws.OpContinuation, true, true, []byte("ted"))...)
	b = append(b, p.frame(ws.OpBinary, true, true, nil)...)
	p.send(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for _, want := range []string{"fragmented", ""} {
		m, err := s.RecvContext(ctx)
		if err != nil || string(m.Body) != want {
			t.Fatalf("got %v %v, want %q", m, err, want)
		}
	}
	h, payload, err := p.readFrame()
	if err != nil || h.Op != ws.OpPong || h.Masked || string(payload) != "are you there" {
		t.Fatalf("answer to the ping: %+v %q %v", h, payload, err)
	}
	p.send(t, p.frame(ws.OpClose, true, true, []byte{0x03, 0xE8, 'b', 'y', 'e'}))
	h, payload, err = p.readFrame()
	if err != nil || h.Op != ws.OpClose || !bytes.Equal(payload, []byte{0x03, 0xE8}) {
		t.Fatalf("answer to the close: %+v % x %v", h, payload, err)
	}
}

// What a listener sends: unmasked binary messages, one each, a long one in
// fragments of at most 64 KiB; and the dialer's frames are masked.
func TestFramesSent(t *testing.T) {
	testutil.CheckGoroutines(t)
	s := must(push.New())
	defer s.Close()
	l := must(s.Listen("ws://127.0.0.1:0/out"))
	p, status := dialRaw(t, l.URL(), strings.Replace(goodHead, "pull.sp", "push.sp", 1))
	if status != "HTTP/1.1 101 Switching Protocols" {
		t.Fatalf("answered %q", status)
	}
	body := bytes.Repeat([]byte("0123456789"), 20_000)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := s.SendContext(ctx, socket.NewMessageBytes([]byte("short"))); err != nil {
		t.Fatal(err)
	}
	if err := s.SendContext(ctx, socket.NewMessageBytes(body)); err != nil {
		t.Fatal(err)
	}
	h, payload, err := p.readFrame()
	if err != nil || !h.Fin || h.Op != ws.OpBinary || h.Masked || string(payload) != "short" {
		t.Fatalf("first message: %+v %q %v", h, payload, err)
	}
	var got []byte
	for i := 0; ; i++ {
		h, payload, err := p.readFrame()
		if err != nil || h.Masked || h.Len > 64<<10 || (i == 0) != (h.Op == ws.OpBinary) || (i > 0 && h.Op != ws.OpContinuation) {
			t.Fatalf("frame %d: %+v %v", i, h, err)
		}
		got = append(got, payload...)
		if h.Fin {
			break
		}
	}
	if !bytes.Equal(got, body) {
		t.Fatalf("long message: %d bytes, not what was sent", len(got))
	}

	// A dialer's frames are masked, and its handshake offers its peer's
	// protocol.
	ln := must(net.Listen("tcp", "127.0.0.1:0"))
	defer ln.Close()
	d := must(push.New())
	defer d.Close()
	must(d.Dial("ws://" + ln.Addr().String() + "/in"))
	c := must(ln.Accept())
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	br := bufio.NewReader(c)
	var key string
	head := map[string]bool{}
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if line == "\r\n" {
			break
		}
		head[line] = true
		if k, ok := strings.CutPrefix(line, "Sec-WebSocket-Key: "); ok {
			key = strings.TrimSpace(k)
		}
	}
	for _, want := range []string{"GET /in HTTP/1.1\r\n", "Sec-WebSocket-Protocol: pull.sp.nanomsg.org\r\n", "Sec-WebSocket-Version: 13\r\n"} {
		if !head[want] {
			t.Errorf("the dialer's handshake has no %q: %v", want, head)
		}
	}
	fmt.Fprintf(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\nSec-WebSocket-Protocol: pull.sp.nanomsg.org\r\n\r\n", ws.AcceptKey(key))
	if err := d.SendContext(ctx, socket.NewMessageBytes([]byte("masked"))); err != nil {
		t.Fatal(err)
	}
	in := &rawPeer{Conn: c, br: br}
	h, payload, err = in.readFrame()
	if err != nil || !h.Masked || !h.Fin || h.Op != ws.OpBinary {
		t.Fatalf("dialer's frame: %+v %v", h, err)
	}
	ws.Mask(h.Key, 0, payload)
	if string(payload) != "masked" {
		t.Fatalf("dialer's message: %q", payload)
	}
}

// wss: WebSocket over TLS, with the sockets' TLSConfig. Requests and
// replies of every size cross it; a listener without a certificate is
// refused at Listen, and a dialer that does not trust the listener fails
// its handshake with ErrTLS.
func TestWSS(t *testing.T) {
	testutil.CheckGoroutines(t)
	certs := testutil.NewTLSCerts(t)
	s := must(rep.New(socket.TLSConfig(certs.ServerConfig()), socket.MaxRecvSize(0)))
	defer s.Close()
	c := must(req.New(socket.TLSConfig(certs.ClientConfig()), socket.MaxRecvSize(0)))
	defer c.Close()
	l := must(s.Listen("wss://127.0.0.1:0/secure"))
	if !strings.HasPrefix(l.URL(), "wss://127.0.0.1:") || !strings.HasSuffix(l.URL(), "/secure") {
		t.Fatalf("listener URL %q", l.URL())
	}
	must(c.Dial(l.URL()))
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for _, size := range []int{0, 64, 70 << 10, 1 << 20} {
		body := bytes.Repeat([]byte{byte(size)}, size)
		if err := c.SendContext(ctx, socket.NewMessageBytes(body)); err != nil {
			t.Fatal(err)
		}
		m, err := s.RecvContext(ctx)
		if err != nil || !bytes.Equal(m.Body, body) {
			t.Fatalf("%d bytes: %v", size, err)
		}
		if err := s.SendContext(ctx, m); err != nil {
			t.Fatal(err)
		}
		if m, err = c.RecvContext(ctx); err != nil || len(m.Body) != size {
			t.Fatalf("reply of %d bytes: %v", size, err)
		}
		m.Free()
	}

	bare := must(rep.New())
	defer bare.Close()
	if _, err := bare.Listen("wss://127.0.0.1:0/x"); !errors.Is(err, socket.ErrBadOption) {
		t.Errorf("Listen without a certificate: %v, want ErrBadOption", err)
	}
	untrusting := must(req.New())
	defer untrusting.Close()
	ev := untrusting.Events(16)
	must(untrusting.Dial(l.URL()))
	if e := socktest.WaitEvent(t, ev, socket.EventHandshakeFailed); !errors.Is(e.Err, socket.ErrTLS) {
		t.Errorf("dial with no trust in the listener: %v, want ErrTLS", e.Err)
	}
}

// Two sockets listen on one port, at different paths, as nng's can: each
// dialer reaches the socket of its path; a path taken is refused; a
// request for no path served is refused (404) by the port's first
// listener, which reports it; the port stays open while any listener is
// left and is let go with the last.
func TestPathsShareAPort(t *testing.T) {
	testutil.CheckGoroutines(t)
	rp := must(rep.New())
	defer rp.Close()
	pl := must(pull.New())
	defer pl.Close()
	events := rp.Events(16)
	la := must(rp.Listen("ws://127.0.0.1:0/a"))
	base := strings.TrimSuffix(la.URL(), "/a")
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(base, "ws://"))
	lb := must(pl.Listen(base + "/b"))
	if la.URL() != base+"/a" || lb.URL() != base+"/b" {
		t.Fatalf("URLs %q and %q", la.URL(), lb.URL())
	}
	if _, err := pl.Listen(base + "/a"); !errors.Is(err, socket.ErrAddrInUse) {
		t.Errorf("a second listener at /a: %v, want ErrAddrInUse", err)
	}
	secure := must(pull.New(socket.TLSConfig(testutil.NewTLSCerts(t).ServerConfig())))
	defer secure.Close()
	if _, err := secure.Listen("wss://127.0.0.1:" + port + "/c"); !errors.Is(err, socket.ErrAddrInUse) {
		t.Errorf("wss on the port of ws listeners: %v, want ErrAddrInUse", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	rq := must(req.New())
	defer rq.Close()
	must(rq.Dial(base + "/a"))
	ps := must(push.New())
	defer ps.Close()
	must(ps.Dial(base + "/b"))
	if err := ps.SendContext(ctx, socket.NewMessageBytes([]byte("to b"))); err != nil {
		t.Fatal(err)
	}
	if m, err := pl.RecvContext(ctx); err != nil || string(m.Body) != "to b" {
		t.Fatalf("pull at /b: %v %v", m, err)
	}
	if err := rq.SendContext(ctx, socket.NewMessageBytes([]byte("to a"))); err != nil {
		t.Fatal(err)
	}
	if m, err := rp.RecvContext(ctx); err != nil || string(m.Body) != "to a" {
		t.Fatalf("rep at /a: %v %v", m, err)
	}

	_, status := dialRaw(t, base+"/nowhere", strings.Replace(goodHead, "pull.sp", "rep.sp", 1))
	if status != "HTTP/1.1 404 Not Found" {
		t.Errorf("a request for no path served: %q", status)
	}
	if e := socktest.WaitEvent(t, events, socket.EventHandshakeFailed); !errors.Is(e.Err, wire.ErrProtocol) {
		t.Errorf("the first listener reports %v", e.Err)
	}

	la.Close()
	stillServes(t, pl, base+"/b")
	lb.Close()
	deadline := time.Now().Add(timeout)
	for {
		l, err := net.Listen("tcp", "127.0.0.1:"+port)
		if err == nil {
			l.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the port is still held after its last listener closed: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A peer that reads nothing while our writer waits on it, and pings: the
// reader does not wait for the writer to answer (it reads on, and a
// message after the ping arrives); the pong goes out with the writer's
// next frames once the peer reads.
func TestPingWhileWriterWaits(t *testing.T) {
	testutil.CheckGoroutines(t)
	s := must(pair.New(socket.SendTimeout(200 * time.Millisecond)))
	defer s.Close()
	l := must(s.Listen("ws://127.0.0.1:0/busy"))
	p, status := dialRaw(t, l.URL(), strings.Replace(goodHead, "pull.sp", "pair.sp", 1))
	if status != "HTTP/1.1 101 Switching Protocols" {
		t.Fatalf("answered %q", status)
	}
	big := make([]byte, 64<<10)
	for i := 0; ; i++ {
		err := s.Send(socket.NewMessageBytes(big))
		if errors.Is(err, socket.ErrTimeout) {
			break
		}
		if err != nil || i > 10_000 {
			t.Fatalf("the writer never waited: %v", err)
		}
	}
	p.send(t, append(p.frame(ws.OpPing, true, true, []byte("p1")), p.frame(ws.OpBinary, true, true, []byte("after the ping"))...))
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if m, err := s.RecvContext(ctx); err != nil || string(m.Body) != "after the ping" {
		t.Fatalf("the reader was held up: %v %v", m, err)
	}
	for {
		h, payload, err := p.readFrame()
		if err != nil {
			t.Fatalf("no pong among the writer's frames: %v", err)
		}
		if h.Op == ws.OpPong {
			if string(payload) != "p1" {
				t.Errorf("pong %q", payload)
			}
			break
		}
	}
}

// A dialer that sends its request a while after connecting (a slow
// network, or a browser) is served: the listener does not give up on a
// quiet peer before the handshake timeout, over ws or wss.
func TestSlowRequest(t *testing.T) {
	testutil.CheckGoroutines(t)
	certs := testutil.NewTLSCerts(t)
	for _, scheme := range []string{"ws", "wss"} {
		t.Run(scheme, func(t *testing.T) {
			s := must(pull.New(socket.TLSConfig(certs.ServerConfig())))
			defer s.Close()
			l := must(s.Listen(scheme + "://127.0.0.1:0/slow"))
			hostPort, _, _ := strings.Cut(strings.TrimPrefix(l.URL(), scheme+"://"), "/")
			var c net.Conn = must(net.DialTimeout("tcp", hostPort, timeout))
			defer c.Close()
			if scheme == "wss" {
				cfg := certs.ClientConfig()
				cfg.ServerName = "127.0.0.1"
				tc := tls.Client(c, cfg)
				if err := tc.Handshake(); err != nil {
					t.Fatal(err)
				}
				c = tc
			}
			time.Sleep(400 * time.Millisecond) // longer than a listener's wait for a first byte
			c.SetDeadline(time.Now().Add(timeout))
			fmt.Fprintf(c, goodHead, "/slow")
			status, _ := bufio.NewReader(c).ReadString('\n')
			if status != "HTTP/1.1 101 Switching Protocols\r\n" {
				t.Fatalf("answered %q", status)
			}
		})
	}
}

// A peer that connects and says nothing holds nothing past the socket's
// Close: the connection being read for its request goes with the port.
func TestSilentPeerAndClose(t *testing.T) {
	testutil.CheckGoroutines(t)
	s := must(pull.New())
	l := must(s.Listen("ws://127.0.0.1:0/quiet"))
	hostPort, _, _ := strings.Cut(strings.TrimPrefix(l.URL(), "ws://"), "/")
	c := must(net.DialTimeout("tcp", hostPort, timeout))
	defer c.Close()
	time.Sleep(50 * time.Millisecond) // accepted, and its head awaited
	s.Close()
	c.SetReadDeadline(time.Now().Add(timeout))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("the silent peer's connection is still open")
	}
}

// TestIPv6Loopback: ws:// listens and dials on [::1], and its URL keeps
// the brackets (skipped where there is no IPv6 loopback).
func TestIPv6Loopback(t *testing.T) {
	testutil.CheckGoroutines(t)
	testutil.NeedIPv6Loopback(t)
	a, b := must(pair.New()), must(pair.New())
	defer a.Close()
	defer b.Close()
	l, err := a.Listen("ws://[::1]:0/six")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(l.URL(), "ws://[::1]:") || !strings.HasSuffix(l.URL(), "/six") {
		t.Fatalf("URL %q", l.URL())
	}
	if _, err := b.Dial(l.URL()); err != nil {
		t.Fatalf("dial %q: %v", l.URL(), err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.SendContext(ctx, socket.NewMessageBytes([]byte("over IPv6"))); err != nil {
		t.Fatal(err)
	}
	m, err := a.RecvContext(ctx)
	if err != nil || string(m.Body) != "over IPv6" {
		t.Fatalf("received %v, %v", m, err)
	}
	m.Free()
}

// A message longer than a frame (64 KiB) goes in fragments and is
// reassembled, in both dialects, without an allocation once warm: the
// reassembly buffer comes from a pool and its body is handed to the
// socket in place.
func TestFragmentedNoAllocs(t *testing.T) {
	for _, zmtp := range []bool{false, true} {
		t.Run(fmt.Sprint("zmtp=", zmtp), func(t *testing.T) {
			pl := must(pull.New(socket.MaxRecvSize(0)))
			defer pl.Close()
			var opts []socket.Option
			if zmtp {
				opts = append(opts, socket.DialDialect(socket.DialectZMTP))
			}
			ps := must(push.New(opts...))
			defer ps.Close()
			must(ps.Dial(must(pl.Listen("ws://127.0.0.1:0/f")).URL()))
			const size = 200 << 10
			op := func() {
				if err := ps.Send(socket.NewMessage(size)); err != nil {
					t.Fatal(err)
				}
				m, err := pl.Recv()
				if err != nil {
					t.Fatal(err)
				}
				if len(m.Body) != size {
					t.Fatalf("%d bytes, sent %d", len(m.Body), size)
				}
				m.Free()
			}
			for range 100 {
				op()
			}
			testutil.AllocsBelow(t, 200, 0.5, "per fragmented message", op)
		})
	}
}
