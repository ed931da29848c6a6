package zmq_test

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mqwire/mqwire/internal/testutil"
	"github.com/mqwire/mqwire/pattern/dealer"
	"github.com/mqwire/mqwire/pattern/device"
	"github.com/mqwire/mqwire/pattern/pub"
	"github.com/mqwire/mqwire/pattern/pull"
	"github.com/mqwire/mqwire/pattern/push"
	"github.com/mqwire/mqwire/pattern/rep"
	"github.com/mqwire/mqwire/pattern/router"
	"github.com/mqwire/mqwire/pattern/xpub"
	"github.com/mqwire/mqwire/pattern/xsub"
	"github.com/mqwire/mqwire/socket"
)

// startProxy runs device.Proxy(front, back) until the test ends.
func startProxy(t *testing.T, front, back *socket.Socket) {
	c, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- device.Proxy(c, front, back, nil) }()
	t.Cleanup(func() {
		cancel()
		// Canceled, or ErrClosed if a socket closed first (the test's
		// deferred Closes run before its cleanups).
		if err := <-done; !errors.Is(err, context.Canceled) && !errors.Is(err, socket.ErrClosed) {
			t.Errorf("Proxy ended with %v", err)
		}
	})
}

// An mqwire broker (device.Proxy between a ROUTER and a DEALER) between
// libzmq REQ clients and a libzmq REP worker: each client gets the reply
// to each of its requests.
func TestProxyBrokerLibzmq(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			testutil.CheckGoroutines(t)
			front, _ := router.New()
			defer front.Close()
			back, _ := dealer.New()
			defer back.Close()
			fl, err := front.Listen(endpoint(t, tr))
			if err != nil {
				t.Fatal(err)
			}
			bl, err := back.Listen(endpoint(t, tr))
			if err != nil {
				t.Fatal(err)
			}
			startProxy(t, front, back)
			startPeer(t, "REP", "connect", bl.URL(), "echo", fmt.Sprint(2*count))
			clients := []*peer{
				startPeer(t, "REQ", "connect", fl.URL(), "request", fmt.Sprint(count)),
				startPeer(t, "REQ", "connect", fl.URL(), "request", fmt.Sprint(count)),
			}
			for k, c := range clients {
				for i := range count {
					if l, want := c.line(t), hex.EncodeToString(fmt.Appendf(nil, "req-%d", i)); l != want {
						t.Fatalf("client %d: reply %q, want %q", k, l, want)
					}
				}
			}
		})
	}
}

// An mqwire forwarder (device.Proxy between an XSUB and an XPUB): a libzmq
// SUB's subscription goes up through it to an mqwire PUB, and what is
// published under that topic comes down to the SUB.
func TestProxyForwarderLibzmq(t *testing.T) {
	testutil.CheckGoroutines(t)
	publisher, _ := pub.New()
	defer publisher.Close()
	front, _ := xsub.New()
	defer front.Close()
	back, _ := xpub.New()
	defer back.Close()
	pl, err := publisher.Listen(endpoint(t, "tcp"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := front.Dial(pl.URL()); err != nil {
		t.Fatal(err)
	}
	bl, err := back.Listen(endpoint(t, "tcp"))
	if err != nil {
		t.Fatal(err)
	}
	startProxy(t, front, back)
	p := startPeer(t, "SUB", "connect", bl.URL(), "recv", "1", "a-")
	// Publish until the SUB has something: what goes out before its
	// subscription has come up through the proxy is not for it.
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		for i := 0; ; i++ {
			if publisher.SendBytes(fmt.Appendf(nil, "b-%d", i)) != nil ||
				publisher.SendBytes(fmt.Appendf(nil, "a-%d", i)) != nil {
				return // closed: the test has failed
			}
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	l := p.line(t)
	close(stop)
	<-stopped
	if b, _ := hex.DecodeString(l); !strings.HasPrefix(string(b), "a-") {
		t.Fatalf("libzmq SUB got %q", b)
	}
}

// A libzmq REQ steers an mqwire proxy (device.ProxySteerable, a streamer
// with a REP control socket): STATISTICS is answered with eight 8-byte
// little-endian frames, as libzmq's proxy answers; PAUSE and TERMINATE
// with an empty message; and TERMINATE ends the proxy.
func TestProxySteerableLibzmq(t *testing.T) {
	testutil.CheckGoroutines(t)
	front, _ := pull.New()
	defer front.Close()
	back, _ := push.New()
	defer back.Close()
	control, _ := rep.New(socket.DialDialect(socket.DialectZMTP))
	defer control.Close()
	in, _ := push.New()
	defer in.Close()
	out, _ := pull.New()
	defer out.Close()
	for i, pair := range [][2]*socket.Socket{{front, in}, {back, out}} {
		l, err := pair[0].Listen(fmt.Sprintf("inproc://%s-%d", t.Name(), i))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pair[1].Dial(l.URL()); err != nil {
			t.Fatal(err)
		}
	}
	cl, err := control.Listen(endpoint(t, "tcp"))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- device.ProxySteerable(context.Background(), front, back, nil, control) }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for range 3 {
		if err := in.SendContext(ctx, socket.NewMessageBytes([]byte("hello"))); err != nil {
			t.Fatal(err)
		}
		if m, err := out.RecvContext(ctx); err != nil || string(m.Body) != "hello" {
			t.Fatalf("through the proxy: %v %v", m, err)
		}
	}
	p := startPeer(t, "REQ", "connect", cl.URL(), "steer", "0", "cmd=STATISTICS", "cmd=PAUSE", "cmd=TERMINATE")
	// frontend: 3 received, 15 bytes; 0 sent. backend: 0 received; 3 sent, 15 bytes.
	want := "0300000000000000 0f00000000000000 0000000000000000 0000000000000000 " +
		"0000000000000000 0000000000000000 0300000000000000 0f00000000000000"
	if l := p.line(t); l != want {
		t.Errorf("STATISTICS answered %q, want %q", l, want)
	}
	for _, cmd := range []string{"PAUSE", "TERMINATE"} {
		if l := p.line(t); l != "." {
			t.Errorf("%s answered %q, want an empty message", cmd, l)
		}
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("ProxySteerable ended with %v after TERMINATE", err)
		}
	case <-ctx.Done():
		t.Fatal("TERMINATE did not end the proxy")
	}
}
