package ws_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/socktest"
	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/dealer"
	"github.com/mqwire/mqwire/pattern/pub"
	"github.com/mqwire/mqwire/pattern/router"
	"github.com/mqwire/mqwire/socket"
	wst "github.com/mqwire/mqwire/transport/ws"
	"github.com/mqwire/mqwire/wire"
	"github.com/mqwire/mqwire/wire/ws"
)

// bareHead is the opening handshake of a browser ZeroMQ client (jszmq):
// bare ZWS 2.0 only.
const bareHead = "GET %s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ZWS2.0\r\n\r\n"

// zws sends one ZWS message: flags, then body, masked as a client's.
func (p *rawPeer) zws(t *testing.T, flags byte, body string) {
	t.Helper()
	p.send(t, p.frame(ws.OpBinary, true, true, append([]byte{flags}, body...)))
}

// nextZWS reads the listener's next ZWS message.
func (p *rawPeer) nextZWS(t *testing.T) (flags byte, body string) {
	t.Helper()
	h, b, err := p.readFrame()
	if err != nil || h.Op != ws.OpBinary || !h.Fin || h.Masked || len(b) == 0 {
		t.Fatalf("frame %+v % x %v, want one unmasked ZWS message", h, b, err)
	}
	return b[0], string(b[1:])
}

// Bare ZWS 2.0, as a browser client (jszmq) speaks it: no greeting and no
// mechanism; each side's first message is its routing id. A listener takes
// it; the client's id is its routing id at a ROUTER, whose own (empty) id
// comes first; subscriptions come as messages. A dialer offers it after
// ZWS2.0/NULL, as libzmq does, and a listener takes the first it speaks of
// what is offered.
func TestBareZWS(t *testing.T) {
	testutil.CheckGoroutines(t)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	r := must(router.New())
	defer r.Close()
	url := must(r.Listen("ws://127.0.0.1:0/bare")).URL()
	p, status := dialRaw(t, url, bareHead)
	if !strings.HasPrefix(status, "HTTP/1.1 101") {
		t.Fatalf("answer %q", status)
	}
	if flags, id := p.nextZWS(t); flags != 0 || id != "" {
		t.Fatalf("the router's first message: %#x %q, want its empty routing id", flags, id)
	}
	p.zws(t, 0, "js-client")
	p.zws(t, ws.ZWSMore, "hello")
	p.zws(t, 0, "there")
	got, err := r.RecvContext(ctx)
	if err != nil || string(got.Body) != "js-client" || fmt.Sprintf("%q", got.Frames) != `["hello" "there"]` {
		t.Fatalf("router got %v %v", got, err)
	}
	if st := r.PipeStats(); len(st) != 1 || st[0].Peer != "DEALER" || st[0].Revision != "3.0" || st[0].Mechanism != "NULL" {
		t.Fatalf("pipe %+v", st)
	}
	reply := socket.NewMessageBytes([]byte("js-client"))
	reply.Frames = [][]byte{[]byte("back")}
	if err := r.SendContext(ctx, reply); err != nil {
		t.Fatal(err)
	}
	if flags, body := p.nextZWS(t); flags != 0 || body != "back" {
		t.Fatalf("client got %#x %q", flags, body)
	}

	// A subscriber: its subscription is a message, 1 and the topic.
	pb := must(pub.New())
	defer pb.Close()
	p, _ = dialRaw(t, must(pb.Listen("ws://127.0.0.1:0/feed")).URL(), bareHead)
	p.nextZWS(t) // the publisher's routing id
	p.zws(t, 0, "")
	p.zws(t, 0, "\x01news")
	for {
		pb.SendContext(ctx, socket.NewMessageBytes([]byte("sport")))
		pb.SendContext(ctx, socket.NewMessageBytes([]byte("news-1")))
		p.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		h, b, err := p.readFrame()
		if err != nil {
			continue // the subscription has not arrived yet
		}
		if h.Op != ws.OpBinary || string(b) != "\x00news-1" {
			t.Fatalf("subscriber got %+v %q", h, b)
		}
		break
	}

	// mqwire on both ends: a dialer that offers bare ZWS alone gets it;
	// its Identity is its routing id.
	wst.OfferOnly(t, ws.ZWSBare)
	d := must(dealer.New(socket.Identity([]byte("d1"))))
	defer d.Close()
	must(d.Dial(url))
	socktest.WaitPipes(t, d, 1)
	if err := d.SendContext(ctx, socket.NewMessageBytes([]byte("from-d1"))); err != nil {
		t.Fatal(err)
	}
	if got, err := r.RecvContext(ctx); err != nil || string(got.Body) != "d1" || fmt.Sprintf("%q", got.Frames) != `["from-d1"]` {
		t.Fatalf("router got %v %v", got, err)
	}
	if st := d.PipeStats(); len(st) != 1 || st[0].Peer != "DEALER" || st[0].Revision != "3.0" {
		t.Fatalf("dealer's pipe %+v", st)
	}
}

// A listener that would be offered ZWS2.0/NULL and bare ZWS 2.0 (what
// libzmq's dialer and ours offer) takes the first; in the other order, the
// bare one.
func TestZWSOfferOrder(t *testing.T) {
	r := must(router.New())
	defer r.Close()
	url := must(r.Listen("ws://127.0.0.1:0/order")).URL()
	for _, c := range []struct{ offer, want string }{
		{"ZWS2.0/NULL,ZWS2.0", "ZWS2.0/NULL"},
		{"ZWS2.0, ZWS2.0/NULL", "ZWS2.0"},
		{"pair.sp.nanomsg.org, ZWS2.0", "ZWS2.0"},
	} {
		head := strings.Replace(bareHead, "Protocol: ZWS2.0", "Protocol: "+c.offer, 1)
		p, status := dialRaw(t, url, head)
		if !strings.HasPrefix(status, "HTTP/1.1 101") || p.head["Sec-WebSocket-Protocol"] != c.want {
			t.Errorf("offered %q: %q %q, want %q", c.offer, status, p.head["Sec-WebSocket-Protocol"], c.want)
		}
	}
}

// A bare client whose first message is not a routing id (flags set, or an
// id longer than 255 bytes) loses its pipe to a protocol error; the
// listener goes on serving.
func TestBareZWSHostile(t *testing.T) {
	testutil.CheckGoroutines(t)
	for _, c := range []struct {
		name  string
		flags byte
		id    string
	}{
		{"id-with-more", ws.ZWSMore, "x"},
		{"id-as-command", ws.ZWSCommand, "\x05READY"},
		{"long-id", 0, strings.Repeat("i", 256)},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := must(router.New())
			defer r.Close()
			ev := r.Events(16)
			url := must(r.Listen("ws://127.0.0.1:0/h")).URL()
			p, _ := dialRaw(t, url, bareHead)
			p.nextZWS(t)
			p.zws(t, c.flags, c.id)
			// The id is read in the socket's handshake.
			e := socktest.WaitEvent(t, ev, socket.EventHandshakeFailed)
			if !errors.Is(e.Err, wire.ErrProtocol) {
				t.Fatalf("disconnected with %v, want a protocol error", e.Err)
			}
			// A close frame says why (1002), then the connection ends.
			h, b, _ := p.readFrame()
			if h.Op != ws.OpClose || len(b) < 2 || b[0] != 0x03 || b[1] != 0xEA {
				t.Errorf("frame %+v % x, want a close with 1002", h, b)
			}
			d := must(dealer.New())
			defer d.Close()
			must(d.Dial(url))
			if err := d.SendContext(context.Background(), socket.NewMessageBytes([]byte("ok"))); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			if _, err := r.RecvContext(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Against libzmq 4.3.4 (pyzmq): a libzmq ROUTER listening on ws takes our
// dealer's offer of bare ZWS 2.0 alone; our routing id reaches it as the
// dealer's Identity, and its reply comes back.
func TestBareZWSLibzmq(t *testing.T) {
	py, err := testutil.PythonZMQ()
	if err != nil {
		testutil.NeedPeer(t, "python3-zmq (libzmq 4.3.4)", err)
	}
	cmd := exec.Command(py, "-c", `
import sys, zmq
s = zmq.Context().socket(zmq.ROUTER)
s.setsockopt(zmq.RCVTIMEO, 10000)
s.setsockopt(zmq.LINGER, 1000)
s.bind("ws://127.0.0.1:*/bare")
print(s.getsockopt(zmq.LAST_ENDPOINT).decode(), flush=True)
for i in range(3):
    frames = s.recv_multipart()
    print(" ".join(f.decode() for f in frames), flush=True)
    s.send_multipart([frames[0], b"re-" + frames[1]])
sys.stdin.read()
`)
	stdin := must(cmd.StdinPipe())
	out := bufio.NewScanner(must(cmd.StdoutPipe()))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); cmd.Wait() }()
	line := func() string {
		t.Helper()
		if !out.Scan() {
			t.Fatalf("the libzmq peer ended: %s", stderr.String())
		}
		return out.Text()
	}
	url := line()

	wst.OfferOnly(t, ws.ZWSBare)
	d := must(dealer.New(socket.Identity([]byte("go-dealer"))))
	defer d.Close()
	must(d.Dial(url))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range 3 {
		if err := d.SendContext(ctx, socket.NewMessageBytes(fmt.Appendf(nil, "m%d", i))); err != nil {
			t.Fatal(err)
		}
		if got, want := line(), fmt.Sprintf("go-dealer m%d", i); got != want {
			t.Fatalf("libzmq router printed %q, want %q", got, want)
		}
		got, err := d.RecvContext(ctx)
		if err != nil || string(got.Body) != fmt.Sprintf("re-m%d", i) {
			t.Fatalf("dealer got %v %v", got, err)
		}
	}
	if st := d.PipeStats(); len(st) != 1 || st[0].Revision != "3.0" {
		t.Fatalf("pipe %+v", st)
	}
}
